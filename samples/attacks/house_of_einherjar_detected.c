/* expect: abort "corrupted size vs. prev_size while consolidating"
 * House of Einherjar with a fake chunk whose size does not match the planted prev_size. */
#include "attack.h"

/* What the staged free() is about to free, for `heap check --free pending_free`. */
void *volatile pending_free;

int main(void)
{
	attack_begin();
	size_t *a = malloc(0x38);
	char *b = malloc(0x4f8);
	show("a", a);
	show("b", b);
	a[1] = 0x40;
	a[2] = (size_t)a;
	a[3] = (size_t)a;
	a[6] = 0x30;
	chunk_words(b)[1] &= ~(size_t)1;
	pending_free = b;
	attack_staged("free(b) consolidates into a mis-sized fake chunk");
	free(b);
	return 0;
}
