/*
 * Runs heap scenarios in fresh child processes and reports them through CUnit (see case_runner.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "case_runner.h"

#include <CUnit/Basic.h>
#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child_run.h"
#include "unit_result.h"

char *case_heap_start;
static int case_failure_count;

/* ---- child side: no stdio, no allocation of our own ---- */

static void write_text(const char *text) { (void)!write(STDERR_FILENO, text, strlen(text)); }

void case_report_failure(const char *file, int line, const char *expression)
{
	char buffer[512];
	snprintf(buffer, sizeof buffer, "%s:%d: expected %s\n", file, line, expression);
	write_text(buffer);
	case_failure_count++;
}

void case_report_values(const char *file, int line, const char *expression, uintptr_t actual,
                        uintptr_t expected)
{
	char buffer[640];
	snprintf(buffer, sizeof buffer, "%s:%d: expected %s, got %#lx instead of %#lx\n", file, line,
	         expression, (unsigned long)actual, (unsigned long)expected);
	write_text(buffer);
	case_failure_count++;
}

void *must_malloc(size_t size)
{
	void *p = malloc(size);
	if (!p) {
		write_text("malloc failed while staging the case\n");
		_exit(3);
	}
	return p;
}

static const struct heap_case *find_case(const struct heap_suite *suites, size_t suite_count,
                                         const char *suite_name, const char *case_name)
{
	for (size_t s = 0; s < suite_count; s++) {
		if (strcmp(suites[s].name, suite_name) != 0)
			continue;
		for (const struct heap_case *c = suites[s].cases; c->name; c++)
			if (strcmp(c->name, case_name) == 0)
				return c;
	}
	return NULL;
}

/* A missing or hidden export would silently fall back to another malloc: make sure the one under
   test is the one that answers. */
static bool allocator_is(const char *expected)
{
	Dl_info info;
	void *(*volatile entry)(size_t) = malloc;
	if (!dladdr((void *)entry, &info) || !info.dli_fname)
		return false;
	if (strcmp(expected, "self") == 0) {
		char self[PATH_MAX];
		ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
		if (length <= 0)
			return false;
		self[length] = '\0';
		char found[PATH_MAX]; /* a caller's buffer: realpath must not allocate before the case */
		return realpath(info.dli_fname, found) && strcmp(found, self) == 0;
	}
	return strstr(info.dli_fname, expected) != NULL;
}

static int run_case_here(const struct heap_case *heap_case, const char *expected_allocator)
{
	if (!allocator_is(expected_allocator)) {
		write_text("malloc is not served by the allocator under test: ");
		write_text(expected_allocator);
		write_text("\n");
		_exit(4);
	}
	case_heap_start = sbrk(0);
	heap_case->body();
	if (heap_case->abort_message) {
		write_text("the staged corruption was not detected\n");
		_exit(2);
	}
	_exit(case_failure_count ? 1 : 0);
}

/* ---- parent side ---- */

struct config {
	const char *label;
	const char *preload;
	bool is_clone;
	const char *allocator_file; /* where malloc must be defined: "self" or part of a file name */
};

struct registered_test {
	char *suite_label; /* as given to CUnit, e.g. "malloc paths [glibc]" */
	const struct heap_suite *suite;
	const struct heap_case *heap_case;
	const struct config *config;
};

static struct registered_test *registered;
static size_t registered_count;
static char self_path[PATH_MAX];

static void append_printable(char *out, size_t size, const char *text, size_t length)
{
	size_t used = strlen(out);
	for (size_t i = 0; i < length && used + 5 < size; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '\n')
			used += (size_t)snprintf(out + used, size - used, "\\n");
		else if (c < 32 || c > 126)
			used += (size_t)snprintf(out + used, size - used, "\\x%02x", c);
		else
			out[used++] = (char)c, out[used] = '\0';
	}
}

static void report(const struct registered_test *test, const char *what, const struct child_outcome *outcome)
{
	char text[1600];
	char end[128];
	snprintf(text, sizeof text, "%s (%s), stderr \"", what, child_describe_end(outcome, end, sizeof end));
	append_printable(text, sizeof text - 2, outcome->output, outcome->output_length);
	strcat(text, "\"");
	/* CUnit keeps the condition text by pointer in some versions: give it a string that lives on. */
	CU_assertImplementation(CU_FALSE, 0, strdup(text), test->heap_case->name, "", CU_FALSE);
}

static void judge(const struct registered_test *test, const struct child_outcome *outcome)
{
	const char *expected = test->heap_case->abort_message;
	if (outcome->spawn_failed) {
		report(test, "the child could not be run", outcome);
		return;
	}
	if (!expected) {
		bool clean = outcome->exited && outcome->exit_code == 0 && outcome->output_length == 0;
		CU_ASSERT(clean);
		if (!clean)
			report(test, "expectations failed", outcome);
		return;
	}
	bool aborted = !outcome->exited && outcome->signal_number == SIGABRT;
	size_t length = strlen(expected);
	bool message_matches = outcome->output_length == length + 1 &&
	                       memcmp(outcome->output, expected, length) == 0 &&
	                       outcome->output[length] == '\n';
	CU_ASSERT(aborted && message_matches);
	if (!(aborted && message_matches)) {
		char what[700];
		snprintf(what, sizeof what, "wanted SIGABRT with \"%s\\n\"", expected);
		report(test, what, outcome);
	}
}

