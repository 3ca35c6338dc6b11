/*
 * The ELF side of ptm-layout, on libbfd: open a file, find where its DWARF and full symbol table
 * live (the file itself, or a separate debug file found by build-id or .gnu_debuglink), and
 * answer the questions a layout manifest needs: build-id, section addresses, symbol values, the
 * TLS block, and the GOT slot through which initial-exec code learns where that block is.
 */
#ifndef PTM_ELF_FILE_H
#define PTM_ELF_FILE_H

#include <stddef.h>
#include <stdint.h>

struct bfd;
struct bfd_symbol;

enum elf_kind { ELF_KIND_RELOCATABLE, ELF_KIND_EXECUTABLE, ELF_KIND_SHARED_OBJECT };

struct elf_file {
	struct bfd *file;  /* the file as given: build-id, sections, dynamic relocations */
	struct bfd *debug; /* DWARF and .symtab: `file` itself or its separate debug file */
	char *path;
	char *debug_path;          /* NULL when the DWARF is in `file` */
	char build_id[2 * 64 + 1]; /* lower-case hex; empty when the file has no build-id note */
	enum elf_kind kind;
	struct bfd_symbol **symbols; /* .symtab of `debug` (or of `file` when it has one) */
	long symbol_count;
};

/* Opens `path`.  `debug_root` is where separate debug files are installed (/usr/lib/debug);
   `debug_file`, when not NULL, names the debug file explicitly.  On failure returns -1 with one
   line in `error`. */
int elf_file_open(struct elf_file *elf, const char *path, const char *debug_root, const char *debug_file,
                  char *error, size_t error_size);
void elf_file_close(struct elf_file *elf);

/* The contents of a section of `abfd`, decompressed and (in a relocatable object) relocated;
   malloc'd, NULL when the section is absent, empty or unreadable. */
uint8_t *elf_section_contents(struct bfd *abfd, const char *name, size_t *size);
int elf_has_section(struct bfd *abfd, const char *name);
int elf_section_address(struct bfd *abfd, const char *name, uint64_t *address, uint64_t *size);

/* Link-time value of a data symbol (`want_tls` 0) or the offset of a TLS symbol inside the
   module's TLS block (`want_tls` 1).  Returns 0 when found. */
int elf_symbol_value(const struct elf_file *elf, const char *name, int want_tls, uint64_t *value);

/* The module's TLS block: start address, size and alignment.  Returns 0 when it has one. */
int elf_tls_block(const struct elf_file *elf, uint64_t *start, uint64_t *size, uint64_t *align);

/* A GOT slot (link-time address) holding, at run time, thread-pointer-relative offset of byte
   `offset_in_block` of this module's TLS block (an R_X86_64_TPOFF64 relocation).  Prefers a slot
   for `preferred_offset`.  Returns 0 when the module has one. */
int elf_tls_offset_slot(const struct elf_file *elf, uint64_t preferred_offset, uint64_t *slot,
                        uint64_t *offset_in_block);

#endif
