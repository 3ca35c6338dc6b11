/*
 * CUnit suite for ptm-layout's refusals: input it cannot describe (no DWARF, not ELF, missing,
 * truncated, incomplete) gets a non-zero exit, nothing on stdout and exactly one line on stderr
 * naming the problem, never a crash or a partial manifest.  The manifests it does write are
 * checked in pytest (test_manifest.py, test_debug_files.py).
 * Paths come from the environment (set by mk/dwarf.mk): PTM_LAYOUT, PTM_TYPES, PTM_LIBRARY and
 * PTM_SCRATCH.
 */
#include <CUnit/Basic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

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

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite suite = CU_add_suite("ptm-layout refusals", NULL, NULL);
	struct {
		const char *name;
		void (*run)(void);
	} tests[] = {
	    {"stripped library, no debug file: refused", test_stripped_library_without_debug_file},
	    {"non-ELF and missing files: refused", test_non_elf_file},
	    {"truncated files: refused", test_truncated_files},
	    {"object without DWARF: refused", test_object_without_dwarf},
	    {"--check names what is missing", test_check_names_what_is_missing},
	};
	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
		CU_add_test(suite, tests[i].name, tests[i].run);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures == 0 ? 0 : 1;
}
