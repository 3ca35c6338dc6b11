/* A program that never stops by itself: it allocates and frees in a loop, so gdb's `run &`
   leaves it running while the heap commands are asked (tests/gdb/test_running.py). */
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	for (;;) {
		void *volatile block = malloc(100);
		free(block);
		usleep(1000);
	}
}
