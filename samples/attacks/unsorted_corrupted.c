/* expect: abort "malloc(): unsorted double linked list corrupted"
 * An unsorted chunk's bk overwritten (the old "unsorted bin attack"): the scan checks the links. */
#include "attack.h"

int main(void)
{
	attack_begin();
	char *a = malloc(0x4f8), *guard = malloc(24);
	show("a", a);
	show("guard", guard);
	free(a);
	((size_t *)a)[1] = (size_t)&target_area[0];
	attack_staged("malloc(0x600) scans the unsorted bin");
	show("malloc(0x600)", malloc(0x600));
	return 0;
}
