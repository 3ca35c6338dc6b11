/* Which shared object answers malloc in this process: a preload that silently failed to load would
 * otherwise turn every clone-versus-glibc comparison into glibc-versus-glibc. */
#ifndef ROBUST_MALLOC_PROVIDER_H
#define ROBUST_MALLOC_PROVIDER_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void report_malloc_provider(void)
{
	Dl_info info;
	void *(*volatile entry)(size_t) = malloc;
	const char *name = "unknown";
	if (dladdr((void *)entry, &info) != 0 && info.dli_fname != NULL) {
		const char *slash = strrchr(info.dli_fname, '/');
		name = slash ? slash + 1 : info.dli_fname;
	}
	fprintf(stderr, "malloc provider: %s\n", name);
}

#endif
