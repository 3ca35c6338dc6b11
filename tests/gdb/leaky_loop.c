/* A program that leaks at one known site on every turn of its loop, and also frees and reallocs
 * what it keeps, for `heap diff`.  It keeps its own table of every block it holds (in static
 * memory: the record must not allocate) and at each stop writes it, one "ADDRESS USABLE_SIZE
 * SITE BLOCK" line per block (BLOCK numbers each allocation: a block freed and another allocated at
 * its address have different numbers; a realloc in place keeps its block's), to the file argv[1] with the
 * stop's number appended, then calls leaky_loop_stop().  Nothing between the stops allocates but the loop
 * itself. */
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_HELD 4096

static struct {
	void *pointer;
	const char *site;
	unsigned long block;
} held[MAX_HELD];
static size_t held_count;
static unsigned long blocks_made;
static unsigned long random_state = 12345;

static unsigned long next_random(void)
{
	random_state = random_state * 6364136223846793005UL + 1442695040888963407UL;
	return random_state >> 33;
}

static void keep(void *pointer, const char *site)
{
	if (held_count == MAX_HELD)
		_exit(4);
	held[held_count].pointer = pointer;
	held[held_count].site = site;
	held[held_count].block = ++blocks_made;
	held_count++;
}

static void drop(size_t index) { held[index] = held[--held_count]; }

void __attribute__((noinline)) leaky_loop_stop(void) { __asm__ volatile("" ::: "memory"); }

/* The leak: every turn, a block nobody frees. */
static void __attribute__((noinline)) leak_site(void)
{
	void *leaked = malloc(40);
	memset(leaked, 0x5a, 40);
	keep(leaked, "leak");
}

static void turn(void)
{
	leak_site();
	void *scratch = malloc(24 + next_random() % 200);
	size_t size = 16 + next_random() % 1500;
	void *kept = malloc(size);
	memset(kept, 1, size);
	keep(kept, "kept");
	free(scratch);
	if (held_count > 8 && next_random() % 3 == 0) {
		size_t index = next_random() % held_count;
		if (strcmp(held[index].site, "leak") != 0) {
			free(held[index].pointer);
			drop(index);
		}
	}
	if (held_count > 8 && next_random() % 2 == 0) {
		size_t index = next_random() % held_count;
		if (strcmp(held[index].site, "leak") != 0) {
			void *moved = realloc(held[index].pointer, 16 + next_random() % 1500);
			if (moved == NULL)
				_exit(5);
			if (moved != held[index].pointer)
				held[index].block = ++blocks_made;
			held[index].pointer = moved;
		}
	}
}

static void write_record(const char *stem, int stop)
{
	char path[4096], line[128];
	snprintf(path, sizeof path, "%s%d", stem, stop);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		_exit(2);
	for (size_t i = 0; i < held_count; i++) {
		int length = snprintf(line, sizeof line, "%#lx %zu %s %lu\n", (unsigned long)held[i].pointer,
		                      malloc_usable_size(held[i].pointer), held[i].site, held[i].block);
		if (write(fd, line, (size_t)length) != length)
			_exit(3);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	for (int i = 0; i < 60; i++)
		turn();
	write_record(argv[1], 1);
	leaky_loop_stop();
	for (int i = 0; i < 40; i++)
		turn();
	write_record(argv[1], 2);
	leaky_loop_stop();
	return 0;
}
