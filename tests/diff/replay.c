/*
 * Replays an allocation trace (written by trace_gen) and prints what the allocator answered, in a
 * form that does not depend on address-space randomisation: heap pointers as offsets from the
 * initial program break, mmapped chunks by their usable size, failures by errno.  Running it once
 * on glibc and once with the clone preloaded must give byte-identical output.
 *
 * The replayer must not allocate outside the trace, or it would perturb the very addresses it
 * reports: no stdio, output through a static buffer and write(2), /proc/self/maps read with
 * open/read.  After the trace it names the object that defines each allocator entry point, so a
 * run that silently fell back to glibc's malloc is caught by the test.
 *
 * The brk start is randomised only at page granularity, so a block aligned to more than a page
 * would land at an offset that depends on the random start: the replayer re-executes itself with
 * address randomisation off, which makes the initial break the same on every run.
 *
 * usage: replay [--providers] [--content] < TRACE
 *
 * Trace lines (one operation each, numbers in decimal):
 *   o PARAM VALUE          mallopt              m SLOT SIZE            malloc
 *   c SLOT COUNT SIZE      calloc               r SLOT SIZE            realloc
 *   a SLOT ALIGN SIZE      memalign             p SLOT ALIGN SIZE      posix_memalign
 *   A SLOT ALIGN SIZE      aligned_alloc        v SLOT SIZE            valloc
 *   P SLOT SIZE            pvalloc              f SLOT                 free
 *   t PAD                  malloc_trim          i                      mallinfo2
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <unistd.h>

#include "raw_output.h"

/* glibc before 2.33 (built against 2.31, mk/diff_2_31.mk) has only mallinfo, with int fields. */
#if __GLIBC_PREREQ(2, 33)
#define MALLINFO mallinfo2
#define MALLINFO_NAME "mallinfo2"
#else
#define MALLINFO mallinfo
#define MALLINFO_NAME "mallinfo"
#endif

#define MAX_SLOTS 4096
#define TRACE_CAPACITY (32u << 20)
#define MAPS_CAPACITY (1u << 20)

static char trace_text[TRACE_CAPACITY];
static char maps_text[MAPS_CAPACITY];

struct slot {
	unsigned char *pointer;
	size_t size;            /* bytes the trace asked for: the part the program may rely on */
	uint64_t tag;           /* written at both ends of the block, checked before it is given back */
	bool address_dependent; /* mmapped with an alignment above a page: see report_result */
};
static struct slot slots[MAX_SLOTS];

static bool show_content; /* --content: summarise what each new block holds before it is written */
static uintptr_t heap_start;
static uintptr_t heap_end; /* end of [heap] when last looked at; refreshed on a miss */

static unsigned long current_operation;

/* Says why the replay cannot go on, on stdout (so it lands in the compared output) and stderr. */
static _Noreturn void fail(const char *message)
{
	put_text("replay: operation ");
	put_number(current_operation, 10);
	put_text(": ");
	put_text(message);
	put_text("\n");
	flush_output();
	if (write(STDERR_FILENO, message, strlen(message)) < 0)
		_exit(2);
	_exit(2);
}

static size_t read_whole_file(int fd, char *buffer, size_t capacity)
{
	size_t used = 0;
	for (;;) {
		if (used == capacity - 1)
			fail("input too large");
		ssize_t got = read(fd, buffer + used, capacity - 1 - used);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			fail("read failed");
		if (got == 0)
			break;
		used += (size_t)got;
	}
	buffer[used] = '\0';
	return used;
}

