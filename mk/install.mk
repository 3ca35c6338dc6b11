# `make install` (PREFIX, DESTDIR): the library, its headers and pkg-config file, ptm-layout, the
# gdb extension, the types object and layout manifests it falls back on, and the gdb auto-load
# stub.  The layout under $(PREFIX)/share/ptmalloc mirrors the source tree (gdb/ next to the
# folder of manifests), so the extension finds its manifests relative to itself.

PREFIX      ?= /usr/local
DESTDIR     ?=
INSTALL     ?= install
BINDIR      := $(PREFIX)/bin
LIBDIR      := $(PREFIX)/lib
INCLUDEDIR  := $(PREFIX)/include
PKGCONFIGDIR := $(LIBDIR)/pkgconfig
SHAREDIR    := $(PREFIX)/share/ptmalloc
LAYOUTDIR   := $(SHAREDIR)/layout
# gdb loads <scripts-directory>/<real path of an objfile>-gdb.py for every objfile it reads.
AUTOLOADDIR := $(PREFIX)/share/gdb/auto-load

INSTALL_EXTENSION := $(shell find gdb -name '*.py' -not -path '*/__pycache__/*' 2>/dev/null | sort)
INSTALL_MANIFESTS = $(filter %.layout.json,$(ALL_TARGETS))

.PHONY: install uninstall
install: $(BUILD)/libptmalloc.so $(BUILD)/libptmalloc.a $(PTM_LAYOUT) $(PTMALLOC_TYPES_OBJ) $(INSTALL_MANIFESTS) \
		$(HEAPWALK_LIBRARY)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(INCLUDEDIR)/ptmalloc $(DESTDIR)$(LAYOUTDIR) $(DESTDIR)$(AUTOLOADDIR)$(LIBDIR)
	$(INSTALL) -m 755 $(BUILD)/libptmalloc.so $(DESTDIR)$(LIBDIR)/libptmalloc.so
	$(INSTALL) -m 644 $(BUILD)/libptmalloc.a $(DESTDIR)$(LIBDIR)/libptmalloc.a
	$(INSTALL) -m 755 $(PTM_LAYOUT) $(DESTDIR)$(BINDIR)/ptm-layout
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
		'Version: 2.36' 'Libs: -L$${libdir} -lptmalloc' 'Libs.private: -lpthread' \
		'Cflags: -I$${includedir}' > $(DESTDIR)$(PKGCONFIGDIR)/ptmalloc.pc
	printf '%s\n' '# gdb auto-load stub for libptmalloc.so: runs the installed loader with its own' \
		'# __file__ (gdb would otherwise hand it this stub'"'"'s), so it finds its package.' \
		'loader = "$(SHAREDIR)/gdb/ptmalloc-gdb.py"' \
		'with open(loader) as source:' \
		'    exec(compile(source.read(), loader, "exec"), {"__file__": loader, "__name__": "ptmalloc_loader"})' \
		> $(DESTDIR)$(AUTOLOADDIR)$(LIBDIR)/libptmalloc.so-gdb.py

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libptmalloc.so $(DESTDIR)$(LIBDIR)/libptmalloc.a \
		$(DESTDIR)$(BINDIR)/ptm-layout $(DESTDIR)$(INCLUDEDIR)/ptmalloc.h \
		$(DESTDIR)$(INCLUDEDIR)/ptmalloc/malloc_types.h $(DESTDIR)$(PKGCONFIGDIR)/ptmalloc.pc \
		$(DESTDIR)$(AUTOLOADDIR)$(LIBDIR)/libptmalloc.so-gdb.py
	rm -rf $(DESTDIR)$(SHAREDIR)
	-rmdir $(DESTDIR)$(INCLUDEDIR)/ptmalloc
