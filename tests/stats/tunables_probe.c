/*
 * Initialises malloc, applies the mallopt calls named on the command line ("PARAM:VALUE", both
 * decimal integers) and stops in probe_checkpoint(), where the tunables test reads mp_,
 * global_max_fast and perturb_byte with gdb, from glibc or from the clone, the same way.
 * mallopt's return values are kept in mallopt_results for gdb to read too.
 *
 * --malloc-info-options checks malloc_info's refusal of non-zero options instead.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CALLS 64

int mallopt_results[MAX_CALLS];
int mallopt_calls;

/* gdb stops here; noinline and the asm keep the call and the frame. */
__attribute__((noinline)) void probe_checkpoint(void) { __asm__ volatile("" ::: "memory"); }

static int check_malloc_info_options(void)
{
	static char text[4096];
	FILE *out = fmemopen(text, sizeof text, "w");
	if (out == NULL)
		return 2;
	setvbuf(out, NULL, _IONBF, 0);
	int result = malloc_info(1, out);
	long written = ftell(out);
	fclose(out);
	printf("malloc_info(1) = %d, wrote %ld bytes\n", result, written);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--malloc-info-options") == 0)
		return check_malloc_info_options();
	free(malloc(1));
	for (int i = 1; i < argc && mallopt_calls < MAX_CALLS; i++) {
		char *separator = strchr(argv[i], ':');
		if (separator == NULL) {
			fprintf(stderr, "bad mallopt argument %s\n", argv[i]);
			return 2;
		}
		int param = atoi(argv[i]);
		int value = atoi(separator + 1);
		mallopt_results[mallopt_calls++] = mallopt(param, value);
	}
	probe_checkpoint();
	return 0;
}
