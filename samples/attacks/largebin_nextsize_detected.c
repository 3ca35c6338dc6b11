/* expect: abort "malloc(): largebin double linked list corrupted (nextsize)"
 * A larger chunk is filed in front of p1, whose bk_nextsize was redirected to a fake chunk that does
 * not point back. */
#include "attack.h"

int main(void)
{
	attack_begin();
	char *p1 = malloc(0x418);
	char *g1 = malloc(0x18);
	char *p2 = malloc(0x428);
	char *g2 = malloc(0x18);
	show("p1", p1);
	show("g1", g1);
	show("p2", p2);
	show("g2", g2);
	free(p1);
	show("malloc(0x438)", malloc(0x438));
	free(p2);
	((size_t *)p1)[3] = (size_t)&fake_area[0];
	attack_staged("malloc(0x438) files p2 in front of the corrupted p1");
	show("malloc(0x438)", malloc(0x438));
	return 0;
}
