/*
 * ELF access for ptm-layout through libbfd.  bfd does all of the ELF decoding: format detection,
 * decompression of compressed .debug_* sections, relocation of a relocatable object's DWARF, the
 * canonical symbol tables, the build-id note, the separate-debug-file searches (by build-id and
 * by .gnu_debuglink with its CRC) and the dynamic relocations.  What is left here is choosing
 * among what bfd finds.
 */
#define PACKAGE "ptm-layout"
#define PACKAGE_VERSION "1"
#include "elf_file.h"

#include <bfd.h>
#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* bfd reports oddities of damaged files on stderr on its own; ptm-layout reports one line itself. */
static void quiet_bfd_errors(const char *format, va_list args)
{
	(void)format;
	(void)args;
}

static void set_error(char *error, size_t error_size, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	vsnprintf(error, error_size, format, args);
	va_end(args);
}

static int has_elf_magic(const char *path)
{
	unsigned char magic[4] = {0};
	FILE *file = fopen(path, "rb");
	if (file == NULL)
		return 0;
	size_t got = fread(magic, 1, sizeof magic, file);
	fclose(file);
	return got == sizeof magic && memcmp(magic, "\177ELF", 4) == 0;
}

static bfd *open_object(const char *path, const char **why)
{
	static int initialised;
	if (!initialised) {
		bfd_init();
		bfd_set_error_handler(quiet_bfd_errors);
		initialised = 1;
	}
	if (access(path, R_OK) != 0) {
		*why = "cannot read the file";
		return NULL;
	}
	bfd *abfd = bfd_openr(path, NULL);
	if (abfd == NULL) {
		*why = bfd_errmsg(bfd_get_error());
		return NULL;
	}
	abfd->flags |= BFD_DECOMPRESS;
	if (!bfd_check_format(abfd, bfd_object) || bfd_get_flavour(abfd) != bfd_target_elf_flavour) {
		*why = has_elf_magic(path) ? "truncated or damaged ELF file" : "not an ELF file";
		bfd_close(abfd);
		return NULL;
	}
	return abfd;
}

int elf_has_section(bfd *abfd, const char *name)
{
	asection *section = bfd_get_section_by_name(abfd, name);
	return section != NULL && bfd_section_size(section) > 0 &&
	       (bfd_section_flags(section) & SEC_HAS_CONTENTS) != 0;
}

uint8_t *elf_section_contents(bfd *abfd, const char *name, size_t *size)
{
	asection *section = bfd_get_section_by_name(abfd, name);
	*size = 0;
	if (section == NULL || (bfd_section_flags(section) & SEC_HAS_CONTENTS) == 0 ||
	    bfd_section_size(section) == 0)
		return NULL;
	bfd_byte *contents = NULL;
	if (bfd_get_file_flags(abfd) & HAS_RELOC) {
		contents = bfd_simple_get_relocated_section_contents(abfd, section, NULL, NULL);
	} else if (!bfd_get_full_section_contents(abfd, section, &contents)) {
		free(contents);
		contents = NULL;
	}
	if (contents == NULL)
		return NULL;
	/* Opened with BFD_DECOMPRESS, a compressed section reports its decompressed size. */
	*size = bfd_section_size(section);
	return contents;
}

int elf_section_address(bfd *abfd, const char *name, uint64_t *address, uint64_t *size)
{
	asection *section = bfd_get_section_by_name(abfd, name);
	if (section == NULL)
		return -1;
	*address = bfd_section_vma(section);
	*size = bfd_section_size(section);
	return 0;
}

/* bfd reads the build-id note while it checks the format; kept as hex, as readelf and the
   .build-id folders spell it. */
static void read_build_id(struct elf_file *elf)
{
	const struct bfd_build_id *build_id = elf->file->build_id;
	elf->build_id[0] = '\0';
	if (build_id == NULL || build_id->size * 2 >= sizeof elf->build_id)
		return;
	for (bfd_size_type i = 0; i < build_id->size; i++)
		sprintf(elf->build_id + 2 * i, "%02x", build_id->data[i]);
}

static int same_build_id(const bfd *a, const bfd *b)
{
	return a->build_id != NULL && b->build_id != NULL && a->build_id->size == b->build_id->size &&
	       memcmp(a->build_id->data, b->build_id->data, a->build_id->size) == 0;
}

