/* expect: abort "malloc(): corrupted top size"
 * House of Force: the top chunk's size overwritten with -1.  glibc 2.29+ refuses a top larger than
 * the arena's system memory. */
#include "attack.h"

int main(void)
{
	attack_begin();
	char *a = malloc(0x18);
	show("a", a);
	chunk_words(a + 0x20)[1] = (size_t)-1; /* top follows a */
	attack_staged("malloc(0x1000) from the forged top");
	show("malloc(0x1000)", malloc(0x1000));
	return 0;
}
