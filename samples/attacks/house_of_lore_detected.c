/* expect: abort "malloc(): smallbin double linked list corrupted"
 * House of Lore without the back link: the fake chunk's fd does not point at the victim. */
#include "attack.h"

int main(void)
{
	attack_begin();
	char *victim = malloc(0x100);
	char *guard = malloc(24);
	show("victim", victim);
	show("guard", guard);
	fill_tcache(0x100);
	free(victim);
	show("malloc(0x200)", malloc(0x200));
	empty_tcache(0x100);
	fake_area[1] = 0x111;
	fake_area[2] = (size_t)&fake_area[40];
	((size_t *)victim)[1] = (size_t)&fake_area[0];
	attack_staged("malloc(0x100) from the corrupted small bin");
	show("malloc(0x100)", malloc(0x100));
	return 0;
}