/* A candidate debug file is accepted only if it really carries DWARF and, when the file has a
   build-id, the same build-id: a debug file left over from another build would describe another
   layout, and a manifest made from it would be silently wrong. */
static int try_debug_file(struct elf_file *elf, char *candidate, const char **why)
{
	bfd *debug = candidate != NULL ? open_object(candidate, why) : NULL;
	if (debug == NULL) {
		free(candidate);
		return 0;
	}
	if (!elf_has_section(debug, ".debug_info")) {
		*why = "no DWARF in it";
		bfd_close(debug);
		free(candidate);
		return 0;
	}
	if (elf->file->build_id != NULL && !same_build_id(elf->file, debug)) {
		*why = "its build-id is not the file's";
		bfd_close(debug);
		free(candidate);
		return 0;
	}
	elf->debug = debug;
	elf->debug_path = candidate;
	return 1;
}

/* DEBUG_ROOT/.build-id/xx/yyyy.debug first (bfd checks the build-id), then the name in
   .gnu_debuglink beside the file, in its .debug folder or under DEBUG_ROOT (bfd checks the CRC). */
static int find_debug_file(struct elf_file *elf, const char *debug_root)
{
	const char *why;
	return try_debug_file(elf, bfd_follow_build_id_debuglink(elf->file, debug_root), &why) ||
	       try_debug_file(elf, bfd_follow_gnu_debuglink(elf->file, debug_root), &why);
}

static int read_symbols(struct elf_file *elf)
{
	bfd *sources[2] = {elf->debug, elf->file};
	for (int i = 0; i < 2; i++) {
		bfd *abfd = sources[i];
		if (abfd == NULL || !(bfd_get_file_flags(abfd) & HAS_SYMS))
			continue;
		long bound = bfd_get_symtab_upper_bound(abfd);
		if (bound <= 0)
			continue;
		elf->symbols = malloc((size_t)bound);
		if (elf->symbols == NULL)
			return -1;
		elf->symbol_count = bfd_canonicalize_symtab(abfd, elf->symbols);
		if (elf->symbol_count > 0)
			return 0;
		free(elf->symbols);
		elf->symbols = NULL;
		elf->symbol_count = 0;
	}
	return 0;
}

int elf_file_open(struct elf_file *elf, const char *path, const char *debug_root, const char *debug_file,
                  char *error, size_t error_size)
{
	const char *why;
	memset(elf, 0, sizeof *elf);
	elf->file = open_object(path, &why);
	if (elf->file == NULL) {
		set_error(error, error_size, "%s: %s", path, why);
		return -1;
	}
	elf->path = strdup(path);
	flagword flags = bfd_get_file_flags(elf->file);
	elf->kind = (flags & DYNAMIC)  ? ELF_KIND_SHARED_OBJECT
	            : (flags & EXEC_P) ? ELF_KIND_EXECUTABLE
	                               : ELF_KIND_RELOCATABLE;
	read_build_id(elf);

	if (debug_file != NULL) {
		if (!try_debug_file(elf, strdup(debug_file), &why)) {
			set_error(error, error_size, "%s: not a debug file for %s: %s", debug_file, path,
			          why);
			elf_file_close(elf);
			return -1;
		}
	} else if (elf_has_section(elf->file, ".debug_info")) {
		elf->debug = elf->file;
	} else if (!find_debug_file(elf, debug_root)) {
		set_error(error, error_size,
		          "%s: no DWARF (stripped, and no debug file found by build-id or "
		          ".gnu_debuglink)",
		          path);
		elf_file_close(elf);
		return -1;
	}
	if (read_symbols(elf) != 0) {
		set_error(error, error_size, "%s: out of memory reading the symbol table", path);
		elf_file_close(elf);
		return -1;
	}
	return 0;
}

void elf_file_close(struct elf_file *elf)
{
	free(elf->symbols);
	if (elf->debug != NULL && elf->debug != elf->file)
		bfd_close(elf->debug);
	if (elf->file != NULL)
		bfd_close(elf->file);
	free(elf->path);
	free(elf->debug_path);
	memset(elf, 0, sizeof *elf);
}

