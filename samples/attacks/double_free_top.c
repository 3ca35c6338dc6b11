/* expect: abort "double free or corruption (top)"
 * The first free merged the chunk into top; the second free finds it is top. */
#include "attack.h"

/* What the staged free() is about to free, for `heap check --free pending_free`. */
void *volatile pending_free;

int main(void)
{
	attack_begin();
	char *a = malloc(0x500);
	show("a", a);
	free(a);
	pending_free = a;
	attack_staged("free(a) again (merged into top)");
	free(a);
	return 0;
}
