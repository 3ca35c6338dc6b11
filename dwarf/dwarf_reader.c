/*
 * The DWARF reader behind ptm-layout (see dwarf_reader.h).  One compile unit at a time is decoded
 * into a flat array of the DIE attributes that matter for layout; the wanted types are looked up
 * in it and laid out before the next unit replaces it, so even glibc's 2 MB of .debug_info needs
 * little memory.  References are followed only inside the unit, which is where gcc puts them.
 */
#include "dwarf_reader.h"

#include "dwarf_forms.h"

#include <dwarf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* DWARF's initial length: this value says a 64-bit length follows; those above it up to the
   escape are reserved (DWARF 5, section 7.4). */
enum { DWARF64_LENGTH_ESCAPE = 0xffffffffu, DWARF_LENGTH_RESERVED_FROM = 0xfffffff0u };
/* A damaged file must not make the walk nest or follow type chains without end. */
enum { MAX_NESTING = 256, MAX_TYPE_CHAIN = 64 };

/* The attributes of one DIE that type layout needs. */
struct die {
	uint64_t offset;
	int32_t parent;
	uint16_t tag;
	uint8_t has_children, is_declaration;
	uint8_t has_type, has_byte_size, has_location, has_upper_bound, has_count;
	const char *name;
	uint64_t type, byte_size, location, upper_bound, count;
	int64_t lower_bound;
};

struct walk {
	const struct dwarf_sections *sections;
	struct dwarf_unit unit;
	struct dwarf_abbrev_table abbrevs;
	struct die *dies;
	size_t die_count, die_capacity;
	char *error;
	size_t error_size;
};

static int fail(struct walk *w, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	vsnprintf(w->error, w->error_size, format, args);
	va_end(args);
	return -1;
}

static void record_attribute(struct die *die, uint16_t name, const struct dwarf_value *v, int *name_is_index,
                             uint64_t *name_index, struct dwarf_unit *unit)
{
	switch (name) {
	case DW_AT_name:
		if (v->kind == DWARF_VALUE_STRING)
			die->name = v->string;
		else if (v->kind == DWARF_VALUE_STRX)
			*name_is_index = 1, *name_index = v->number;
		break;
	case DW_AT_type:
		die->has_type = v->kind == DWARF_VALUE_REFERENCE;
		die->type = v->number;
		break;
	case DW_AT_byte_size:
		die->has_byte_size = v->kind == DWARF_VALUE_CONSTANT;
		die->byte_size = v->number;
		break;
	case DW_AT_data_member_location:
		if (v->kind == DWARF_VALUE_CONSTANT) {
			die->has_location = 1;
			die->location = v->number;
		} else if (v->kind == DWARF_VALUE_BLOCK && v->block_size >= 2 &&
		           v->block[0] == DW_OP_plus_uconst) {
			struct dwarf_cursor c = {v->block + 1, v->block + v->block_size, 0};
			die->location = dwarf_read_uleb(&c);
			die->has_location = !c.bad;
		}
		break;
	case DW_AT_upper_bound:
		die->has_upper_bound = v->kind == DWARF_VALUE_CONSTANT;
		die->upper_bound = v->number;
		break;
	case DW_AT_lower_bound:
		if (v->kind == DWARF_VALUE_CONSTANT)
			die->lower_bound = (int64_t)v->number;
		break;
	case DW_AT_count:
		die->has_count = v->kind == DWARF_VALUE_CONSTANT;
		die->count = v->number;
		break;
	case DW_AT_declaration:
		die->is_declaration = v->kind == DWARF_VALUE_CONSTANT && v->number != 0;
		break;
	case DW_AT_str_offsets_base:
		unit->str_offsets_base = v->number;
		break;
	}
}

static int read_unit_dies(struct walk *w, struct dwarf_cursor *c)
{
	int32_t parents[MAX_NESTING];
	int depth = 0;
	w->die_count = 0;
	while (c->at < c->end) {
		uint64_t offset = (uint64_t)(c->at - w->sections->info);
		uint64_t code = dwarf_read_uleb(c);
		if (c->bad)
			return fail(w, "truncated DIE at .debug_info+0x%llx", (unsigned long long)offset);
		if (code == 0) {
			if (depth > 0)
				depth--;
			continue;
		}
		const struct dwarf_abbrev *abbrev = dwarf_find_abbrev(&w->abbrevs, code);
		if (abbrev == NULL)
			return fail(w, "unknown abbreviation %llu at .debug_info+0x%llx",
			            (unsigned long long)code, (unsigned long long)offset);
		if (dwarf_grow_array((void **)&w->dies, &w->die_capacity, w->die_count + 1, sizeof *w->dies))
			return fail(w, "out of memory");
		struct die *die = &w->dies[w->die_count];
		memset(die, 0, sizeof *die);
		die->offset = offset;
		die->tag = abbrev->tag;
		die->has_children = abbrev->has_children;
		die->parent = depth > 0 ? parents[depth - 1] : -1;
		int name_is_index = 0;
		uint64_t name_index = 0;
		for (size_t i = 0; i < abbrev->attr_count; i++) {
			const struct dwarf_abbrev_attr *attr = &w->abbrevs.attrs[abbrev->first_attr + i];
			struct dwarf_value v = {0};
			if (dwarf_read_value(w->sections, &w->unit, c, attr, &v) != 0)
				return fail(w, "unreadable attribute (form 0x%x) at .debug_info+0x%llx",
				            attr->form, (unsigned long long)offset);
			record_attribute(die, attr->name, &v, &name_is_index, &name_index, &w->unit);
		}
		if (name_is_index)
			die->name = dwarf_indexed_string(w->sections, &w->unit, name_index);
		if (abbrev->has_children) {
			if (depth == MAX_NESTING)
				return fail(w, "DIEs nested too deeply at .debug_info+0x%llx",
				            (unsigned long long)offset);
			parents[depth++] = (int32_t)w->die_count;
		}
		w->die_count++;
	}
	return 0;
}

