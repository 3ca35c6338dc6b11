/* expect: abort "free(): too many chunks detected in tcache"
 * A tcache bin turned into a loop, then a double free: the duplicate scan must give up after
 * tcache_count entries instead of walking the loop forever. */
#include "attack.h"

int main(void)
{
    attack_begin();
    char *a = malloc(72), *b = malloc(72);
    show("a", a);
    show("b", b);
    free(a);
    free(b);
    *(uintptr_t *)b = protect(b, b); /* b->next = b */
    attack_staged("free(a) again");
    free(a);
    return 0;
}