int elf_tls_block(const struct elf_file *elf, uint64_t *start, uint64_t *size, uint64_t *align)
{
	uint64_t low = UINT64_MAX, high = 0, alignment = 1;
	for (asection *section = elf->file->sections; section != NULL; section = section->next) {
		if (!(bfd_section_flags(section) & SEC_THREAD_LOCAL))
			continue;
		uint64_t vma = bfd_section_vma(section);
		if (vma < low)
			low = vma;
		if (vma + bfd_section_size(section) > high)
			high = vma + bfd_section_size(section);
		if ((1ull << bfd_section_alignment(section)) > alignment)
			alignment = 1ull << bfd_section_alignment(section);
	}
	if (low == UINT64_MAX)
		return -1;
	*start = low;
	*size = high - low;
	*align = alignment;
	return 0;
}

int elf_symbol_value(const struct elf_file *elf, const char *name, int want_tls, uint64_t *value)
{
	for (long i = 0; i < elf->symbol_count; i++) {
		asymbol *symbol = elf->symbols[i];
		if (symbol == NULL || strcmp(bfd_asymbol_name(symbol), name) != 0)
			continue;
		if (symbol->flags & (BSF_SECTION_SYM | BSF_DEBUGGING | BSF_FILE))
			continue;
		if (bfd_is_und_section(symbol->section))
			continue;
		int is_tls = (symbol->flags & BSF_THREAD_LOCAL) ||
		             (bfd_section_flags(symbol->section) & SEC_THREAD_LOCAL);
		if (is_tls != want_tls)
			continue;
		uint64_t found = bfd_asymbol_value(symbol);
		uint64_t start, size, align;
		/* ELF gives a TLS symbol's offset in the block; be safe if a bfd hands back an address. */
		if (is_tls && elf_tls_block(elf, &start, &size, &align) == 0 && found >= start &&
		    found - start < size)
			found -= start;
		*value = found;
		return 0;
	}
	return -1;
}

/* The dynamic relocations with the dynamic symbols they name, as bfd canonicalises them (an
   arelent's `address` is the r_offset of a dynamic reloc).  Returns the count, or -1. */
static long read_dynamic_relocations(bfd *abfd, asymbol ***symbols, arelent ***relocations)
{
	*symbols = NULL;
	*relocations = NULL;
	long symbols_bound = bfd_get_dynamic_symtab_upper_bound(abfd);
	long relocations_bound = bfd_get_dynamic_reloc_upper_bound(abfd);
	if (symbols_bound <= 0 || relocations_bound <= 0)
		return -1;
	*symbols = malloc((size_t)symbols_bound);
	*relocations = malloc((size_t)relocations_bound);
	if (*symbols == NULL || *relocations == NULL || bfd_canonicalize_dynamic_symtab(abfd, *symbols) < 0)
		return -1;
	return bfd_canonicalize_dynamic_reloc(abfd, *relocations, *symbols);
}

int elf_tls_offset_slot(const struct elf_file *elf, uint64_t preferred_offset, uint64_t *slot,
                        uint64_t *offset_in_block)
{
	if (bfd_get_arch(elf->file) != bfd_arch_i386 || bfd_get_arch_size(elf->file) != 64)
		return -1;
	asymbol **symbols;
	arelent **relocations;
	long count = read_dynamic_relocations(elf->file, &symbols, &relocations);
	int found = -1;
	for (long i = 0; i < count; i++) {
		const arelent *relocation = relocations[i];
		if (relocation->howto == NULL || relocation->howto->type != R_X86_64_TPOFF64)
			continue;
		/* Against no symbol (a hidden or local variable, the usual case) bfd names its
		   absolute section's symbol, whose value is 0: the addend alone is the offset. */
		const asymbol *symbol = relocation->sym_ptr_ptr != NULL ? *relocation->sym_ptr_ptr : NULL;
		uint64_t offset = (symbol != NULL ? bfd_asymbol_value(symbol) : 0) + relocation->addend;
		if (found != 0 || offset == preferred_offset) {
			*slot = relocation->address;
			*offset_in_block = offset;
			found = 0;
			if (offset == preferred_offset)
				break;
		}
	}
	free(relocations);
	free(symbols);
	return found;
}
