# `make install` (PREFIX, DESTDIR): the library, its headers and pkg-config file, ptm-layout,
# ptmalloc-audit, the gdb extension, the types object and layout manifests it falls back on, and
# ptmalloc.gdb in gdb's system gdbinit folder (GDBINITDIR, asked of gdb itself: Debian's
# /etc/gdb/gdbinit.d), which loads the extension in every gdb session, for programs on the clone
# and on glibc alike.  The layout under $(PREFIX)/share/ptmalloc mirrors the source tree (gdb/
# next to the folder of manifests), so the extension finds its manifests relative to itself.

PREFIX      ?= /usr/local
DESTDIR     ?=
INSTALL     ?= install
BINDIR      := $(PREFIX)/bin
LIBDIR      := $(PREFIX)/lib
INCLUDEDIR  := $(PREFIX)/include
PKGCONFIGDIR := $(LIBDIR)/pkgconfig
SHAREDIR    := $(PREFIX)/share/ptmalloc
LAYOUTDIR   := $(SHAREDIR)/layout
# gdb runs every *.gdb file of its system gdbinit folder at start-up (unless -nx): the system
# prefixes install ptmalloc.gdb there.  Any other prefix (a scratch or per-user one) keeps it in
# PREFIX/etc/gdb/gdbinit.d, and `make install` says the one line that loads it from ~/.gdbinit.
SYSTEM_GDBINITDIR = $(or $(shell $(GDB) -nx -batch --configuration 2>/dev/null | \
	sed -n 's/.*--with-system-gdbinit-dir=\([^ ]*\).*/\1/p'),/etc/gdb/gdbinit.d)
GDBINITDIR  ?= $(if $(filter /usr /usr/local,$(PREFIX)),$(SYSTEM_GDBINITDIR),$(PREFIX)/etc/gdb/gdbinit.d)
# The auto-load stub earlier releases installed; uninstall still removes it.
OLD_AUTOLOAD_STUB := $(PREFIX)/share/gdb/auto-load$(LIBDIR)/libptmalloc.so-gdb.py
# A prefix whose lib/ the dynamic loader does not search by itself: the pkg-config file links
# with an rpath there, so a program built with `pkg-config --libs ptmalloc` runs as built.
PKGCONFIG_RPATH := $(if $(filter /usr,$(PREFIX)),,-Wl,-rpath,$${libdir})

# The map page's script (render/map_page.js) is installed with the Python it belongs to.
INSTALL_EXTENSION := $(shell find gdb \( -name '*.py' -o -name '*.js' \) -not -path '*/__pycache__/*' 2>/dev/null | sort)
INSTALL_MANIFESTS = $(filter %.layout.json,$(ALL_TARGETS))

.PHONY: install uninstall
install: $(BUILD)/libptmalloc.so $(BUILD)/libptmalloc.a $(PTM_LAYOUT) $(PTMALLOC_TYPES_OBJ) $(INSTALL_MANIFESTS) \
		$(HEAPWALK_LIBRARY)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(INCLUDEDIR)/ptmalloc $(DESTDIR)$(LAYOUTDIR) $(DESTDIR)$(GDBINITDIR)
	$(INSTALL) -m 755 $(BUILD)/libptmalloc.so $(DESTDIR)$(LIBDIR)/libptmalloc.so
	$(INSTALL) -m 644 $(BUILD)/libptmalloc.a $(DESTDIR)$(LIBDIR)/libptmalloc.a
	$(INSTALL) -m 755 $(PTM_LAYOUT) $(DESTDIR)$(BINDIR)/ptm-layout
	sed '1s|^#!.*|#!$(PYTHON)|; s|^SHAREDIR = None$$|SHAREDIR = "$(SHAREDIR)"|; s|^LIBRARY = None$$|LIBRARY = "$(LIBDIR)/libptmalloc.so"|' tools/ptmalloc_audit.py \
		> $(DESTDIR)$(BINDIR)/ptmalloc-audit && chmod 755 $(DESTDIR)$(BINDIR)/ptmalloc-audit
	$(INSTALL) -m 644 dwarf/ptmalloc.h $(DESTDIR)$(INCLUDEDIR)/ptmalloc.h
	$(INSTALL) -m 644 allocator/malloc_types.h allocator/version.h $(DESTDIR)$(INCLUDEDIR)/ptmalloc/
	$(INSTALL) -m 644 $(PTMALLOC_TYPES_OBJ) $(INSTALL_MANIFESTS) $(DESTDIR)$(LAYOUTDIR)/
	for file in $(INSTALL_EXTENSION); do \
		$(INSTALL) -D -m 644 $$file $(DESTDIR)$(SHAREDIR)/$$file || exit 1; \
	done
	$(INSTALL) -m 755 $(HEAPWALK_LIBRARY) $(DESTDIR)$(SHAREDIR)/gdb/ptmalloc/
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
		'Name: ptmalloc' \
		'Description: glibc 2.36 ptmalloc2 clone whose heap gdb can inspect' \
		'Version: 2.36' 'Libs: -L$${libdir} $(PKGCONFIG_RPATH) -lptmalloc' 'Libs.private: -lpthread' \
		'Cflags: -I$${includedir}' > $(DESTDIR)$(PKGCONFIGDIR)/ptmalloc.pc
	printf '%s\n' '# Installed by ptmalloc'"'"'s `make install`: the heap commands in every gdb session' \
		'# (`make uninstall` removes this file).' \
		'source $(SHAREDIR)/gdb/ptmalloc-gdb.py' > $(DESTDIR)$(GDBINITDIR)/ptmalloc.gdb
	@if [ "$(GDBINITDIR)" != "$(SYSTEM_GDBINITDIR)" ]; then \
		echo "note: gdb reads $(SYSTEM_GDBINITDIR) by itself, not $(GDBINITDIR): add"; \
		echo "      source $(GDBINITDIR)/ptmalloc.gdb"; \
		echo "      to ~/.gdbinit for the heap commands in every gdb session"; \
	fi

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libptmalloc.so $(DESTDIR)$(LIBDIR)/libptmalloc.a \
		$(DESTDIR)$(BINDIR)/ptm-layout $(DESTDIR)$(INCLUDEDIR)/ptmalloc.h \
		$(DESTDIR)$(INCLUDEDIR)/ptmalloc/malloc_types.h $(DESTDIR)$(PKGCONFIGDIR)/ptmalloc.pc \
		$(DESTDIR)$(BINDIR)/ptmalloc-audit $(DESTDIR)$(INCLUDEDIR)/ptmalloc/version.h \
		$(DESTDIR)$(GDBINITDIR)/ptmalloc.gdb $(DESTDIR)$(OLD_AUTOLOAD_STUB)
	rm -rf $(DESTDIR)$(SHAREDIR)
	-rmdir $(DESTDIR)$(INCLUDEDIR)/ptmalloc