static uint64_t parse_hex(const char **cursor)
{
	uint64_t value = 0;
	for (;;) {
		char c = **cursor;
		if (c >= '0' && c <= '9')
			value = value * 16 + (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			value = value * 16 + (uint64_t)(c - 'a' + 10);
		else
			return value;
		(*cursor)++;
	}
}

/* Looks up the [heap] mapping; false when the program break has never moved. */
static bool find_heap_mapping(uintptr_t *start, uintptr_t *end)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("cannot open /proc/self/maps");
	size_t length = read_whole_file(fd, maps_text, sizeof maps_text);
	close(fd);
	const char *line = maps_text;
	while (line < maps_text + length) {
		const char *line_end = strchr(line, '\n');
		if (line_end == NULL)
			line_end = maps_text + length;
		if (line_end - line > 6 && memcmp(line_end - 6, "[heap]", 6) == 0) {
			const char *cursor = line;
			*start = parse_hex(&cursor);
			cursor++;
			*end = parse_hex(&cursor);
			return true;
		}
		line = line_end + 1;
	}
	return false;
}

/* The heap start is the initial program break: the start of [heap] once it exists, and before
   that the break itself, which nothing has moved yet. */
static void locate_heap_start(void)
{
	uintptr_t start, end;
	if (find_heap_mapping(&start, &end)) {
		heap_start = start;
		heap_end = end;
	} else {
		heap_start = (uintptr_t)sbrk(0);
		heap_end = heap_start;
	}
}

static bool in_heap(const void *pointer)
{
	uintptr_t address = (uintptr_t)pointer;
	if (address >= heap_start && address < heap_end)
		return true;
	uintptr_t start, end;
	if (!find_heap_mapping(&start, &end))
		return false;
	if (start != heap_start)
		fail("[heap] does not start at the initial program break");
	heap_end = end;
	return address >= heap_start && address < heap_end;
}

static uint64_t make_tag(unsigned long operation, unsigned long slot_number)
{
	uint64_t mixed = (operation + 1) * 0x9e3779b97f4a7c15ull ^ (slot_number + 1) * 0xbf58476d1ce4e5b9ull;
	return mixed | 1; /* never all zero, so a zeroed block cannot pass for a tagged one */
}

static void write_tag(struct slot *slot)
{
	if (slot->size >= 16) {
		memcpy(slot->pointer, &slot->tag, 8);
		memcpy(slot->pointer + slot->size - 8, &slot->tag, 8);
	} else if (slot->size > 0) {
		slot->pointer[0] = (unsigned char)slot->tag;
	}
}

/* Checks that the block still holds what the program wrote; keep_end is false after a shrinking
   realloc, which legitimately cut the end tag off. */
static bool tag_intact(const struct slot *slot, size_t preserved_size, bool keep_end)
{
	if (slot->size >= 16) {
		if (preserved_size >= 8 && memcmp(slot->pointer, &slot->tag, 8) != 0)
			return false;
		if (keep_end && memcmp(slot->pointer + slot->size - 8, &slot->tag, 8) != 0)
			return false;
	} else if (slot->size > 0 && preserved_size > 0) {
		if (slot->pointer[0] != (unsigned char)slot->tag)
			return false;
	}
	return true;
}

static void report_corruption(unsigned long operation, unsigned long slot_number)
{
	put_number(operation, 10);
	put_text(" content-lost slot ");
	put_number(slot_number, 10);
	put_text("\n");
}

/* The size of the whole mapping behind an mmapped chunk: glibc's layout keeps the bytes in front
   of an aligned chunk in its prev_size word. */
static size_t mapping_size(const void *pointer)
{
	const size_t *header = (const size_t *)pointer - 2;
	return header[0] + (header[1] & ~(size_t)7);
}

enum placement { PLACEMENT_FIXED, ALIGNED_MAPPING, RESIZED_ALIGNED_MAPPING };

/* One output line for a returned pointer.  An mmapped chunk aligned to more than a page starts
   at an offset that depends on where the kernel put the mapping, which the preloaded library
   itself shifts: only its mapping size is comparable, and not even that once mremap resized it
   (the new size counts the random offset). */
