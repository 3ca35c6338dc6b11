/* A leak: blocks are allocated in a loop and the pointers dropped.  glibc never notices, so the
   program exits normally; the heap is consistent.  `heap check --leaks` finds the in-use chunks
   nothing points at any more. */
#include "audit_point.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEAKED 6

static char *kept;

__attribute__((noinline)) static void build_messages(void)
{
	for (int i = 0; i < LEAKED; i++) {
		char *message = malloc(200);
		snprintf(message, 200, "message %d", i);
		message = NULL; /* the bug: nothing frees or keeps it */
	}
	kept = malloc(200);
	strcpy(kept, "kept");
}

int main(void)
{
	build_messages();
	audit_point();
	free(kept);
	return 0;
}
