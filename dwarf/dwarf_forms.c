/*
 * Cursor reads, abbreviation tables and attribute forms for the DWARF reader (see dwarf_forms.h).
 * Every form gcc 12 emits is decoded or skipped by its size, because a DIE's later attributes
 * can only be found by stepping over all of its earlier ones.
 */
#include "dwarf_forms.h"

#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

/* DW_FORM_indirect may name another indirect form; a damaged file must not recurse forever. */
enum { MAX_INDIRECT_FORMS = 4 };

uint64_t dwarf_read_fixed(struct dwarf_cursor *c, size_t bytes)
{
	if ((size_t)(c->end - c->at) < bytes) {
		c->bad = 1;
		c->at = c->end;
		return 0;
	}
	uint64_t value = 0;
	for (size_t i = 0; i < bytes; i++)
		value |= (uint64_t)c->at[i] << (8 * i);
	c->at += bytes;
	return value;
}

uint64_t dwarf_read_uleb(struct dwarf_cursor *c)
{
	uint64_t value = 0;
	for (unsigned shift = 0; c->at < c->end; shift += 7) {
		uint8_t byte = *c->at++;
		if (shift < 64)
			value |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			return value;
	}
	c->bad = 1;
	return 0;
}

static int64_t read_sleb(struct dwarf_cursor *c)
{
	int64_t value = 0;
	unsigned shift = 0;
	while (c->at < c->end) {
		uint8_t byte = *c->at++;
		if (shift < 64)
			value |= (int64_t)((uint64_t)(byte & 0x7f) << shift);
		shift += 7;
		if (!(byte & 0x80)) {
			if (shift < 64 && (byte & 0x40))
				value |= -((int64_t)1 << shift);
			return value;
		}
	}
	c->bad = 1;
	return 0;
}

void dwarf_skip_bytes(struct dwarf_cursor *c, uint64_t bytes)
{
	if ((uint64_t)(c->end - c->at) < bytes) {
		c->bad = 1;
		c->at = c->end;
	} else {
		c->at += bytes;
	}
}

/* A NUL-terminated string at `offset` of a string section, or NULL if it is not one. */
static const char *section_string(const uint8_t *section, size_t size, uint64_t offset)
{
	if (section == NULL || offset >= size || memchr(section + offset, 0, size - offset) == NULL)
		return NULL;
	return (const char *)section + offset;
}

int dwarf_grow_array(void **array, size_t *capacity, size_t needed, size_t element_size)
{
	if (needed <= *capacity)
		return 0;
	size_t next = *capacity ? *capacity * 2 : 64;
	while (next < needed)
		next *= 2;
	void *bigger = realloc(*array, next * element_size);
	if (bigger == NULL)
		return -1;
	*array = bigger;
	*capacity = next;
	return 0;
}

int dwarf_parse_abbrevs(const struct dwarf_sections *s, uint64_t offset, struct dwarf_abbrev_table *t)
{
	t->count = t->attr_count = 0;
	if (offset >= s->abbrev_size)
		return -1;
	struct dwarf_cursor c = {s->abbrev + offset, s->abbrev + s->abbrev_size, 0};
	for (;;) {
		uint64_t code = dwarf_read_uleb(&c);
		if (c.bad)
			return -1;
		if (code == 0)
			return 0;
		if (dwarf_grow_array((void **)&t->entries, &t->capacity, t->count + 1, sizeof *t->entries))
			return -1;
		struct dwarf_abbrev *entry = &t->entries[t->count++];
		entry->code = code;
		entry->tag = (uint16_t)dwarf_read_uleb(&c);
		entry->has_children = (uint8_t)dwarf_read_fixed(&c, 1);
		entry->first_attr = t->attr_count;
		for (;;) {
			uint64_t name = dwarf_read_uleb(&c), form = dwarf_read_uleb(&c);
			int64_t implicit_const = form == DW_FORM_implicit_const ? read_sleb(&c) : 0;
			if (c.bad)
				return -1;
			if (name == 0 && form == 0)
				break;
			if (dwarf_grow_array((void **)&t->attrs, &t->attr_capacity, t->attr_count + 1,
			                     sizeof *t->attrs))
				return -1;
			t->attrs[t->attr_count++] =
			    (struct dwarf_abbrev_attr){(uint16_t)name, (uint16_t)form, implicit_const};
		}
		entry->attr_count = t->attr_count - entry->first_attr;
	}
}

