/* Off-by-one NUL: a buffer of 0x108 usable bytes is terminated at index 0x108, which is the low
   byte of the next chunk's size field.  The next chunk's PREV_INUSE bit goes, so freeing it
   tries to merge backwards with a chunk that is in use, using a prev_size of 0. */
#include "audit_point.h"
#include <stdlib.h>
#include <string.h>

#define CAPACITY 0x108

int main(void)
{
	char *name = malloc(CAPACITY);
	char *next = malloc(0x4f8);
	void *guard = malloc(32);
	memcpy(name, "short name", 10);
	name[CAPACITY] = '\0'; /* the bug: terminates at the capacity, one past the end */
	pending_free = next;
	audit_point();
	free(pending_free);
	free(name);
	free(guard);
	return 0;
}
