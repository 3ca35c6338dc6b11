/* expect: exit 0
 * House of Spirit: free() of a fake chunk built outside the heap.  The tcache path only checks the
 * pointer's alignment and the size, so the fake chunk is cached and malloc returns it. */
#include "attack.h"

/* What the staged free() is about to free, for `heap check --free pending_free`. */
void *volatile pending_free;

int main(void)
{
	attack_begin();
	fake_area[1] = 0x41;
	fake_area[9] = 0x1234; /* a plausible next size, for good measure */
	pending_free = &fake_area[2];
	attack_staged("free(fake chunk)");
	free(&fake_area[2]);
	show("malloc(56)", malloc(56));
	return 0;
}
