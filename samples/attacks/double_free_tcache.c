/* expect: abort "free(): double free detected in tcache 2"
 * The plainest double free: the chunk is still in its tcache bin, and its key word says so. */
#include "attack.h"

/* What the staged free() is about to free, for `heap check --free pending_free`. */
void *volatile pending_free;

int main(void)
{
	attack_begin();
	char *a = malloc(40);
	show("a", a);
	free(a);
	pending_free = a;
	attack_staged("free(a) again");
	free(a);
	return 0;
}
