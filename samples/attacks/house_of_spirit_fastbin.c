/* expect: abort "free(): invalid next size (fast)"
 * House of Spirit with the tcache bin full, so the fake chunk goes to the fastbin path, which also
 * checks the size of the chunk after it: here that size is 0. */
#include "attack.h"

/* What the staged free() is about to free, for `heap check --free pending_free`. */
void *volatile pending_free;

int main(void)
{
	attack_begin();
	fill_tcache(56);
	fake_area[1] = 0x41;
	fake_area[9] = 0;
	pending_free = &fake_area[2];
	attack_staged("free(fake chunk) on the fastbin path");
	free(&fake_area[2]);
	return 0;
}