static long find_die(const struct walk *w, uint64_t offset)
{
	size_t low = 0, high = w->die_count;
	while (low < high) {
		size_t middle = low + (high - low) / 2;
		if (w->dies[middle].offset < offset)
			low = middle + 1;
		else
			high = middle;
	}
	return low < w->die_count && w->dies[low].offset == offset ? (long)low : -1;
}

/* Bytes and element count of the type at DIE `index`; -1 when it cannot be sized. */
static int size_of_type(const struct walk *w, long index, uint64_t *size, uint64_t *count)
{
	for (int chain = 0; chain < MAX_TYPE_CHAIN && index >= 0; chain++) {
		const struct die *die = &w->dies[index];
		switch (die->tag) {
		case DW_TAG_typedef:
		case DW_TAG_const_type:
		case DW_TAG_volatile_type:
		case DW_TAG_restrict_type:
		case DW_TAG_atomic_type:
			if (!die->has_type)
				return -1;
			index = find_die(w, die->type);
			continue;
		case DW_TAG_pointer_type:
		case DW_TAG_reference_type:
		case DW_TAG_rvalue_reference_type:
		case DW_TAG_ptr_to_member_type:
			*size = die->has_byte_size ? die->byte_size : w->unit.address_size;
			*count = 1;
			return 0;
		case DW_TAG_base_type:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
		case DW_TAG_class_type:
		case DW_TAG_enumeration_type:
			if (!die->has_byte_size)
				return -1;
			*size = die->byte_size;
			*count = 1;
			return 0;
		case DW_TAG_array_type: {
			uint64_t element_size, element_count, elements = 1;
			if (!die->has_type ||
			    size_of_type(w, find_die(w, die->type), &element_size, &element_count))
				return -1;
			for (size_t child = (size_t)index + 1;
			     child < w->die_count && w->dies[child].parent >= index; child++) {
				const struct die *range = &w->dies[child];
				if (range->parent != index || range->tag != DW_TAG_subrange_type)
					continue;
				if (range->has_count)
					elements *= range->count;
				else if (range->has_upper_bound)
					elements *= range->upper_bound - (uint64_t)range->lower_bound + 1;
				else
					elements = 0; /* a flexible array member */
			}
			*count = elements;
			*size = die->has_byte_size ? die->byte_size : element_size * elements;
			return 0;
		}
		default:
			return -1;
		}
	}
	return -1;
}

/* The struct definition a wanted C name denotes in this unit, or -1. */
static long find_definition(const struct walk *w, const char *c_name)
{
	int is_tag = strncmp(c_name, "struct ", 7) == 0;
	const char *name = is_tag ? c_name + 7 : c_name;
	for (size_t i = 0; i < w->die_count; i++) {
		const struct die *die = &w->dies[i];
		if (die->name == NULL || strcmp(die->name, name) != 0)
			continue;
		long target = (long)i;
		if (!is_tag) {
			if (die->tag != DW_TAG_typedef)
				continue;
			for (int chain = 0; chain < MAX_TYPE_CHAIN && target >= 0; chain++) {
				uint16_t tag = w->dies[target].tag;
				if (tag != DW_TAG_typedef && tag != DW_TAG_const_type &&
				    tag != DW_TAG_volatile_type)
					break;
				target = w->dies[target].has_type ? find_die(w, w->dies[target].type) : -1;
			}
			if (target < 0)
				continue;
		}
		const struct die *definition = &w->dies[target];
		if ((definition->tag == DW_TAG_structure_type || definition->tag == DW_TAG_union_type) &&
		    !definition->is_declaration && definition->has_byte_size)
			return target;
	}
	return -1;
}