const struct dwarf_abbrev *dwarf_find_abbrev(const struct dwarf_abbrev_table *t, uint64_t code)
{
	/* gcc numbers abbreviations 1, 2, 3...; fall back to a search for other producers. */
	if (code >= 1 && code <= t->count && t->entries[code - 1].code == code)
		return &t->entries[code - 1];
	for (size_t i = 0; i < t->count; i++)
		if (t->entries[i].code == code)
			return &t->entries[i];
	return NULL;
}

void dwarf_abbrev_table_free(struct dwarf_abbrev_table *table)
{
	free(table->entries);
	free(table->attrs);
	memset(table, 0, sizeof *table);
}

/* Bytes of a fixed-size constant, or of the length before a fixed-prefix block. */
static size_t fixed_form_bytes(uint64_t form)
{
	switch (form) {
	case DW_FORM_data2:
	case DW_FORM_block2:
		return 2;
	case DW_FORM_data4:
	case DW_FORM_block4:
		return 4;
	case DW_FORM_data8:
		return 8;
	default:
		return 1; /* data1, flag, block1 */
	}
}

/* The strx1..4 and addrx1..4 forms are numbered by their width, so the width follows from the
   distance to the first of them. */
static size_t sized_index_bytes(uint64_t form, uint64_t one_byte_form) { return form - one_byte_form + 1; }

