/*
 * The byte level of the DWARF reader (dwarf_reader.c): a bounds-checked cursor over a section,
 * fixed-size and LEB128 reads, one unit's abbreviation table, and the decoding of one attribute
 * value in any form.  Nothing here knows about DIEs or types, so the DIE walk can trust that a
 * read never leaves its section: a short section only sets the cursor's `bad` flag.
 */
#ifndef PTM_DWARF_FORMS_H
#define PTM_DWARF_FORMS_H

#include <stddef.h>
#include <stdint.h>

#include "dwarf_reader.h"

/* Once `bad` is set, `at` has stopped at `end` and every further read yields 0. */
struct dwarf_cursor {
	const uint8_t *at, *end;
	int bad;
};

uint64_t dwarf_read_fixed(struct dwarf_cursor *c, size_t bytes); /* little-endian */
uint64_t dwarf_read_uleb(struct dwarf_cursor *c);
void dwarf_skip_bytes(struct dwarf_cursor *c, uint64_t bytes);

/* Grows `*array` to hold at least `needed` elements, doubling so appends stay cheap.
   Returns 0, or -1 with the array untouched when memory runs out. */
int dwarf_grow_array(void **array, size_t *capacity, size_t needed, size_t element_size);

struct dwarf_abbrev_attr {
	uint16_t name, form;
	int64_t implicit_const;
};

struct dwarf_abbrev {
	uint64_t code;
	uint16_t tag;
	uint8_t has_children;
	size_t first_attr, attr_count; /* a slice of the table's `attrs` */
};

/* Reused from unit to unit: parsing a new table keeps the arrays and overwrites their contents. */
struct dwarf_abbrev_table {
	struct dwarf_abbrev *entries;
	size_t count, capacity;
	struct dwarf_abbrev_attr *attrs;
	size_t attr_count, attr_capacity;
};

/* Returns 0, or -1 when the table at `offset` of .debug_abbrev is truncated or memory runs out. */
int dwarf_parse_abbrevs(const struct dwarf_sections *s, uint64_t offset, struct dwarf_abbrev_table *table);
const struct dwarf_abbrev *dwarf_find_abbrev(const struct dwarf_abbrev_table *table, uint64_t code);
void dwarf_abbrev_table_free(struct dwarf_abbrev_table *table);

/* What a unit header says that attribute forms depend on. */
struct dwarf_unit {
	uint64_t offset; /* of the unit header in .debug_info */
	unsigned version, offset_size, address_size;
	uint64_t str_offsets_base;
};

enum dwarf_value_kind {
	DWARF_VALUE_NONE,
	DWARF_VALUE_CONSTANT,
	DWARF_VALUE_STRING,
	DWARF_VALUE_STRX,
	DWARF_VALUE_REFERENCE,
	DWARF_VALUE_BLOCK
};

/* Forms layout does not need (addresses, section offsets...) are skipped as DWARF_VALUE_NONE.
   A reference is an offset in .debug_info, already rebased from the unit's start. */
struct dwarf_value {
	enum dwarf_value_kind kind;
	uint64_t number;
	const char *string;
	const uint8_t *block;
	size_t block_size;
};

/* Decodes the value of `attr` at the cursor and moves past it.  Returns 0, or -1 for an unknown
   form or a value that runs past the cursor's end. */
int dwarf_read_value(const struct dwarf_sections *s, const struct dwarf_unit *u, struct dwarf_cursor *c,
                     const struct dwarf_abbrev_attr *attr, struct dwarf_value *v);

/* Entry `index` of the unit's .debug_str_offsets table (DW_FORM_strx*), or NULL if out of range. */
const char *dwarf_indexed_string(const struct dwarf_sections *s, const struct dwarf_unit *u, uint64_t index);

#endif
