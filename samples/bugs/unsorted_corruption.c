/* Unsorted-bin corruption: a freed 0x510 chunk is the only one in the unsorted bin, and a stale
   pointer writes the address of a live object into its first word (the bin's fd link).  The
   next malloc walks the unsorted bin and finds fd and bk disagree. */
#include "audit_point.h"
#include <stdlib.h>
#include <string.h>

struct document {
	struct document *parent;
	char body[0x500 - sizeof(void *)];
};

int main(void)
{
	struct document *old = malloc(sizeof(struct document));
	struct document *live = malloc(sizeof(struct document));
	memset(live, 0x22, sizeof(struct document));
	free(old);
	old->parent = live; /* the use after free */
	audit_point();
	void *fresh = malloc(sizeof(struct document));
	free(fresh);
	free(live);
	return 0;
}
