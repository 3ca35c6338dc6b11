/* expect: abort "free(): invalid pointer"
 * free() of a pointer into the middle of a block. */
#include "attack.h"

int main(void)
{
    attack_begin();
    char *a = malloc(0x40);
    show("a", a);
    attack_staged("free(a + 8)");
    free(a + 8);
    return 0;
}
