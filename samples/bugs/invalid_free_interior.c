/* Invalid free of an interior pointer: the program frees a pointer into the middle of a block
   (where a parser left it) instead of the block itself. */
#include "audit_point.h"
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *line = malloc(64);
	strcpy(line, "hello, world");
	char *word = strchr(line, 'w');
	pending_free = word;
	audit_point();
	free(pending_free);
	free(line);
	return 0;
}
