/* Corrupted top size: the last block before the top chunk is overrun by 8 bytes of 0xff, which
   land on top's size field (the start of a "house of force").  The next malloc that has to
   carve from top checks its size against the arena's system memory. */
#include "audit_point.h"
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *last = malloc(0x18);
	memset(last, 0xff, 0x18 + 8);
	audit_point();
	void *big = malloc(0x500);
	free(big);
	free(last);
	return 0;
}
