/* expect: abort "free(): too many chunks detected in tcache"
 * A tcache bin turned into a loop, then a double free: the duplicate scan must give up after
 * tcache_count entries instead of walking the loop forever. */
#include "attack.h"

/* What the staged free() is about to free, for `heap check --free pending_free`. */
void *volatile pending_free;

int main(void)
{
	attack_begin();
	char *a = malloc(72), *b = malloc(72);
	show("a", a);
	show("b", b);
	free(a);
	free(b);
	*(uintptr_t *)b = protect(b, b); /* b->next = b */
	pending_free = a;
	attack_staged("free(a) again");
	free(a);
	return 0;
}
