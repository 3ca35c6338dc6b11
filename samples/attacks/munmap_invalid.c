/* expect: abort "munmap_chunk(): invalid pointer"
 * An mmapped chunk's prev_size (its offset in the mapping) corrupted: the mapping it describes would
 * not be page-aligned. */
#include "attack.h"

/* What the staged free() is about to free, for `heap check --free pending_free`. */
void *volatile pending_free;

int main(void)
{
	attack_begin();
	char *a = malloc(0x30000);
	printf("a is mmapped: %d\n", (int)((chunk_words(a)[1] & 2) != 0));
	chunk_words(a)[0] = 8;
	pending_free = a;
	attack_staged("free(mmapped a)");
	free(a);
	return 0;
}