static void run_registered_test(void)
{
	const char *suite_label = CU_get_current_suite()->pName;
	const char *test_name = CU_get_current_test()->pName;
	for (size_t i = 0; i < registered_count; i++) {
		const struct registered_test *test = &registered[i];
		if (strcmp(test->suite_label, suite_label) != 0 ||
		    strcmp(test->heap_case->name, test_name) != 0)
			continue;
		char *argv[] = {self_path,
		                "--case",
		                (char *)test->suite->name,
		                (char *)test->heap_case->name,
		                (char *)test->config->allocator_file,
		                NULL};
		static struct child_outcome outcome;
		child_run(argv, test->config->preload, &outcome);
		judge(test, &outcome);
		return;
	}
	CU_FAIL("internal: test not found in the registry");
}

static bool is_known_failure(char **known, size_t known_count, const char *suite, const char *name)
{
	for (size_t i = 0; i < known_count; i++) {
		size_t suite_length = strlen(suite);
		if (strncmp(known[i], suite, suite_length) == 0 && known[i][suite_length] == '/' &&
		    strcmp(known[i] + suite_length + 1, name) == 0)
			return true;
	}
	return false;
}

/* One "suite/case" per line; blank lines and lines starting with '#' are ignored. */
static void load_known_failures(const char *path, char ***known, size_t *known_count)
{
	FILE *file = fopen(path, "r");
	if (!file) {
		fprintf(stderr, "cannot read %s: %m\n", path);
		return;
	}
	char *line = NULL;
	size_t capacity = 0;
	ssize_t length;
	while ((length = getline(&line, &capacity, file)) >= 0) {
		while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == ' '))
			line[--length] = '\0';
		if (length == 0 || line[0] == '#')
			continue;
		char **grown = realloc(*known, (*known_count + 1) * sizeof **known);
		if (!grown)
			break;
		*known = grown;
		(*known)[(*known_count)++] = strdup(line);
	}
	free(line);
	fclose(file);
}

static void default_clone_path(char *out, size_t size)
{
	char directory[PATH_MAX];
	snprintf(directory, sizeof directory, "%s", self_path);
	snprintf(out, size, "%s/../libptmalloc.so", dirname(directory));
}

static int parse_configs(const char *list, const char *clone_path, struct config *configs)
{
	int count = 0;
	char *copy = strdup(list);
	for (char *item = strtok(copy, ","); item && count < 3; item = strtok(NULL, ",")) {
		if (strcmp(item, "self") == 0)
			configs[count++] = (struct config){"clone.a", NULL, true, "self"};
		else if (strcmp(item, "glibc") == 0)
			configs[count++] = (struct config){"glibc", NULL, false, "/libc.so"};
		else if (strcmp(item, "clone") == 0)
			configs[count++] = (struct config){"clone.so", clone_path, true, "libptmalloc.so"};
		else {
			fprintf(stderr, "unknown configuration '%s' (self, glibc, clone)\n", item);
			free(copy);
			return -1;
		}
	}
	free(copy);
	return count;
}

int case_runner_main(int argc, char **argv, const struct heap_suite *suites, size_t suite_count,
                     const char *default_configs)
{
	if (argc == 5 && strcmp(argv[1], "--case") == 0) {
		const struct heap_case *heap_case = find_case(suites, suite_count, argv[2], argv[3]);
		if (!heap_case) {
			write_text("no such case\n");
			return 64;
		}
		return run_case_here(heap_case, argv[4]);
	}
	ssize_t length = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
	if (length <= 0) {
		perror("readlink /proc/self/exe");
		return 1;
	}
	self_path[length] = '\0';
	const char *config_list = default_configs;
	char clone_path[PATH_MAX];
	default_clone_path(clone_path, sizeof clone_path);
	char **known = NULL;
	size_t known_count = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--configs") == 0 && i + 1 < argc)
			config_list = argv[++i];
		else if (strcmp(argv[i], "--clone") == 0 && i + 1 < argc)
			snprintf(clone_path, sizeof clone_path, "%s", realpath(argv[++i], NULL) ?: argv[i]);
		else if (strcmp(argv[i], "--known-failures") == 0 && i + 1 < argc)
			load_known_failures(argv[++i], &known, &known_count);
		else {
			fprintf(stderr,
			        "usage: %s [--configs self|glibc,clone] [--clone LIB] "
			        "[--known-failures FILE]\n",
			        argv[0]);
			return 64;
		}
	}
	struct config configs[3];
	int config_count = parse_configs(config_list, clone_path, configs);
	if (config_count <= 0)
		return 64;

	size_t capacity = 0;
	for (size_t s = 0; s < suite_count; s++)
		for (const struct heap_case *c = suites[s].cases; c->name; c++)
			capacity += (size_t)config_count;
	registered = calloc(capacity, sizeof *registered);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return unit_registry_error();
	for (int k = 0; k < config_count; k++) {
		for (size_t s = 0; s < suite_count; s++) {
			char *label;
			if (asprintf(&label, "%s [%s]", suites[s].name, configs[k].label) < 0)
				return 1;
			CU_pSuite suite = CU_add_suite(label, NULL, NULL);
			if (!suite)
				return unit_registry_error();
			for (const struct heap_case *c = suites[s].cases; c->name; c++) {
				if (configs[k].is_clone &&
				    is_known_failure(known, known_count, suites[s].name, c->name)) {
					printf("left out under %s (known clone failure): %s/%s\n",
					       configs[k].label, suites[s].name, c->name);
					continue;
				}
				registered[registered_count++] =
				    (struct registered_test){label, &suites[s], c, &configs[k]};
				if (!CU_add_test(suite, c->name, run_registered_test))
					return unit_registry_error();
			}
		}
	}
	return unit_run_registry();
}
