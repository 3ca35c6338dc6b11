/* Heap overflow into the next chunk's size: a copy 8 bytes too long runs from `record` over the
   size field of the chunk after it.  Freeing `record` then checks its neighbour's size. */
#include "audit_point.h"
#include <stdlib.h>
#include <string.h>

#define RECORD_SIZE 0x500

int main(void)
{
	char *record = malloc(RECORD_SIZE);
	char *neighbour = malloc(RECORD_SIZE);
	void *guard = malloc(32);
	/* usable size is RECORD_SIZE + 8; the copy writes 8 bytes more */
	memset(record, 'A', RECORD_SIZE + 16);
	pending_free = record;
	audit_point();
	free(pending_free);
	free(neighbour);
	free(guard);
	return 0;
}
