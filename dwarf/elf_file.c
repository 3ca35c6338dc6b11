/*
 * ELF access for ptm-layout through libbfd.  bfd gives us format detection, decompression of
 * compressed .debug_* sections, relocation of a relocatable object's DWARF and the canonical
 * symbol table; the few ELF records bfd has no API for (the build-id note, .rela.dyn entries)
 * are decoded here from raw section bytes.
 */
#define PACKAGE "ptm-layout"
#define PACKAGE_VERSION "1"
#include "elf_file.h"

#include <bfd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { R_X86_64_TPOFF64_TYPE = 18, ELF64_RELA_SIZE = 24, ELF64_SYM_SIZE = 24, NT_GNU_BUILD_ID_TYPE = 3 };

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

static void read_build_id(struct elf_file *elf)
{
	size_t size;
	uint8_t *notes = elf_section_contents(elf->file, ".note.gnu.build-id", &size);
	elf->build_id[0] = '\0';
	for (size_t at = 0; notes != NULL && at + 12 <= size;) {
		uint32_t name_size, desc_size, type;
		memcpy(&name_size, notes + at, 4);
		memcpy(&desc_size, notes + at + 4, 4);
		memcpy(&type, notes + at + 8, 4);
		size_t name_at = at + 12, desc_at = name_at + ((name_size + 3) & ~3u);
		if (desc_at > size || desc_size > size - desc_at)
			break;
		if (type == NT_GNU_BUILD_ID_TYPE && name_size == 4 &&
		    memcmp(notes + name_at, "GNU", 4) == 0 && desc_size <= 64) {
			for (uint32_t i = 0; i < desc_size; i++)
				sprintf(elf->build_id + 2 * i, "%02x", notes[desc_at + i]);
			break;
		}
		at = desc_at + ((desc_size + 3) & ~3u);
	}
	free(notes);
}

static char *join_path(const char *a, const char *b, const char *c)
{
	size_t size = strlen(a) + strlen(b) + strlen(c) + 1;
	char *path = malloc(size);
	if (path != NULL)
		snprintf(path, size, "%s%s%s", a, b, c);
	return path;
}

/* A candidate debug file is accepted only if it really carries DWARF (and the same build-id). */
static int try_debug_file(struct elf_file *elf, char *candidate)
{
	const char *why;
	bfd *debug = candidate != NULL ? open_object(candidate, &why) : NULL;
	if (debug == NULL) {
		free(candidate);
		return 0;
	}
	if (!elf_has_section(debug, ".debug_info")) {
		bfd_close(debug);
		free(candidate);
		return 0;
	}
	elf->debug = debug;
	elf->debug_path = candidate;
	return 1;
}

static int find_by_build_id(struct elf_file *elf, const char *debug_root)
{
	if (strlen(elf->build_id) < 4)
		return 0;
	char prefix[3] = {elf->build_id[0], elf->build_id[1], '\0'};
	char *dir = join_path(debug_root, "/.build-id/", prefix);
	char *path = dir != NULL ? join_path(dir, "/", elf->build_id + 2) : NULL;
	char *with_suffix = path != NULL ? join_path(path, ".debug", "") : NULL;
	free(dir);
	free(path);
	return try_debug_file(elf, with_suffix);
}

static int find_by_debuglink(struct elf_file *elf, const char *debug_root)
{
	size_t size;
	uint8_t *link = elf_section_contents(elf->file, ".gnu_debuglink", &size);
	if (link == NULL)
		return 0;
	char *name = strndup((const char *)link, size);
	free(link);
	char *dir = strdup(elf->path);
	char *slash = dir != NULL ? strrchr(dir, '/') : NULL;
	if (slash != NULL)
		*slash = '\0';
	else if (dir != NULL)
		strcpy(dir, ".");
	int found = 0;
	if (name != NULL && dir != NULL) {
		char *real_dir = realpath(dir, NULL);
		const char *absolute = real_dir != NULL ? real_dir : dir;
		char *nested = join_path(absolute, "/.debug/", "");
		char *under_root = join_path(debug_root, absolute, "/");
		found = try_debug_file(elf, join_path(dir, "/", name)) ||
		        (nested != NULL && try_debug_file(elf, join_path(nested, name, ""))) ||
		        (under_root != NULL && try_debug_file(elf, join_path(under_root, name, "")));
		free(nested);
		free(under_root);
		free(real_dir);
	}
	free(name);
	free(dir);
	return found;
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
		if (!try_debug_file(elf, strdup(debug_file))) {
			set_error(error, error_size, "%s: not an ELF file with DWARF", debug_file);
			elf_file_close(elf);
			return -1;
		}
	} else if (elf_has_section(elf->file, ".debug_info")) {
		elf->debug = elf->file;
	} else if (!find_by_build_id(elf, debug_root) && !find_by_debuglink(elf, debug_root)) {
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

static uint64_t read_u64(const uint8_t *p)
{
	uint64_t value;
	memcpy(&value, p, 8);
	return value;
}

int elf_tls_offset_slot(const struct elf_file *elf, uint64_t preferred_offset, uint64_t *slot,
                        uint64_t *offset_in_block)
{
	if (bfd_get_arch(elf->file) != bfd_arch_i386 || bfd_get_arch_size(elf->file) != 64)
		return -1;
	size_t rela_size, dynsym_size;
	uint8_t *rela = elf_section_contents(elf->file, ".rela.dyn", &rela_size);
	uint8_t *dynsym = elf_section_contents(elf->file, ".dynsym", &dynsym_size);
	int found = -1;
	for (size_t at = 0; rela != NULL && at + ELF64_RELA_SIZE <= rela_size; at += ELF64_RELA_SIZE) {
		uint64_t info = read_u64(rela + at + 8);
		if ((info & 0xffffffffu) != R_X86_64_TPOFF64_TYPE)
			continue;
		uint64_t symbol_index = info >> 32, symbol_value = 0;
		if (symbol_index != 0) {
			size_t entry = symbol_index * ELF64_SYM_SIZE;
			if (dynsym == NULL || entry + ELF64_SYM_SIZE > dynsym_size)
				continue;
			symbol_value = read_u64(dynsym + entry + 8);
		}
		uint64_t offset = symbol_value + read_u64(rela + at + 16);
		if (found != 0 || offset == preferred_offset) {
			*slot = read_u64(rela + at);
			*offset_in_block = offset;
			found = 0;
			if (offset == preferred_offset)
				break;
		}
	}
	free(rela);
	free(dynsym);
	return found;
}
