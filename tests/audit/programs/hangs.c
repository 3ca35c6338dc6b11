/* A program that never ends: ptmalloc-audit must stop it at its --timeout. */
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	void *block = malloc(32);
	for (;;)
		pause();
	free(block);
}
