/*
 * The one way the allocator dies: glibc's malloc_printerr.  The message and a newline go to fd 2 in
 * a single writev (no stdio: the heap is corrupt and stdio may allocate), then SIGABRT.  Failed
 * assertions die the same way in the format of the release (version.h).  Tests and the GDB
 * extension's predictions compare these texts byte for byte with glibc's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

static PTM_RARE void write_fully_to_stderr(struct iovec *parts, int count)
{
	while (count > 0) {
		ssize_t written = writev(STDERR_FILENO, parts, count);
		if (written < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		while (count > 0 && (size_t)written >= parts->iov_len) {
			written -= (ssize_t)parts->iov_len;
			parts++;
			count--;
		}
		if (count > 0) {
			parts->iov_base = (char *)parts->iov_base + written;
			parts->iov_len -= (size_t)written;
		}
	}
}

PTM_RARE _Noreturn void malloc_printerr(const char *message)
{
	struct iovec parts[2] = {
	    {.iov_base = (void *)message, .iov_len = strlen(message)},
	    {.iov_base = "\n", .iov_len = 1},
	};
	write_fully_to_stderr(parts, 2);
	abort();
}

#if ASSERTIONS_NAME_SOURCE_LINE
static PTM_RARE const struct assertion_site *glibc_assertion_site(const char *function,
                                                                  const char *expression, int site)
{
	for (size_t i = 0; i < release_assertion_count; i++) {
		const struct release_assertion *known = &release_assertions[i];
		if (known->site == site && strcmp(known->function, function) == 0 &&
		    strcmp(known->expression, expression) == 0)
			return &known->where;
	}
	/* A check the release does not make: said in its format all the same, without a line. */
	static struct assertion_site unknown = {NULL, "malloc.c", 0, NULL};
	unknown.function = function;
	unknown.expression = expression;
	return &unknown;
}
#endif

#if LIBC_ASSERT_FAIL_ASSERTIONS
/* From 2.37, libc's own assertion message, written like malloc_printerr's:
   "Fatal glibc error: FILE:LINE (FUNC): assertion failed: EXPR". */
PTM_RARE _Noreturn void malloc_assert_fail(const char *function, const char *expression, int site)
{
	const struct assertion_site *where = glibc_assertion_site(function, expression, site);
	char line[16];
	snprintf(line, sizeof line, "%u", where->line);
	static const char prefix[] = "Fatal glibc error: ";
	struct iovec parts[9] = {
	    {.iov_base = (void *)prefix, .iov_len = sizeof(prefix) - 1},
	    {.iov_base = (void *)where->file, .iov_len = strlen(where->file)},
	    {.iov_base = ":", .iov_len = 1},
	    {.iov_base = line, .iov_len = strlen(line)},
	    {.iov_base = " (", .iov_len = 2},
	    {.iov_base = (void *)where->function, .iov_len = strlen(where->function)},
	    {.iov_base = "): assertion failed: ", .iov_len = 21},
	    {.iov_base = (void *)where->expression, .iov_len = strlen(where->expression)},
	    {.iov_base = "\n", .iov_len = 1},
	};
	write_fully_to_stderr(parts, 9);
	abort();
}
#elif FATAL_ERROR_ASSERTIONS
/* 2.36: "Fatal glibc error: malloc assertion failure in FUNC: EXPR", without the line. */
PTM_RARE _Noreturn void malloc_assert_fail(const char *function, const char *expression, int site)
{
	(void)site;
	static const char prefix[] = "Fatal glibc error: malloc assertion failure in ";
	struct iovec parts[5] = {
	    {.iov_base = (void *)prefix, .iov_len = sizeof(prefix) - 1},
	    {.iov_base = (void *)function, .iov_len = strlen(function)},
	    {.iov_base = ": ", .iov_len = 2},
	    {.iov_base = (void *)expression, .iov_len = strlen(expression)},
	    {.iov_base = "\n", .iov_len = 1},
	};
	write_fully_to_stderr(parts, 5);
	abort();
}
#else
/* Before 2.36, assert's own format through stdio: "PROG: FILE:LINE: FUNC: Assertion `EXPR'
   failed.", with the line of glibc's source. */
PTM_RARE _Noreturn void malloc_assert_fail(const char *function, const char *expression, int site)
{
	const struct assertion_site *where = glibc_assertion_site(function, expression, site);
	const char *program = program_invocation_short_name;
	fprintf(stderr, "%s%s%s:%u: %s%sAssertion `%s' failed.\n", program, program[0] != '\0' ? ": " : "",
	        where->file, where->line, where->function, ": ", where->expression);
	fflush(stderr);
	abort();
}
#endif
