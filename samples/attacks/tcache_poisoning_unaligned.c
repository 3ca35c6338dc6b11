/* expect: abort "malloc(): unaligned tcache chunk detected"
 * The same poisoning with a target that is not 16-aligned: tcache_get refuses it. */
#include "attack.h"

int main(void)
{
	attack_begin();
	char *a = malloc(56), *b = malloc(56);
	show("a", a);
	free(a);
	free(b);
	*(uintptr_t *)b = protect(b, (char *)target_area + 8);
	show("first malloc(56)", malloc(56));
	attack_staged("malloc from the poisoned head");
	show("second malloc(56)", malloc(56));
	return 0;
}
