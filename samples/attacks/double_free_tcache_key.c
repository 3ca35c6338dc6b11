/* expect: exit 0
 * A double free that wipes the tcache key first (a use-after-free write of 8 bytes): the free no
 * longer sees the chunk as cached, so it goes in twice and malloc hands the same block out twice. */
#include "attack.h"

/* What the staged free() is about to free, for `heap check --free pending_free`. */
void *volatile pending_free;

int main(void)
{
	attack_begin();
	char *a = malloc(40);
	show("a", a);
	free(a);
	((size_t *)a)[1] = 0; /* tcache_entry.key */
	pending_free = a;
	attack_staged("free(a) with its key wiped");
	free(a);
	show("first malloc(40)", malloc(40));
	show("second malloc(40)", malloc(40));
	show("third malloc(40)", malloc(40));
	return 0;
}
