/*
 * CUnit suite for ptm-layout.  The oracles are independent of the tool: the compiler's own
 * offsetof/sizeof for every field of malloc_types.h, binutils' nm and readelf for symbol values
 * and build-ids, and the unstripped library's manifest for the stripped and split copies.
 * Paths come from the environment (set by mk/dwarf.mk): PTM_LAYOUT, PTM_TYPES, PTM_TYPES_DWARF4,
 * PTM_LIBRARY, PTM_SCRATCH, and PTM_SYSTEM_LIBC when libc6-dbg is installed.
 */
#include "json_value.h"
#include "malloc_types.h"

#include <CUnit/Basic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

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

static const struct expected_type {
	const char *c_name;
	size_t size;
	const struct expected_field *fields;
	size_t field_count;
} expected_types[] = {
#define TYPE(name, type, fields)                                                                             \
	{                                                                                                    \
		name, sizeof(type), fields, sizeof fields / sizeof fields[0]                                 \
	}
    TYPE("struct malloc_chunk", struct malloc_chunk, chunk_fields),
    TYPE("struct malloc_state", struct malloc_state, state_fields),
    TYPE("heap_info", heap_info, heap_info_fields),
    TYPE("struct malloc_par", struct malloc_par, par_fields),
    TYPE("tcache_perthread_struct", tcache_perthread_struct, tcache_fields),
    TYPE("tcache_entry", tcache_entry, entry_fields),
};

static const char *const heap_symbols[] = {"main_arena", "mp_", "global_max_fast"};
static const char *const heap_tls[] = {"tcache", "thread_arena"};

static const char *env(const char *name)
{
	const char *value = getenv(name);
	if (value == NULL || *value == '\0') {
		fprintf(stderr, "test_layout: %s is not set (run through `make test-dwarf`)\n", name);
		exit(2);
	}
	return value;
}

static char *scratch_path(const char *name)
{
	static char paths[16][512];
	static int next;
	char *path = paths[next++ % 16];
	snprintf(path, sizeof paths[0], "%s/%s", env("PTM_SCRATCH"), name);
	return path;
}

static char *read_text(const char *path)
{
	FILE *file = fopen(path, "rb");
	if (file == NULL)
		return strdup("");
	fseek(file, 0, SEEK_END);
	long size = ftell(file);
	rewind(file);
	char *text = calloc(1, (size_t)size + 1);
	if (text != NULL && fread(text, 1, (size_t)size, file) != (size_t)size)
		text[0] = '\0';
	fclose(file);
	return text;
}