static void report_result(unsigned long operation, void *pointer, int saved_errno, enum placement placement)
{
	put_number(operation, 10);
	if (pointer == NULL) {
		put_text(" null errno=");
		put_number((uint64_t)saved_errno, 10);
	} else if (in_heap(pointer)) {
		put_text(" h ");
		put_number((uintptr_t)pointer - heap_start, 16);
		put_text(" ");
		put_number(malloc_usable_size(pointer), 10);
	} else if (placement == ALIGNED_MAPPING) {
		put_text(" m mapping ");
		put_number(mapping_size(pointer), 10);
	} else if (placement == RESIZED_ALIGNED_MAPPING) {
		put_text(" m resized aligned mapping");
	} else {
		put_text(" m ");
		put_number(mapping_size(pointer), 10);
		put_text(" ");
		put_number(malloc_usable_size(pointer), 10);
	}
	put_text("\n");
}

/* What a fresh block holds is only partly the allocator's business: with perturbing on, glibc
   fills blocks that come out of _int_malloc with perturb ^ 0xff, but a block handed back from the
   tcache keeps whatever its earlier lives left in it (free fills, old headers, safe-linked
   pointers, this replayer's end tags).  So the signature compared is taken over the 8-byte words
   at 16..511 that hold one byte repeated, the fills' mark: their most frequent byte and how many
   words hold it.  A missing, wrong or misplaced fill changes it.  Stale pointers are never such
   words, whole or in part: a bin link into main_arena, cut short by an end tag written over its
   top bytes in a later life, leaves low bytes that depend on where the allocator's library put
   main_arena, and counting bytes one by one would compare those.  A word that the requested size
   cuts is judged on all its 8 bytes (the block's usable size covers every word it starts). */
static bool uniform_word(const unsigned char *word)
{
	for (int i = 1; i < 8; i++)
		if (word[i] != word[0])
			return false;
	return true;
}

static void report_content(unsigned long operation, const unsigned char *block, size_t size)
{
	size_t end = size < 512 ? size : 512;
	size_t readable = malloc_usable_size((void *)block);
	unsigned counts[256] = {0};
	for (size_t word = 16; word < end && word + 8 <= readable; word += 8)
		if (uniform_word(block + word))
			counts[block[word]]++;
	unsigned most_frequent = 0;
	for (unsigned value = 1; value < 256; value++)
		if (counts[value] > counts[most_frequent])
			most_frequent = value;
	put_number(operation, 10);
	put_text(" content ");
	put_number(most_frequent, 16);
	put_text(" x");
	put_number(counts[most_frequent], 10);
	put_text("\n");
}

static bool calloc_block_is_zero(const struct slot *slot)
{
	size_t probes[] = {0, slot->size / 2, slot->size - 1};
	for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
		if (slot->size > 0 && slot->pointer[probes[i]] != 0)
			return false;
	return true;
}

static void store_result(unsigned long operation, unsigned long slot_number, void *pointer, size_t size,
                         bool check_zero)
{
	struct slot *slot = &slots[slot_number];
	slot->pointer = pointer;
	slot->size = pointer == NULL ? 0 : size;
	slot->tag = make_tag(operation, slot_number);
	slot->address_dependent = false;
	if (pointer == NULL)
		return;
	if (check_zero && !calloc_block_is_zero(slot)) {
		put_number(operation, 10);
		put_text(" calloc-not-zero\n");
	}
	write_tag(slot);
}

static uint64_t parse_number(const char **cursor)
{
	while (**cursor == ' ')
		(*cursor)++;
	bool negative = **cursor == '-';
	if (negative)
		(*cursor)++;
	uint64_t value = 0;
	while (**cursor >= '0' && **cursor <= '9')
		value = value * 10 + (uint64_t)(*(*cursor)++ - '0');
	return negative ? (uint64_t)0 - value : value;
}

static unsigned long parse_slot(const char **cursor)
{
	uint64_t slot_number = parse_number(cursor);
	if (slot_number >= MAX_SLOTS)
		fail("slot number out of range");
	return (unsigned long)slot_number;
}

