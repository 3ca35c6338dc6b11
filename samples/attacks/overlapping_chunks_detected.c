/* expect: abort "free(): invalid next size (normal)"
 * A grown size that ends inside `b`: the chunk "after" it has a size of 0 (with PREV_INUSE). */
#include "attack.h"

/* What the staged free() is about to free, for `heap check --free pending_free`. */
void *volatile pending_free;

int main(void)
{
	attack_begin();
	char *a = malloc(0x4f8), *b = malloc(0x4f8), *guard = malloc(24);
	show("a", a);
	show("b", b);
	show("guard", guard);
	chunk_words(a)[1] = 0x511;
	((size_t *)b)[1] = 1;
	pending_free = a;
	attack_staged("free(a) with a size that ends inside b");
	free(a);
	return 0;
}
