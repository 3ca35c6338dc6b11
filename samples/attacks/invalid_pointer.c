/* expect: abort "free(): invalid pointer"
 * free() of a pointer into the middle of a block. */
#include "attack.h"

/* What the staged free() is about to free, for `heap check --free pending_free`. */
void *volatile pending_free;

int main(void)
{
	attack_begin();
	char *a = malloc(0x40);
	show("a", a);
	pending_free = a + 8;
	attack_staged("free(a + 8)");
	free(a + 8);
	return 0;
}
