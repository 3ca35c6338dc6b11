/* Edge-of-range requests: sizes near SIZE_MAX and PTRDIFF_MAX, calloc/reallocarray overflow, bad
 * alignments, realloc(p, 0).  Every probe prints one line of facts that do not depend on where the
 * heap happens to be (NULL or not, errno, alignment, usable size), so the output of a plain run on
 * glibc 2.36 is the exact expectation for a run with the clone preloaded. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "malloc_provider.h"

/* volatile: the compiler must neither fold these calls nor warn that the size is absurd. */
static volatile size_t size_max = SIZE_MAX;
static volatile size_t ptrdiff_max = PTRDIFF_MAX;
static volatile size_t four_gib = (size_t)1 << 32;

static void report(const char *what, void *result, int error)
{
	if (result == NULL) {
		printf("%-44s NULL errno=%s\n", what, error ? strerrorname_np(error) : "0");
		return;
	}
	uintptr_t address = (uintptr_t)result;
	printf("%-44s ok   errno=%s align16=%d align4096=%d usable=%zu\n", what,
	       error ? strerrorname_np(error) : "0", (int)(address % 16 == 0), (int)(address % 4096 == 0),
	       malloc_usable_size(result));
}

#define PROBE(expression)                                                                                    \
	do {                                                                                                 \
		errno = 0;                                                                                   \
		void *result_ = (expression);                                                                \
		int error_ = errno;                                                                          \
		report(#expression, result_, error_);                                                        \
		free(result_);                                                                               \
	} while (0)

static void probe_malloc(void)
{
	PROBE(malloc(0));
	PROBE(malloc(1));
	PROBE(malloc(24));
	PROBE(malloc(25));
	PROBE(malloc(ptrdiff_max));
	PROBE(malloc(ptrdiff_max - 1));
	PROBE(malloc(ptrdiff_max - 4096));
	PROBE(malloc(ptrdiff_max + 1));
	PROBE(malloc(size_max));
	PROBE(malloc(size_max - 7));
	PROBE(malloc(size_max - 15));
	PROBE(malloc(size_max - 16));
	PROBE(malloc(size_max - 31));
	PROBE(malloc(size_max - 4095));
	PROBE(malloc((size_t)1 << 47));
}

static void probe_calloc(void)
{
	PROBE(calloc(0, 0));
	PROBE(calloc(0, size_max));
	PROBE(calloc(size_max, 0));
	PROBE(calloc(size_max, 1));
	PROBE(calloc(size_max, 2));
	PROBE(calloc(2, size_max / 2 + 1));
	PROBE(calloc(four_gib, four_gib));
	PROBE(calloc(ptrdiff_max, 1));
	PROBE(calloc(ptrdiff_max / 2 + 1, 2));
	PROBE(calloc(1, ptrdiff_max + 1));
	PROBE(calloc(3, size_max / 3));
	PROBE(calloc(16, 16));
	PROBE(reallocarray(NULL, size_max, 2));
	PROBE(reallocarray(NULL, four_gib, four_gib));
	PROBE(reallocarray(NULL, 0, size_max));
	PROBE(reallocarray(NULL, 10, 10));
}

/* A failed realloc must leave the old block untouched; a zero-size one frees it. */
static void probe_realloc(void)
{
	static const size_t huge[] = {SIZE_MAX, SIZE_MAX - 16, PTRDIFF_MAX, (size_t)PTRDIFF_MAX + 1,
	                              (size_t)PTRDIFF_MAX - 4096};
	for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
		for (size_t start = 24; start <= 300000; start *= 100) {
			unsigned char *block = malloc(start);
			memset(block, 0x5a, start);
			errno = 0;
			void *grown = realloc(block, huge[i]);
			int error = errno;
			size_t intact = 0;
			while (intact < start && block[intact] == 0x5a)
				intact++;
			printf("realloc(malloc(%zu), %#zx) %s errno=%s old_intact=%d\n", start, huge[i],
			       grown ? "ok  " : "NULL", error ? strerrorname_np(error) : "0",
			       (int)(intact == start));
			free(grown ? grown : block);
		}
	}

	void *cached = malloc(40);
	errno = 0;
	void *gone = realloc(cached, 0);
	int error = errno;
	void *again = malloc(40);
	printf("realloc(p, 0)                                %s errno=%s next_malloc_reuses_p=%d\n",
	       gone ? "ok  " : "NULL", error ? strerrorname_np(error) : "0", (int)(again == cached));
	free(again);

	void *mapped = malloc(300000);
	errno = 0;
	gone = realloc(mapped, 0);
	printf("realloc(mmapped, 0)                          %s errno=%s\n", gone ? "ok  " : "NULL",
	       errno ? strerrorname_np(errno) : "0");
	PROBE(realloc(NULL, 0));
	PROBE(realloc(NULL, size_max));
}

