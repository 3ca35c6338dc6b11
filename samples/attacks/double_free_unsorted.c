/* expect: abort "double free or corruption (!prev)"
 * A chunk too big for the tcache and the fastbins is freed twice: the next chunk's PREV_INUSE bit,
 * cleared by the first free, gives it away. */
#include "attack.h"

/* What the staged free() is about to free, for `heap check --free pending_free`. */
void *volatile pending_free;

int main(void)
{
	attack_begin();
	char *a = malloc(0x500);
	char *guard = malloc(24);
	show("a", a);
	show("guard", guard);
	free(a);
	pending_free = a;
	attack_staged("free(a) again (unsorted)");
	free(a);
	return 0;
}