/* Runs a shell command; returns its exit status, and its stdout/stderr when asked. */
static int run(char **out, char **err, const char *format, ...)
{
	char command[4096];
	va_list args;
	va_start(args, format);
	vsnprintf(command, sizeof command, format, args);
	va_end(args);
	char full[4600];
	char *out_path = strdup(scratch_path("run.out")), *err_path = strdup(scratch_path("run.err"));
	snprintf(full, sizeof full, "(%s) >'%s' 2>'%s'", command, out_path, err_path);
	int status = system(full);
	if (out != NULL)
		*out = read_text(out_path);
	if (err != NULL)
		*err = read_text(err_path);
	free(out_path);
	free(err_path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The manifest ptm-layout prints for `file` (with `options`), parsed; NULL if it failed. */
static struct json_value *manifest_of(const char *options, const char *file)
{
	char *out = NULL;
	int status = run(&out, NULL, "'%s' %s '%s'", env("PTM_LAYOUT"), options, file);
	struct json_value *manifest = status == 0 ? json_parse(out) : NULL;
	free(out);
	CU_ASSERT_EQUAL(status, 0);
	CU_ASSERT_PTR_NOT_NULL(manifest);
	return manifest;
}

static long long number_at(const struct json_value *object, const char *key)
{
	const struct json_value *value = json_get(object, key);
	return value != NULL && value->kind == JSON_NUMBER ? value->number : -1;
}

static void assert_types_match_compiler(const struct json_value *manifest)
{
	const struct json_value *types = json_get(manifest, "types");
	CU_ASSERT_PTR_NOT_NULL_FATAL(types);
	for (size_t t = 0; t < sizeof expected_types / sizeof expected_types[0]; t++) {
		const struct expected_type *expected = &expected_types[t];
		const struct json_value *type = json_get(types, expected->c_name);
		CU_ASSERT_PTR_NOT_NULL(type);
		if (type == NULL) {
			fprintf(stderr, "\n  missing type %s", expected->c_name);
			continue;
		}
		CU_ASSERT_EQUAL(number_at(type, "size"), (long long)expected->size);
		const struct json_value *fields = json_get(type, "fields");
		CU_ASSERT_PTR_NOT_NULL_FATAL(fields);
		CU_ASSERT_EQUAL(fields->count, expected->field_count);
		for (size_t f = 0; f < expected->field_count; f++) {
			const struct expected_field *want = &expected->fields[f];
			const struct json_value *field = json_get(fields, want->name);
			CU_ASSERT_PTR_NOT_NULL(field);
			if (field == NULL)
				continue;
			int matches = number_at(field, "offset") == (long long)want->offset &&
			              number_at(field, "size") == (long long)want->size &&
			              number_at(field, "count") == (long long)want->count;
			if (!matches)
				fprintf(stderr, "\n  %s.%s: offset %lld size %lld count %lld",
				        expected->c_name, want->name, number_at(field, "offset"),
				        number_at(field, "size"), number_at(field, "count"));
			CU_ASSERT_TRUE(matches);
			/* Fields come in declaration order, as gdb's Type.fields() lists them. */
			if (f < fields->count)
				CU_ASSERT_STRING_EQUAL(fields->keys[f], want->name);
		}
	}
}

/* `nm`'s value for a symbol: an oracle that shares no code with ptm-layout's DWARF reader. */
static long long nm_value(const char *file, const char *symbol)
{
	char *out = NULL;
	run(&out, NULL, "nm '%s' | awk '$3 == \"%s\" { print $1; exit }'", file, symbol);
	long long value = *out ? (long long)strtoull(out, NULL, 16) : -1;
	free(out);
	return value;
}

static char *readelf_build_id(const char *file)
{
	char *out = NULL;
	run(&out, NULL, "readelf -n '%s' | awk '/Build ID:/ { printf \"%%s\", $3; exit }'", file);
	return out;
}

static void assert_symbols_match_nm(const struct json_value *manifest, const char *symbol_file)
{
	const struct json_value *symbols = json_get(manifest, "symbols"), *tls = json_get(manifest, "tls");
	for (size_t i = 0; i < sizeof heap_symbols / sizeof heap_symbols[0]; i++) {
		long long want = nm_value(symbol_file, heap_symbols[i]);
		CU_ASSERT_NOT_EQUAL(want, -1);
		CU_ASSERT_EQUAL(number_at(symbols, heap_symbols[i]), want);
	}
	for (size_t i = 0; i < sizeof heap_tls / sizeof heap_tls[0]; i++) {
		long long want = nm_value(symbol_file, heap_tls[i]);
		CU_ASSERT_NOT_EQUAL(want, -1);
		CU_ASSERT_EQUAL(number_at(tls, heap_tls[i]), want);
	}
}

static void assert_same_number_object(const struct json_value *a, const struct json_value *b)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(a->count, b->count);
	for (size_t i = 0; i < a->count; i++)
		CU_ASSERT_EQUAL(number_at(b, a->keys[i]), a->items[i]->number);
}

/* Two manifests describe the same build: build-id, symbols, TLS, and field by field. */
static void assert_same_layout(const struct json_value *a, const struct json_value *b)
{
	CU_ASSERT_STRING_EQUAL(json_get(a, "build_id")->string, json_get(b, "build_id")->string);
	assert_same_number_object(json_get(a, "symbols"), json_get(b, "symbols"));
	assert_same_number_object(json_get(a, "tls"), json_get(b, "tls"));
	const struct json_value *types_a = json_get(a, "types"), *types_b = json_get(b, "types");
	CU_ASSERT_EQUAL_FATAL(types_a->count, types_b->count);
	for (size_t t = 0; t < types_a->count; t++) {
		const struct json_value *fields_a = json_get(types_a->items[t], "fields");
		const struct json_value *fields_b = json_get(json_get(types_b, types_a->keys[t]), "fields");
		CU_ASSERT_PTR_NOT_NULL_FATAL(fields_b);
		CU_ASSERT_EQUAL(fields_a->count, fields_b->count);
		for (size_t f = 0; f < fields_a->count; f++)
			assert_same_number_object(fields_a->items[f], json_get(fields_b, fields_a->keys[f]));
	}
}

static void test_types_object_matches_offsetof(void)
{
	struct json_value *manifest = manifest_of("", env("PTM_TYPES"));
	if (manifest != NULL)
		assert_types_match_compiler(manifest);
	json_free(manifest);
}

static void test_dwarf4_types_object_matches_offsetof(void)
{
	char *out = NULL;
	run(&out, NULL, "readelf --debug-dump=info '%s' | awk '/Version:/ { print $2; exit }'",
	    env("PTM_TYPES_DWARF4"));
	CU_ASSERT_EQUAL(atoi(out), 4); /* the object really is DWARF 4 */
	free(out);
	struct json_value *manifest = manifest_of("", env("PTM_TYPES_DWARF4"));
	if (manifest != NULL)
		assert_types_match_compiler(manifest);
	json_free(manifest);
}

static void test_library_manifest_complete_and_exact(void)
{
	const char *library = env("PTM_LIBRARY");
	struct json_value *manifest = manifest_of("--check", library);
	if (manifest == NULL)
		return;
	assert_types_match_compiler(manifest);
	assert_symbols_match_nm(manifest, library);
	char *build_id = readelf_build_id(library);
	CU_ASSERT_TRUE(strlen(build_id) >= 16);
	CU_ASSERT_STRING_EQUAL(json_get(manifest, "build_id")->string, build_id);
	free(build_id);
	CU_ASSERT_PTR_NOT_NULL(json_get(json_get(manifest, "tls_access"), "got_slot"));
	json_free(manifest);
}

/* A split build: stripped library + debug file, found by .gnu_debuglink (objcopy records the
   debug file's base name, looked up next to the library) or named explicitly. */
static void test_stripped_library_with_debug_file(void)
{
	const char *library = env("PTM_LIBRARY");
	char *debug = strdup(scratch_path("libptmalloc.debug"));
	char *linked = strdup(scratch_path("stripped-linked.so"));
	char *bare = strdup(scratch_path("stripped-bare.so"));
	char *empty = strdup(scratch_path("empty-debug-root"));
	CU_ASSERT_EQUAL_FATAL(run(NULL, NULL,
	                          "objcopy --only-keep-debug '%s' '%s' && "
	                          "objcopy --strip-all --add-gnu-debuglink='%s' '%s' '%s' && "
	                          "objcopy --strip-all '%s' '%s' && mkdir -p '%s'",
	                          library, debug, debug, library, linked, library, bare, empty),
	                      0);
	CU_ASSERT_EQUAL(nm_value(linked, "main_arena"), -1); /* really stripped */
	struct json_value *original = manifest_of("--check", library);
	struct json_value *through_link = manifest_of("--check", linked);
	char options[1200];
	snprintf(options, sizeof options, "--check --debug-dir '%s' --debug-file '%s'", empty, debug);
	struct json_value *explicit = manifest_of(options, bare);
	struct json_value *debug_alone = manifest_of("", debug);
	if (original && through_link && explicit && debug_alone) {
		assert_same_layout(original, through_link);
		assert_same_layout(original, explicit);
		assert_same_layout(original, debug_alone);
		assert_same_number_object(json_get(original, "tls_access"),
		                          json_get(through_link, "tls_access"));
	}
	json_free(original);
	json_free(through_link);
	json_free(explicit);
	json_free(debug_alone);
	free(debug);
	free(linked);
	free(bare);
	free(empty);
}

/* Exactly one line on stderr, naming the problem, and a non-zero exit. */
static void assert_refused(const char *options, const char *file, int want_status, const char *why)
{
	char *out = NULL, *err = NULL;
	int status = run(&out, &err, "'%s' %s '%s'", env("PTM_LAYOUT"), options, file);
	CU_ASSERT_EQUAL(status, want_status);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(err, why));
	char *newline = strchr(err, '\n');
	CU_ASSERT_TRUE(newline != NULL && newline[1] == '\0');
	if (strstr(err, why) == NULL)
		fprintf(stderr, "\n  stderr was: %s", err);
	free(out);
	free(err);
}

