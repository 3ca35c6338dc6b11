/* expect: exit 0
 * free(a), free(b), free(a) into a fastbin: a is not the head the second time, so nothing notices.
 * The fastbin now holds a -> b -> a; malloc hands a out twice. */
#include "attack.h"

/* What the staged free() is about to free, for `heap check --free pending_free`. */
void *volatile pending_free;

int main(void)
{
	attack_begin();
	char *a = malloc(40), *b = malloc(40);
	fill_tcache(40);
	show("a", a);
	show("b", b);
	free(a);
	free(b);
	pending_free = a;
	attack_staged("free(a) again (not the fastbin head)");
	free(a);
	empty_tcache(40);
	show("malloc #1", malloc(40));
	show("malloc #2", malloc(40));
	show("malloc #3", malloc(40));
	show("malloc #4", malloc(40));
	return 0;
}
