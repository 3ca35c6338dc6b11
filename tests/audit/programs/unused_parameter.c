/* Has an unused parameter: a warning, not an error, when ptmalloc-audit builds a program's .c
   (user code is built without -Werror), so it is audited. */
#include <stdlib.h>

static int twice(int value, int unused) { return value * 2; }

int main(void)
{
	free(malloc(16));
	return twice(0, 1);
}