static void test_stripped_library_without_debug_file(void)
{
	char *bare = strdup(scratch_path("stripped-alone.so"));
	char *empty = strdup(scratch_path("empty-debug-root"));
	CU_ASSERT_EQUAL_FATAL(run(NULL, NULL, "objcopy --strip-all '%s' '%s' && mkdir -p '%s'",
	                          env("PTM_LIBRARY"), bare, empty),
	                      0);
	char options[600];
	snprintf(options, sizeof options, "--debug-dir '%s'", empty);
	assert_refused(options, bare, 1, "no DWARF");
	free(bare);
	free(empty);
}

static void test_non_elf_file(void)
{
	char *text = strdup(scratch_path("not-elf.txt"));
	CU_ASSERT_EQUAL_FATAL(run(NULL, NULL, "echo 'just some text' > '%s'", text), 0);
	assert_refused("", text, 1, "not an ELF file");
	assert_refused("", scratch_path("does-not-exist.so"), 1, "cannot read");
	free(text);
}

static void test_truncated_files(void)
{
	char *cut = strdup(scratch_path("truncated.so"));
	const char *sizes[] = {"10", "200", "4000"};
	for (size_t i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL_FATAL(
		    run(NULL, NULL, "head -c %s '%s' > '%s'", sizes[i], env("PTM_LIBRARY"), cut), 0);
		assert_refused("", cut, 1, "truncated");
	}
	/* Cut in the middle of the DWARF: still one line, never a crash or a partial manifest. */
	CU_ASSERT_EQUAL_FATAL(run(NULL, NULL, "head -c $(( $(stat -c %%s '%s') * 3 / 4 )) '%s' > '%s'",
	                          env("PTM_LIBRARY"), env("PTM_LIBRARY"), cut),
	                      0);
	char *out = NULL, *err = NULL;
	int status = run(&out, &err, "'%s' '%s'", env("PTM_LAYOUT"), cut);
	CU_ASSERT_EQUAL(status, 1);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "ptm-layout: "));
	free(out);
	free(err);
	free(cut);
}