static void release_slot(unsigned long operation, unsigned long slot_number)
{
	struct slot *slot = &slots[slot_number];
	if (slot->pointer != NULL && !tag_intact(slot, slot->size, true))
		report_corruption(operation, slot_number);
	free(slot->pointer);
	slot->pointer = NULL;
	slot->size = 0;
}

static void replay_realloc(unsigned long operation, unsigned long slot_number, size_t new_size)
{
	struct slot *slot = &slots[slot_number];
	struct slot old = *slot;
	if (old.pointer != NULL && !tag_intact(&old, old.size, true))
		report_corruption(operation, slot_number);
	errno = 0;
	void *result = realloc(old.pointer, new_size);
	int saved_errno = errno;
	bool address_dependent = result != NULL && old.address_dependent && !in_heap(result);
	report_result(operation, result, saved_errno,
	              address_dependent ? RESIZED_ALIGNED_MAPPING : PLACEMENT_FIXED);
	if (result == NULL) {
		/* realloc(p, 0) freed p; any other failure left the old block alone */
		if (new_size == 0 || old.pointer == NULL)
			slot->pointer = NULL, slot->size = 0;
		return;
	}
	if (new_size == 0) {
		/* realloc(NULL, 0) is malloc(0); the trace treats any size-0 realloc as the end of the
		   slot, so give that block straight back */
		free(result);
		slot->pointer = NULL, slot->size = 0;
		return;
	}
	struct slot moved = old;
	moved.pointer = result;
	size_t preserved = old.size < new_size ? old.size : new_size;
	if (old.pointer != NULL && !tag_intact(&moved, preserved, new_size >= old.size))
		report_corruption(operation, slot_number);
	store_result(operation, slot_number, result, new_size, false);
	slot->address_dependent = address_dependent;
}

static void replay_line(unsigned long operation, const char *cursor)
{
	char kind = *cursor++;
	unsigned long slot_number;
	uint64_t first, second;
	void *result = NULL;
	int saved_errno;

	switch (kind) {
	case 'o': {
		int param = (int)parse_number(&cursor);
		int value = (int)parse_number(&cursor);
		int answer = mallopt(param, value);
		put_number(operation, 10);
		put_text(" mallopt ");
		put_signed(param);
		put_text(" ");
		put_signed(value);
		put_text(" -> ");
		put_signed(answer);
		put_text("\n");
		return;
	}
	case 'f':
		release_slot(operation, parse_slot(&cursor));
		return;
	case 'r':
		slot_number = parse_slot(&cursor);
		replay_realloc(operation, slot_number, parse_number(&cursor));
		return;
	case 't': {
		int answer = malloc_trim(parse_number(&cursor));
		put_number(operation, 10);
		put_text(" trim ");
		put_signed(answer);
		put_text("\n");
		return;
	}
	case 'i': {
		struct MALLINFO info = MALLINFO();
		size_t fields[] = {info.arena,   info.ordblks, info.smblks,   info.hblks,    info.hblkhd,
		                   info.usmblks, info.fsmblks, info.uordblks, info.fordblks, info.keepcost};
		put_number(operation, 10);
		put_text(" " MALLINFO_NAME);
		for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
			put_text(" ");
			put_number(fields[i], 10);
		}
		put_text("\n");
		return;
	}
	default:
		break;
	}

	slot_number = parse_slot(&cursor);
	if (slots[slot_number].pointer != NULL)
		fail("trace allocates into an occupied slot");
	first = parse_number(&cursor);
	errno = 0;
	switch (kind) {
	case 'm':
		result = malloc(first);
		second = first;
		break;
	case 'c':
		second = parse_number(&cursor);
		result = calloc(first, second);
		second = first * second;
		break;
	case 'a':
		second = parse_number(&cursor);
		result = memalign(first, second);
		break;
	case 'A':
		second = parse_number(&cursor);
		result = aligned_alloc(first, second);
		break;
	case 'p': {
		second = parse_number(&cursor);
		int answer = posix_memalign(&result, first, second);
		if (answer != 0)
			result = NULL;
		put_number(operation, 10);
		put_text(" posix_memalign -> ");
		put_number((uint64_t)answer, 10);
		put_text("\n");
		break;
	}
	case 'v':
		result = valloc(first);
		second = first;
		break;
	case 'P':
		result = pvalloc(first);
		second = first;
		break;
	default:
		fail("unknown operation in trace");
	}
	saved_errno = errno;
	if (show_content && result != NULL)
		report_content(operation, result, second);
	bool aligned_kind = kind == 'a' || kind == 'A' || kind == 'p';
	bool address_dependent = aligned_kind && first > 4096 && result != NULL && !in_heap(result);
	report_result(operation, result, saved_errno, address_dependent ? ALIGNED_MAPPING : PLACEMENT_FIXED);
	if (result != NULL && (kind == 'a' || kind == 'A' || kind == 'p') && first != 0 &&
	    (first & (first - 1)) == 0 && (uintptr_t)result % first != 0) {
		put_number(operation, 10);
		put_text(" misaligned\n");
	}
	store_result(operation, slot_number, result, second, kind == 'c');
	slots[slot_number].address_dependent = address_dependent;
}

