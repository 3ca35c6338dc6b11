/* Fastbin double free: with the 0x20 tcache bin full, a, b, a are freed.  glibc only compares
   with the first chunk of the fastbin, so the second free of `a` passes and the bin becomes the
   cycle a -> b -> a.  The audit sees the cycle; freeing `a` once more (it is now first) aborts. */
#include "audit_point.h"
#include <stdlib.h>

#define TCACHE_FILL 7

int main(void)
{
	void *fill[TCACHE_FILL];
	for (int i = 0; i < TCACHE_FILL; i++)
		fill[i] = malloc(24);
	char *a = malloc(24);
	char *b = malloc(24);
	void *guard = malloc(24);
	for (int i = 0; i < TCACHE_FILL; i++)
		free(fill[i]);
	free(a);
	free(b);
	pending_free = a;
	free(pending_free);
	audit_point();
	free(pending_free);
	free(guard);
	return 0;
}
