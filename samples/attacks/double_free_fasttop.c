/* expect: abort "double free or corruption (fasttop)"
 * With the tcache bin full the chunk goes to its fastbin; freeing it again while it is the head is
 * the one double free the fastbin notices. */
#include "attack.h"

/* What the staged free() is about to free, for `heap check --free pending_free`. */
void *volatile pending_free;

int main(void)
{
	attack_begin();
	char *a = malloc(40);
	fill_tcache(40);
	show("a", a);
	free(a);
	pending_free = a;
	attack_staged("free(a) again (fastbin head)");
	free(a);
	return 0;
}
