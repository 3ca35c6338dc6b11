/* Use-after-free write into a small bin's `bk`: a freed 0x90 chunk sits in its small bin (the
   tcache bin of that size is emptied again first) and the program stores a pointer to a live
   object into the freed one's second word, which is the bin's bk link.  The next malloc of
   that size takes the chunk from the bin and finds the list broken. */
#include "audit_point.h"
#include <stdlib.h>
#include <string.h>

#define TCACHE_FILL 7
#define REQUEST 0x88

struct entry {
	struct entry *next;
	struct entry *owner;
	char payload[REQUEST - 2 * sizeof(void *)];
};

int main(void)
{
	void *fill[TCACHE_FILL];
	for (int i = 0; i < TCACHE_FILL; i++)
		fill[i] = malloc(REQUEST);
	struct entry *victim = malloc(REQUEST);
	struct entry *live = malloc(REQUEST);
	memset(live, 0x11, REQUEST);
	for (int i = 0; i < TCACHE_FILL; i++)
		free(fill[i]);
	free(victim);                /* tcache full: to the unsorted bin */
	void *large = malloc(0x500); /* sorts the victim into small bin 0x90 */
	for (int i = 0; i < TCACHE_FILL; i++)
		fill[i] = malloc(REQUEST); /* empties the tcache bin again */
	victim->owner = live;              /* the use after free: bk now points at a live object */
	audit_point();
	void *taken = malloc(REQUEST);
	free(taken);
	free(large);
	return 0;
}