static void test_object_without_dwarf(void)
{
	char *plain = strdup(scratch_path("no-dwarf.o"));
	CU_ASSERT_EQUAL_FATAL(run(NULL, NULL, "objcopy --strip-debug '%s' '%s'", env("PTM_TYPES"), plain), 0);
	assert_refused("", plain, 1, "no DWARF");
	free(plain);
}

static void test_check_names_what_is_missing(void)
{
	/* The types object has every type but, being no library, none of the symbols. */
	assert_refused("--check", env("PTM_TYPES"), 2, "symbol main_arena");
	assert_refused("--check", env("PTM_TYPES"), 2, "TLS symbol thread_arena");
	char *source = strdup(scratch_path("partial.c")), *object = strdup(scratch_path("partial.o"));
	CU_ASSERT_EQUAL_FATAL(
	    run(NULL, NULL,
	        "printf 'struct malloc_chunk { long mchunk_prev_size; long mchunk_size; } c;\\n' > '%s' && "
	        "gcc -g -c '%s' -o '%s'",
	        source, source, object),
	    0);
	assert_refused("--check", object, 2, "struct malloc_chunk.fd, struct malloc_chunk.bk");
	assert_refused("--check", object, 2, "struct malloc_state");
	free(source);
	free(object);
}

/* glibc 2.36 itself, through libc6-dbg: same layout as ours, symbols as its debug file's nm says. */
static void test_system_libc_manifest(void)
{
	const char *libc = getenv("PTM_SYSTEM_LIBC");
	if (libc == NULL || *libc == '\0') {
		printf("\n  (libc6-dbg is not installed: system glibc manifest not checked)");
		return;
	}
	struct json_value *manifest = manifest_of("--check", libc);
	if (manifest == NULL)
		return;
	assert_types_match_compiler(manifest);
	char *build_id = readelf_build_id(libc);
	CU_ASSERT_STRING_EQUAL(json_get(manifest, "build_id")->string, build_id);
	char debug_file[600];
	snprintf(debug_file, sizeof debug_file, "/usr/lib/debug/.build-id/%.2s/%s.debug", build_id,
	         build_id + 2);
	assert_symbols_match_nm(manifest, debug_file);
	free(build_id);
	json_free(manifest);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite suite = CU_add_suite("ptm-layout", NULL, NULL);
	struct {
		const char *name;
		void (*run)(void);
	} tests[] = {
	    {"types object (DWARF 5) = offsetof/sizeof", test_types_object_matches_offsetof},
	    {"types object (DWARF 4) = offsetof/sizeof", test_dwarf4_types_object_matches_offsetof},
	    {"library manifest complete, = offsetof, nm, readelf", test_library_manifest_complete_and_exact},
	    {"stripped library + debug file = unstripped", test_stripped_library_with_debug_file},
	    {"stripped library, no debug file: refused", test_stripped_library_without_debug_file},
	    {"non-ELF and missing files: refused", test_non_elf_file},
	    {"truncated files: refused", test_truncated_files},
	    {"object without DWARF: refused", test_object_without_dwarf},
	    {"--check names what is missing", test_check_names_what_is_missing},
	    {"system glibc manifest (libc6-dbg)", test_system_libc_manifest},
	};
	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
		CU_add_test(suite, tests[i].name, tests[i].run);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures == 0 ? 0 : 1;
}
