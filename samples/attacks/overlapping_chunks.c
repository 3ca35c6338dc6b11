/* expect: exit 0
 * Overlapping chunks: a heap overflow grows `a`'s size over `b`; freed into the tcache of the bigger
 * size, it comes back from malloc covering `b`. */
#include "attack.h"

/* What the staged free() is about to free, for `heap check --free pending_free`. */
void *volatile pending_free;

int main(void)
{
	attack_begin();
	char *a = malloc(0x18), *b = malloc(0x18), *c = malloc(0x18);
	show("a", a);
	show("b", b);
	show("c", c);
	chunk_words(a)[1] = 0x41;
	pending_free = a;
	attack_staged("free(a) with a size that covers b");
	free(a);
	char *d = malloc(0x38);
	show("malloc(0x38)", d);
	printf("b inside it: %d\n", (int)(b > d && b < d + 0x38));
	return 0;
}
