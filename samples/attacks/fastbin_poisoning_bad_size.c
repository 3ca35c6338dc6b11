/* expect: abort "malloc(): memory corruption (fast)"
 * Fastbin poisoning with a fake chunk of the wrong size, reached with calloc (which skips the tcache)
 * while the tcache bin is full, so the fake chunk is taken straight from the fastbin and checked. */
#include "attack.h"

int main(void)
{
	attack_begin();
	char *a = malloc(40);
	fill_tcache(40);
	show("a", a);
	free(a);
	fake_area[1] = 0x91; /* wrong size for this fastbin */
	fake_area[2] = protect(&fake_area[2], NULL);
	*(uintptr_t *)a = protect(a, &fake_area[0]);
	show("calloc(1, 40)", calloc(1, 40));
	attack_staged("calloc(1, 40) takes the fake chunk");
	show("calloc(1, 40)", calloc(1, 40));
	return 0;
}