static int read_value_in_form(const struct dwarf_sections *s, const struct dwarf_unit *u,
                              struct dwarf_cursor *c, const struct dwarf_abbrev_attr *attr, uint64_t form,
                              struct dwarf_value *v, int indirections)
{
	v->kind = DWARF_VALUE_NONE;
	switch (form) {
	case DW_FORM_addr:
		dwarf_skip_bytes(c, u->address_size);
		break;
	case DW_FORM_block1:
	case DW_FORM_block2:
	case DW_FORM_block4:
		v->block_size = dwarf_read_fixed(c, fixed_form_bytes(form));
		goto block;
	case DW_FORM_block:
	case DW_FORM_exprloc:
		v->block_size = dwarf_read_uleb(c);
		goto block;
	case DW_FORM_data1:
	case DW_FORM_flag:
	case DW_FORM_data2:
	case DW_FORM_data4:
	case DW_FORM_data8:
		v->kind = DWARF_VALUE_CONSTANT;
		v->number = dwarf_read_fixed(c, fixed_form_bytes(form));
		break;
	case DW_FORM_data16:
		dwarf_skip_bytes(c, 16);
		break;
	case DW_FORM_sdata:
		v->kind = DWARF_VALUE_CONSTANT;
		v->number = (uint64_t)read_sleb(c);
		break;
	case DW_FORM_udata:
		v->kind = DWARF_VALUE_CONSTANT;
		v->number = dwarf_read_uleb(c);
		break;
	case DW_FORM_flag_present:
		v->kind = DWARF_VALUE_CONSTANT;
		v->number = 1;
		break;
	case DW_FORM_implicit_const:
		v->kind = DWARF_VALUE_CONSTANT;
		v->number = (uint64_t)attr->implicit_const;
		break;
	case DW_FORM_string: {
		const uint8_t *nul = memchr(c->at, 0, (size_t)(c->end - c->at));
		if (nul == NULL) {
			c->bad = 1;
			break;
		}
		v->kind = DWARF_VALUE_STRING;
		v->string = (const char *)c->at;
		c->at = nul + 1;
		break;
	}
	case DW_FORM_strp:
		v->string = section_string(s->str, s->str_size, dwarf_read_fixed(c, u->offset_size));
		v->kind = v->string ? DWARF_VALUE_STRING : DWARF_VALUE_NONE;
		break;
	case DW_FORM_line_strp:
		v->string =
		    section_string(s->line_str, s->line_str_size, dwarf_read_fixed(c, u->offset_size));
		v->kind = v->string ? DWARF_VALUE_STRING : DWARF_VALUE_NONE;
		break;
	case DW_FORM_strx:
	case DW_FORM_GNU_str_index:
		v->kind = DWARF_VALUE_STRX;
		v->number = dwarf_read_uleb(c);
		break;
	case DW_FORM_strx1:
	case DW_FORM_strx2:
	case DW_FORM_strx3:
	case DW_FORM_strx4:
		v->kind = DWARF_VALUE_STRX;
		v->number = dwarf_read_fixed(c, sized_index_bytes(form, DW_FORM_strx1));
		break;
	case DW_FORM_ref_addr:
		v->kind = DWARF_VALUE_REFERENCE;
		v->number = dwarf_read_fixed(c, u->version <= 2 ? u->address_size : u->offset_size);
		break;
	case DW_FORM_ref1:
	case DW_FORM_ref2:
	case DW_FORM_ref4:
	case DW_FORM_ref8:
		/* ref1, ref2, ref4, ref8: consecutive codes, widths doubling from one byte. */
		v->kind = DWARF_VALUE_REFERENCE;
		v->number = u->offset + dwarf_read_fixed(c, (size_t)1 << (form - DW_FORM_ref1));
		break;
	case DW_FORM_ref_udata:
		v->kind = DWARF_VALUE_REFERENCE;
		v->number = u->offset + dwarf_read_uleb(c);
		break;
	case DW_FORM_indirect:
		if (indirections > MAX_INDIRECT_FORMS)
			return -1;
		return read_value_in_form(s, u, c, attr, dwarf_read_uleb(c), v, indirections + 1);
	case DW_FORM_sec_offset:
	case DW_FORM_strp_sup:
	case DW_FORM_GNU_ref_alt:
	case DW_FORM_GNU_strp_alt:
		dwarf_skip_bytes(c, u->offset_size);
		break;
	case DW_FORM_addrx:
	case DW_FORM_loclistx:
	case DW_FORM_rnglistx:
	case DW_FORM_GNU_addr_index:
		dwarf_read_uleb(c);
		break;
	case DW_FORM_addrx1:
	case DW_FORM_addrx2:
	case DW_FORM_addrx3:
	case DW_FORM_addrx4:
		dwarf_skip_bytes(c, sized_index_bytes(form, DW_FORM_addrx1));
		break;
	case DW_FORM_ref_sup4:
		dwarf_skip_bytes(c, 4);
		break;
	case DW_FORM_ref_sig8:
	case DW_FORM_ref_sup8:
		dwarf_skip_bytes(c, 8);
		break;
	default:
		return -1;
	}
	return c->bad ? -1 : 0;
block:
	v->kind = DWARF_VALUE_BLOCK;
	v->block = c->at;
	dwarf_skip_bytes(c, v->block_size);
	return c->bad ? -1 : 0;
}

int dwarf_read_value(const struct dwarf_sections *s, const struct dwarf_unit *u, struct dwarf_cursor *c,
                     const struct dwarf_abbrev_attr *attr, struct dwarf_value *v)
{
	return read_value_in_form(s, u, c, attr, attr->form, v, 0);
}

const char *dwarf_indexed_string(const struct dwarf_sections *s, const struct dwarf_unit *u, uint64_t index)
{
	/* Without DW_AT_str_offsets_base, the first table's entries follow its 8-byte header. */
	uint64_t base = u->str_offsets_base ? u->str_offsets_base : 8;
	uint64_t at = base + index * u->offset_size;
	if (s->str_offsets == NULL || at + u->offset_size > s->str_offsets_size)
		return NULL;
	struct dwarf_cursor c = {s->str_offsets + at, s->str_offsets + s->str_offsets_size, 0};
	return section_string(s->str, s->str_size, dwarf_read_fixed(&c, u->offset_size));
}
