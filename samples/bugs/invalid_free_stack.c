/* Invalid free of a stack address: a function frees a buffer that lives on its own stack.  The
   words before the buffer are zero, as they would be in a freshly cleared local struct. */
#include "audit_point.h"
#include <stdlib.h>
#include <string.h>

struct request {
	size_t header[2];
	char name[32];
};

int main(void)
{
	void *unrelated = malloc(40); /* the heap exists, as in any real program */
	struct request request;
	memset(&request, 0, sizeof(request));
	strcpy(request.name, "local");
	pending_free = request.name;
	audit_point();
	free(pending_free);
	free(unrelated);
	return 0;
}
