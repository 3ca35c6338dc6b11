/*
 * The compiler's own layout of the heap structs (offsetof/sizeof over malloc_types.h), printed as
 * JSON in the shape of a layout manifest's "types": the oracle tests/dwarf/test_manifest.py holds
 * ptm-layout's manifests against.  It shares no code with ptm-layout's DWARF reader, so the two
 * agree only if both are right.
 */
#include "malloc_types.h"

#include <stddef.h>
#include <stdio.h>

struct expected_field {
	const char *name;
	size_t offset, size, count;
};

#define FIELD(type, member)                                                                                  \
	{                                                                                                    \
#member, offsetof(type, member), sizeof(((type *)0)->member), 1                              \
	}
#define ARRAY(type, member)                                                                                  \
	{                                                                                                    \
#member, offsetof(type, member), sizeof(((type *)0)->member),                                \
		    sizeof(((type *)0)->member) / sizeof(((type *)0)->member[0])                             \
	}

/* Every field the extension reads, in declaration order (the order gdb's Type.fields() lists). */
static const struct expected_field chunk_fields[] = {FIELD(struct malloc_chunk, mchunk_prev_size),
                                                     FIELD(struct malloc_chunk, mchunk_size),
                                                     FIELD(struct malloc_chunk, fd),
                                                     FIELD(struct malloc_chunk, bk),
                                                     FIELD(struct malloc_chunk, fd_nextsize),
                                                     FIELD(struct malloc_chunk, bk_nextsize)};
static const struct expected_field state_fields[] = {FIELD(struct malloc_state, mutex),
                                                     FIELD(struct malloc_state, flags),
                                                     FIELD(struct malloc_state, have_fastchunks),
                                                     ARRAY(struct malloc_state, fastbinsY),
                                                     FIELD(struct malloc_state, top),
                                                     FIELD(struct malloc_state, last_remainder),
                                                     ARRAY(struct malloc_state, bins),
                                                     ARRAY(struct malloc_state, binmap),
                                                     FIELD(struct malloc_state, next),
                                                     FIELD(struct malloc_state, next_free),
                                                     FIELD(struct malloc_state, attached_threads),
                                                     FIELD(struct malloc_state, system_mem),
                                                     FIELD(struct malloc_state, max_system_mem)};
static const struct expected_field heap_info_fields[] = {
    FIELD(heap_info, ar_ptr),        FIELD(heap_info, prev),     FIELD(heap_info, size),
    FIELD(heap_info, mprotect_size), FIELD(heap_info, pagesize), ARRAY(heap_info, pad)};
static const struct expected_field par_fields[] = {FIELD(struct malloc_par, trim_threshold),
                                                   FIELD(struct malloc_par, top_pad),
                                                   FIELD(struct malloc_par, mmap_threshold),
                                                   FIELD(struct malloc_par, arena_test),
                                                   FIELD(struct malloc_par, arena_max),
                                                   FIELD(struct malloc_par, thp_pagesize),
                                                   FIELD(struct malloc_par, hp_pagesize),
                                                   FIELD(struct malloc_par, hp_flags),
                                                   FIELD(struct malloc_par, n_mmaps),
                                                   FIELD(struct malloc_par, n_mmaps_max),
                                                   FIELD(struct malloc_par, max_n_mmaps),
                                                   FIELD(struct malloc_par, no_dyn_threshold),
                                                   FIELD(struct malloc_par, mmapped_mem),
                                                   FIELD(struct malloc_par, max_mmapped_mem),
                                                   FIELD(struct malloc_par, sbrk_base),
                                                   FIELD(struct malloc_par, tcache_bins),
                                                   FIELD(struct malloc_par, tcache_max_bytes),
                                                   FIELD(struct malloc_par, tcache_count),
                                                   FIELD(struct malloc_par, tcache_unsorted_limit)};
static const struct expected_field tcache_fields[] = {ARRAY(tcache_perthread_struct, counts),
                                                      ARRAY(tcache_perthread_struct, entries)};
static const struct expected_field entry_fields[] = {FIELD(tcache_entry, next), FIELD(tcache_entry, key)};

#define TYPE(name, type, fields)                                                                             \
	{                                                                                                    \
		name, sizeof(type), fields, sizeof fields / sizeof fields[0]                                 \
	}
static const struct expected_type {
	const char *c_name;
	size_t size;
	const struct expected_field *fields;
	size_t field_count;
} expected_types[] = {
    TYPE("struct malloc_chunk", struct malloc_chunk, chunk_fields),
    TYPE("struct malloc_state", struct malloc_state, state_fields),
    TYPE("heap_info", heap_info, heap_info_fields),
    TYPE("struct malloc_par", struct malloc_par, par_fields),
    TYPE("tcache_perthread_struct", tcache_perthread_struct, tcache_fields),
    TYPE("tcache_entry", tcache_entry, entry_fields),
};

int main(void)
{
	size_t type_count = sizeof expected_types / sizeof expected_types[0];
	printf("{");
	for (size_t t = 0; t < type_count; t++) {
		const struct expected_type *type = &expected_types[t];
		printf("%s\n  \"%s\": {\"size\": %zu, \"fields\": {", t ? "," : "", type->c_name, type->size);
		for (size_t f = 0; f < type->field_count; f++) {
			const struct expected_field *field = &type->fields[f];
			printf("%s\"%s\": {\"offset\": %zu, \"size\": %zu, \"count\": %zu}", f ? ", " : "",
			       field->name, field->offset, field->size, field->count);
		}
		printf("}}");
	}
	printf("\n}\n");
	return 0;
}
