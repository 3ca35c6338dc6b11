/* A program that loses its only pointer to a block (a leak for `heap check --leaks`). */
#include <stdlib.h>
#include <string.h>

char *kept;

int main(void)
{
	kept = malloc(64);
	char *lost = malloc(200);
	memset(lost, 1, 200);
	lost = NULL;
	strcpy(kept, "kept");
	return kept[0] == 'k' ? 0 : 1;
}