static int lay_out(struct walk *w, long index, const char *c_name, struct dwarf_struct_layout *layout)
{
	layout->size = w->dies[index].byte_size;
	size_t capacity = 0;
	for (size_t child = (size_t)index + 1; child < w->die_count && w->dies[child].parent >= index;
	     child++) {
		const struct die *member = &w->dies[child];
		if (member->parent != index || member->tag != DW_TAG_member || member->name == NULL)
			continue;
		uint64_t size, count;
		if (!member->has_type || size_of_type(w, find_die(w, member->type), &size, &count))
			return fail(w, "%s: cannot size member %s", c_name, member->name);
		if (dwarf_grow_array((void **)&layout->members, &capacity, layout->member_count + 1,
		                     sizeof *layout->members))
			return fail(w, "out of memory");
		struct dwarf_member *out = &layout->members[layout->member_count++];
		out->name = strdup(member->name);
		out->offset = member->has_location ? member->location : 0;
		out->size = size;
		out->count = count;
		if (out->name == NULL)
			return fail(w, "out of memory");
	}
	layout->found = 1;
	return 0;
}

static int read_unit_header(struct walk *w, struct dwarf_cursor *c, const uint8_t **unit_end,
                            uint64_t *abbrev_offset, int *wanted_unit)
{
	const struct dwarf_sections *s = w->sections;
	w->unit = (struct dwarf_unit){.offset = (uint64_t)(c->at - s->info), .offset_size = 4};
	uint64_t length = dwarf_read_fixed(c, 4);
	if (length == DWARF64_LENGTH_ESCAPE) {
		w->unit.offset_size = 8;
		length = dwarf_read_fixed(c, 8);
	} else if (length >= DWARF_LENGTH_RESERVED_FROM) {
		return fail(w, "reserved unit length at .debug_info+0x%llx",
		            (unsigned long long)w->unit.offset);
	}
	if (c->bad || length > (uint64_t)(c->end - c->at))
		return fail(w, "truncated unit at .debug_info+0x%llx", (unsigned long long)w->unit.offset);
	*unit_end = c->at + length;
	w->unit.version = (unsigned)dwarf_read_fixed(c, 2);
	if (w->unit.version < 2 || w->unit.version > 5)
		return fail(w, "unsupported DWARF version %u", w->unit.version);
	unsigned unit_type = DW_UT_compile;
	if (w->unit.version >= 5) {
		unit_type = (unsigned)dwarf_read_fixed(c, 1);
		w->unit.address_size = (unsigned)dwarf_read_fixed(c, 1);
		*abbrev_offset = dwarf_read_fixed(c, w->unit.offset_size);
		if (unit_type == DW_UT_skeleton || unit_type == DW_UT_split_compile)
			dwarf_skip_bytes(c, 8);
		else if (unit_type == DW_UT_type || unit_type == DW_UT_split_type)
			dwarf_skip_bytes(c, 8 + w->unit.offset_size);
	} else {
		*abbrev_offset = dwarf_read_fixed(c, w->unit.offset_size);
		w->unit.address_size = (unsigned)dwarf_read_fixed(c, 1);
	}
	if (c->bad || c->at > *unit_end)
		return fail(w, "truncated unit header at .debug_info+0x%llx",
		            (unsigned long long)w->unit.offset);
	*wanted_unit = unit_type == DW_UT_compile || unit_type == DW_UT_partial;
	return 0;
}

int dwarf_layout_structs(const struct dwarf_sections *sections, const char *const *c_names, size_t count,
                         struct dwarf_struct_layout *layouts, char *error, size_t error_size)
{
	struct walk w = {.sections = sections, .error = error, .error_size = error_size};
	memset(layouts, 0, count * sizeof *layouts);
	if (sections->info == NULL || sections->abbrev == NULL)
		return fail(&w, "no .debug_info/.debug_abbrev");
	struct dwarf_cursor c = {sections->info, sections->info + sections->info_size, 0};
	size_t missing = count;
	int result = 0;
	while (missing > 0 && c.at < c.end && result == 0) {
		const uint8_t *unit_end = c.end;
		uint64_t abbrev_offset = 0;
		int wanted_unit = 0;
		if (read_unit_header(&w, &c, &unit_end, &abbrev_offset, &wanted_unit) != 0) {
			result = -1;
			break;
		}
		if (wanted_unit) {
			if (dwarf_parse_abbrevs(sections, abbrev_offset, &w.abbrevs) != 0) {
				result = fail(&w, "unreadable .debug_abbrev at 0x%llx",
				              (unsigned long long)abbrev_offset);
				break;
			}
			struct dwarf_cursor dies = {c.at, unit_end, 0};
			result = read_unit_dies(&w, &dies);
			for (size_t i = 0; i < count && result == 0; i++) {
				if (layouts[i].found)
					continue;
				long index = find_definition(&w, c_names[i]);
				if (index >= 0) {
					result = lay_out(&w, index, c_names[i], &layouts[i]);
					missing--;
				}
			}
		}
		c.at = unit_end;
	}
	free(w.dies);
	dwarf_abbrev_table_free(&w.abbrevs);
	return result;
}

void dwarf_struct_layout_free(struct dwarf_struct_layout *layout)
{
	for (size_t i = 0; i < layout->member_count; i++)
		free(layout->members[i].name);
	free(layout->members);
	memset(layout, 0, sizeof *layout);
}
