/* Tcache double free: the same pointer freed twice in a row.  The first free files the chunk in
   its tcache bin; the second is caught by glibc's tcache key check.  The heap itself is sound at
   the audit point: the bug is the pending call, judged by `heap check --free pending_free`. */
#include "audit_point.h"
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *session = malloc(24);
	strcpy(session, "token");
	free(session);
	pending_free = session;
	audit_point();
	free(pending_free);
	return 0;
}