static void probe_posix_memalign(void)
{
	static const size_t alignments[] = {0,
	                                    1,
	                                    2,
	                                    4,
	                                    8,
	                                    16,
	                                    24,
	                                    48,
	                                    3,
	                                    64,
	                                    4096,
	                                    (size_t)1 << 62,
	                                    (size_t)1 << 63,
	                                    ((size_t)1 << 63) + 8,
	                                    SIZE_MAX};
	static const size_t sizes[] = {0, 1, 100, PTRDIFF_MAX, SIZE_MAX};
	void *const untouched = (void *)0x1234;
	for (size_t a = 0; a < sizeof alignments / sizeof alignments[0]; a++) {
		for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
			void *result = untouched;
			errno = 0;
			int code = posix_memalign(&result, alignments[a], sizes[s]);
			int error = errno;
			printf("posix_memalign(%#zx, %#zx) = %s errno=%s", alignments[a], sizes[s],
			       code ? strerrorname_np(code) : "0", error ? strerrorname_np(error) : "0");
			if (code == 0) {
				printf(" aligned=%d usable=%zu\n",
				       (int)((uintptr_t)result % (alignments[a] ? alignments[a] : 1) == 0),
				       malloc_usable_size(result));
				free(result);
			} else {
				printf(" out_untouched=%d\n", (int)(result == untouched));
			}
		}
	}
}

static void probe_memalign(void)
{
	static const size_t alignments[] = {0,
	                                    1,
	                                    3,
	                                    16,
	                                    24,
	                                    33,
	                                    100,
	                                    4096,
	                                    5000,
	                                    (size_t)1 << 62,
	                                    (size_t)1 << 63,
	                                    ((size_t)1 << 63) + 1,
	                                    SIZE_MAX};
	static const size_t sizes[] = {0, 10, PTRDIFF_MAX, SIZE_MAX - 64};
	for (size_t a = 0; a < sizeof alignments / sizeof alignments[0]; a++) {
		for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
			char what[80];
			errno = 0;
			void *result = memalign(alignments[a], sizes[s]);
			int error = errno;
			snprintf(what, sizeof what, "memalign(%#zx, %#zx)", alignments[a], sizes[s]);
			report(what, result, error);
			free(result);
			errno = 0;
			result = aligned_alloc(alignments[a], sizes[s]);
			error = errno;
			snprintf(what, sizeof what, "aligned_alloc(%#zx, %#zx)", alignments[a], sizes[s]);
			report(what, result, error);
			free(result);
		}
	}
	PROBE(valloc(0));
	PROBE(valloc(size_max));
	PROBE(valloc(ptrdiff_max));
	PROBE(pvalloc(0));
	PROBE(pvalloc(1));
	PROBE(pvalloc(size_max));
	PROBE(pvalloc(size_max - 4094));
	PROBE(pvalloc(size_max - 4095));
	PROBE(pvalloc(ptrdiff_max));
}

static void probe_misc(void)
{
	errno = EILSEQ;
	free(NULL);
	printf("free(NULL) keeps errno=%d\n", (int)(errno == EILSEQ));
	void *block = malloc(100);
	errno = EILSEQ;
	free(block);
	printf("free(p) keeps errno=%d\n", (int)(errno == EILSEQ));
	printf("malloc_usable_size(NULL)=%zu\n", malloc_usable_size(NULL));
	printf("mallopt(M_MXFAST, -1)=%d mallopt(M_MXFAST, 161)=%d mallopt(12345, 1)=%d\n",
	       mallopt(M_MXFAST, -1), mallopt(M_MXFAST, 161), mallopt(12345, 1));
	printf("malloc_info(1, stdout)=%d\n", malloc_info(1, stdout));
}

int main(void)
{
	report_malloc_provider();
	/* stdout is a pipe in the tests: one buffer allocated up front, not in the middle of a probe. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	probe_malloc();
	probe_calloc();
	probe_realloc();
	probe_posix_memalign();
	probe_memalign();
	probe_misc();
	return 0;
}
