/* expect: abort "corrupted double-linked list"
 * The classic pre-2.3.4 unlink (fd/bk pointing at arbitrary targets) against the modern check. */
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
	chunk0[1] = 0x3f0;
	chunk0[2] = (size_t)&target_area[0];
	chunk0[3] = (size_t)&target_area[8];
	chunk_words(chunk1)[0] = 0x3f0;
	chunk_words(chunk1)[1] &= ~(size_t)1;
	pending_free = chunk1;
	attack_staged("free(chunk1) unlinks a fake chunk with wild links");
	free(chunk1);
	return 0;
}
