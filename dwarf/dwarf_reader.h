/*
 * A small DWARF 4/5 reader: just enough of .debug_info to lay out named C structs.  It walks the
 * compile units, decodes abbreviations and DIEs (every form gcc 12 emits, and skips the rest
 * safely), and follows structure, member, typedef, array/subrange, pointer, base and qualifier
 * types to the offset, size and element count of each member.  Any malformed or truncated
 * section ends the walk with an error message, never a read out of bounds.
 */
#ifndef PTM_DWARF_READER_H
#define PTM_DWARF_READER_H

#include <stddef.h>
#include <stdint.h>

struct dwarf_sections {
	const uint8_t *info, *abbrev, *str, *line_str, *str_offsets;
	size_t info_size, abbrev_size, str_size, line_str_size, str_offsets_size;
};

struct dwarf_member {
	char *name;
	uint64_t offset; /* bytes from the start of the struct */
	uint64_t size;   /* bytes of the whole member (all elements of an array) */
	uint64_t count;  /* elements of an array member (product of its dimensions), else 1 */
};

struct dwarf_struct_layout {
	int found;
	uint64_t size;
	size_t member_count;
	struct dwarf_member *members;
};

/* Lays out each type of `c_names` ("struct malloc_state" for a struct tag, "heap_info" for a
   typedef of a struct) from the first compile unit that defines it completely.  Types not
   defined anywhere are left with found = 0.  Returns 0, or -1 with a message in `error` when
   the DWARF itself is unreadable. */
int dwarf_layout_structs(const struct dwarf_sections *sections, const char *const *c_names, size_t count,
                         struct dwarf_struct_layout *layouts, char *error, size_t error_size);
void dwarf_struct_layout_free(struct dwarf_struct_layout *layout);

#endif
