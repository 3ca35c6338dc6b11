/* Use-after-free write into a tcache entry's `next`: the program toggles a flag in the first
   word of an object it already freed.  That word is the safe-linked `next` of the tcache entry,
   which now decodes to a misaligned address: the second malloc of that size aborts. */
#include "audit_point.h"
#include <stdint.h>
#include <stdlib.h>

struct node {
	uintptr_t flags;
	struct node *peer;
	char tag[8];
};

#define FLAG_DIRTY 0x8

int main(void)
{
	struct node *first = malloc(sizeof(struct node));
	struct node *second = malloc(sizeof(struct node));
	free(first);
	free(second);
	second->flags ^= FLAG_DIRTY; /* the use after free */
	audit_point();
	void *again = malloc(sizeof(struct node));
	void *poisoned = malloc(sizeof(struct node));
	free(again);
	free(poisoned);
	return 0;
}