/* Names the object that defines each entry point the trace can reach. */
static void report_providers(void)
{
	static const char *const entry_points[] = {
	    "malloc",         "free",          "calloc",      "realloc", "memalign",
	    "posix_memalign", "aligned_alloc", "valloc",      "pvalloc", "malloc_usable_size",
	    "mallopt",        "malloc_trim",   MALLINFO_NAME,
	};
	for (size_t i = 0; i < sizeof entry_points / sizeof entry_points[0]; i++) {
		void *address = dlsym(RTLD_DEFAULT, entry_points[i]);
		Dl_info info;
		const char *provider = "unknown";
		if (address != NULL && dladdr(address, &info) != 0 && info.dli_fname != NULL) {
			const char *slash = strrchr(info.dli_fname, '/');
			provider = slash != NULL ? slash + 1 : info.dli_fname;
		}
		put_text("provider ");
		put_text(entry_points[i]);
		put_text(" ");
		put_text(provider);
		put_text("\n");
	}
}

/* Runs the program again without address randomisation, once. */
static void disable_randomisation(char **argv)
{
	int current = personality(0xffffffff);
	if (current == -1 || (current & ADDR_NO_RANDOMIZE) != 0)
		return;
	if (personality((unsigned long)current | ADDR_NO_RANDOMIZE) == -1)
		return;
	execv("/proc/self/exe", argv);
	fail("cannot re-execute without address randomisation");
}

int main(int argc, char **argv)
{
	disable_randomisation(argv);
	bool show_providers = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--providers") == 0)
			show_providers = true;
		else if (strcmp(argv[i], "--content") == 0)
			show_content = true;
		else
			fail("usage: replay [--providers] [--content] < TRACE");
	}
	locate_heap_start();
	read_whole_file(STDIN_FILENO, trace_text, sizeof trace_text);

	unsigned long operation = 0;
	char *line = trace_text;
	while (*line != '\0') {
		char *line_end = strchr(line, '\n');
		if (line_end != NULL)
			*line_end = '\0';
		if (*line != '\0' && *line != '#') {
			current_operation = operation;
			replay_line(operation++, line);
		}
		if (line_end == NULL)
			break;
		line = line_end + 1;
	}
	for (unsigned long i = 0; i < MAX_SLOTS; i++)
		if (slots[i].pointer != NULL)
			release_slot(operation, i);
	put_text("done ");
	put_number(operation, 10);
	put_text(" operations\n");
	if (show_providers)
		report_providers();
	flush_output();
	return 0;
}
