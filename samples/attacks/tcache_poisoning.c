/* expect: exit 0
 * A freed tcache entry's next link overwritten with a correctly safe-linked pointer to a
 * 16-aligned target: the second malloc returns the target. */
#include "attack.h"

int main(void)
{
	attack_begin();
	char *a = malloc(56), *b = malloc(56);
	show("a", a);
	show("b", b);
	free(a);
	free(b);
	*(uintptr_t *)b = protect(b, target_area);
	attack_staged("malloc twice from the poisoned bin");
	show("first malloc(56)", malloc(56));
	show("second malloc(56)", malloc(56));
	return 0;
}
