/*
 * The prediction engine: what free(), malloc(), realloc() or calloc() would do next in an inferior,
 * answered by running the allocator's own code (allocator/, built with PTM_PREDICT_ENGINE) on a
 * copy of the inferior's memory, never on the inferior itself.
 *
 * The GDB extension (gdb/ptmalloc/predict/engine.py) starts this program with the call to make and
 * answers its questions on stdin/stdout: the values of the allocator's globals and of the calling
 * thread's thread-locals in the inferior, where the inferior's main_arena is, and then, while the
 * call runs, the inferior's pages one at a time as the call touches them.  The call runs in a
 * child process whose address space holds nothing but this program (linked at ENGINE_LOW) and
 * the inferior's pages, each mapped at its own address the first time the call faults on it: a
 * page the inferior does not have is a real segfault of the real call.  The child's stderr and
 * death say how glibc's checks ended it; its report says what came back, where from, and which
 * words of the inferior's memory it wrote.  The parent prints all of it as one JSON line.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "predict_engine.h"
#include "predict_wire.h"

/* The allocator's entry points, renamed when the engine is linked (mk/prediction_engine.mk) so
   they leave the engine's own libc alone. */
void *predict_api_malloc(size_t bytes);
void predict_api_free(void *mem);
void *predict_api_realloc(void *mem, size_t bytes);
void *predict_api_calloc(size_t count, size_t size);

struct malloc_state *predict_main_arena;

/* ---- where the engine lives: nothing of the inferior may be here ---- */
#define ENGINE_LOW 0x60000000UL /* the link address (mk/prediction_engine.mk) */
/* The kernel puts the engine's break anywhere up to 1 GiB past its image: the engine's range
   is measured at start (engine_high), with room for the parent's own mallocs. */
#define ENGINE_BREAK_ROOM (64UL << 20)
static uintptr_t engine_high;
/* The child's stacks and the inferior's pages as fetched (for the list of changes). */
#define WORK_LOW 0x3e0000000000UL
#define WORK_HIGH 0x3e0200000000UL
#define CALL_STACK_BASE WORK_LOW
#define CALL_STACK_SIZE (8UL << 20)
/* The processor time a call may take before it counts as looping for ever (see main). */
#define CALL_CPU_SECONDS 3
#define SIGNAL_STACK_BASE (WORK_LOW + (16UL << 20))
#define SIGNAL_STACK_SIZE (256UL << 10)
#define ORIGINALS_BASE (WORK_LOW + (32UL << 20))
#define MAX_PAGES 0x100000UL /* 4 GiB of the inferior; the originals area is reserved, not used */
/* Mappings the call makes (mmapped chunks, new heaps): the kernel would choose their address. */
#define FRESH_LOW 0x3f0000000000UL
#define FRESH_HIGH 0x3f8000000000UL
#define PAGE 4096UL
/* Where x86-64's user address space ends (4-level page tables: the kernel's TASK_SIZE). */
#define USER_SPACE_END 0x7ffffffff000UL

/* ---- the pages the call has touched ---- */
enum page_kind { PAGE_COPIED, PAGE_READ_ONLY, PAGE_FRESH, PAGE_GONE };
struct page {
	uintptr_t address;
	enum page_kind kind;
};
static struct page pages[MAX_PAGES];
static size_t page_count;
#define INDEX_SLOTS (MAX_PAGES * 2)
static uint32_t page_index[INDEX_SLOTS]; /* 1 + position in pages[], 0 for empty */

static size_t index_slot(uintptr_t address)
{
	size_t slot = (size_t)((address / PAGE) * 0x9e3779b97f4a7c15ULL >> 47) % INDEX_SLOTS;
	while (page_index[slot] != 0 && pages[page_index[slot] - 1].address != address)
		slot = (slot + 1) % INDEX_SLOTS;
	return slot;
}

static struct page *find_page(uintptr_t address)
{
	uint32_t entry = page_index[index_slot(address)];
	return entry ? &pages[entry - 1] : NULL;
}

static unsigned char *original_of(const struct page *page)
{
	return (unsigned char *)ORIGINALS_BASE + (size_t)(page - pages) * PAGE;
}

static bool in_engine(uintptr_t address)
{
	return (address >= ENGINE_LOW && address < engine_high) ||
	       (address >= WORK_LOW && address < WORK_HIGH) || (address >= FRESH_LOW && address < FRESH_HIGH);
}

/* ---- what the child tells the parent (a memfd, read after the child is gone) ---- */
static int report_fd = -1;
static char program_name[256] = "prog";

static void report(const char *text) { wire_write_all(report_fd, text, strlen(text)); }

static void report_pair(const char *what, uintptr_t a, uintptr_t b)
{
	char line[96];
	char *end = wire_format_hex(wire_format_hex(wire_append(line, what), a), b);
	wire_append(end, "\n");
	report(line);
}

/* The call cannot be answered: stop here and say why. */
static _Noreturn void give_up(const char *why)
{
	report("unknown ");
	report(why);
	report("\n");
	_exit(WIRE_EXIT_UNKNOWN);
}

/* Ranges the call unmapped, kept as ranges (a damaged size can unmap terabytes): a page in one
   that the call has not touched before is gone without asking the debugger. */
#define MAX_GONE_RANGES 64
static struct {
	uintptr_t start, end;
} gone_ranges[MAX_GONE_RANGES];
static size_t gone_range_count;

static bool in_gone_range(uintptr_t address)
{
	for (size_t i = 0; i < gone_range_count; i++)
		if (address >= gone_ranges[i].start && address < gone_ranges[i].end)
			return true;
	return false;
}

static struct page *add_page(uintptr_t address, enum page_kind kind)
{
	if (page_count == MAX_PAGES)
		give_up("the call touched more pages than the engine keeps");
	size_t slot = index_slot(address);
	struct page *page = &pages[page_count++];
	page->address = address;
	page->kind = kind;
	page_index[slot] = (uint32_t)page_count;
	return page;
}

/* A private, zero-filled page of our own at `address`. */
static void map_page(uintptr_t address)
{
	void *mapped = mmap((void *)address, PAGE, PROT_READ | PROT_WRITE,
	                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (mapped != (void *)address)
		give_up("the engine could not map a page of the inferior at its address");
}

/* ---- the fault that fetches a page, or is the real call's crash ---- */
static _Noreturn void die_of_fault(int signal_number, uintptr_t address, const char *how)
{
	report_pair("fault", address, 0);
	report("fault_kind ");
	report(how);
	report("\n");
	/* Die of the signal itself, as the program would. */
	struct sigaction fatal = {.sa_handler = SIG_DFL};
	sigaction(signal_number, &fatal, NULL);
	raise(signal_number);
	_exit(WIRE_EXIT_UNKNOWN);
}

static void fetch_page(uintptr_t address)
{
	if (in_gone_range(address)) {
		add_page(address, PAGE_GONE);
		return;
	}
	char request[64];
	wire_append(wire_format_hex(wire_append(request, "page"), address), "\n");
	wire_send(request);
	char answer[WIRE_LINE_MAX];
	wire_read_line(0, answer, sizeof answer);
	/* "copy N" or "readonly N": N pages from `address` on (the debugger sends the pages around
	   a request in one go: a scan through a heap then costs one round trip per block). */
	char *count_text = strchr(answer, ' ');
	if (count_text != NULL)
		*count_text++ = '\0';
	if (strcmp(answer, "copy") == 0 || strcmp(answer, "readonly") == 0) {
		size_t count = count_text != NULL ? strtoul(count_text, NULL, 10) : 1;
		for (size_t i = 0; i < count; i++) {
			uintptr_t next = address + i * PAGE;
			if (find_page(next) != NULL) { /* known already: its bytes are the call's by now */
				static unsigned char discard[PAGE];
				wire_read_exactly(0, discard, PAGE);
				continue;
			}
			map_page(next);
			wire_read_exactly(0, (void *)next, PAGE);
			struct page *page = add_page(next, answer[0] == 'c' ? PAGE_COPIED : PAGE_READ_ONLY);
			memcpy(original_of(page), (void *)next, PAGE);
			if (page->kind == PAGE_READ_ONLY)
				mprotect((void *)next, PAGE, PROT_READ);
		}
	} else if (strcmp(answer, "absent") == 0) {
		add_page(address, PAGE_GONE);
	} else if (strncmp(answer, "unknown ", 8) == 0) {
		give_up(answer + 8);
	} else {
		give_up("the debugger answered a page request with something else");
	}
}

/* The page at `address` as the engine knows it, asked of the debugger the first time. */
static struct page *known_page(uintptr_t address)
{
	struct page *page = find_page(address);
	if (page == NULL) {
		fetch_page(address);
		page = find_page(address);
	}
	return page;
}

static void on_fault(int signal_number, siginfo_t *info, void *context)
{
	(void)context;
	uintptr_t address = (uintptr_t)info->si_addr;
	if (info->si_code == SI_KERNEL)
		die_of_fault(signal_number, 0, "general-protection"); /* a non-canonical address */
	uintptr_t page_address = address & ~(PAGE - 1);
	if (in_engine(page_address))
		give_up("the call reached memory where the engine itself lives");
	struct page *page = find_page(page_address);
	if (page == NULL) {
		fetch_page(page_address);
		page = find_page(page_address);
		if (page->kind != PAGE_GONE)
			return; /* the instruction runs again, now on the inferior's page */
	}
	die_of_fault(signal_number, address, page->kind == PAGE_GONE ? "unmapped" : "protection");
}

/* ---- the system calls the allocator makes, on the copy (renamed to these at link time) ---- */
static uintptr_t fresh_next = FRESH_LOW;
static uintptr_t program_break; /* 0: the inferior's break is not known */

static uintptr_t page_floor(uintptr_t address) { return address & ~(PAGE - 1); }
static uintptr_t page_ceiling(uintptr_t address) { return (address + PAGE - 1) & ~(PAGE - 1); }

/* Memory the call gives the inferior that it did not have: zero pages of our own. */
static void make_fresh(uintptr_t start, uintptr_t end)
{
	for (uintptr_t address = page_floor(start); address < end; address += PAGE) {
		struct page *page = find_page(address);
		if (page != NULL && page->kind != PAGE_GONE)
			continue;
		map_page(address);
		if (page != NULL)
			page->kind = PAGE_FRESH;
		else
			add_page(address, PAGE_FRESH);
	}
}

static void make_gone(uintptr_t start, uintptr_t end)
{
	start = page_floor(start), end = page_ceiling(end);
	if (gone_range_count == MAX_GONE_RANGES)
		give_up("the call unmapped more ranges than the engine keeps");
	gone_ranges[gone_range_count].start = start, gone_ranges[gone_range_count].end = end;
	gone_range_count++;
	for (size_t i = 0; i < page_count; i++) {
		struct page *page = &pages[i];
		if (page->address < start || page->address >= end || page->kind == PAGE_GONE)
			continue;
		munmap((void *)page->address, PAGE);
		page->kind = PAGE_GONE;
	}
}

void *predict_mmap(void *where, size_t length, int protection, int flags, int fd, off_t offset)
{
	uintptr_t start = (uintptr_t)where;
	if ((flags & MAP_FIXED) && !in_engine(start)) {
		/* The allocator gives back the end of a heap this way (PROT_NONE over it). */
		if (protection == PROT_NONE)
			make_gone(start, start + length);
		else
			make_fresh(start, start + length);
		report_pair("remapped", start, length);
		return where;
	}
	/* Aligned to the largest heap, as new_heap wants: the kernel's choice is not ours to guess. */
	uintptr_t address = (fresh_next + HEAP_MAX_SIZE - 1) & ~(HEAP_MAX_SIZE - 1);
	if (address + length > FRESH_HIGH)
		return MAP_FAILED;
	void *mapped = mmap((void *)address, length, protection,
	                    (flags & ~MAP_FIXED) | MAP_FIXED_NOREPLACE | MAP_NORESERVE, fd, offset);
	if (mapped == MAP_FAILED)
		return MAP_FAILED;
	fresh_next = address + length;
	report_pair("mapped", address, length);
	return mapped;
}

int *predict___errno_location(void);

int predict_munmap(void *where, size_t length)
{
	uintptr_t start = (uintptr_t)where;
	if (in_engine(start))
		return munmap(where, length);
	/* The kernel's own refusals (EINVAL): an unaligned start, nothing to unmap, or a range past
	   the user address space, as a damaged mmapped chunk's size gives. */
	if ((start & (PAGE - 1)) != 0 || length == 0 || length > USER_SPACE_END ||
	    start > USER_SPACE_END - page_ceiling(length)) {
		*predict___errno_location() = EINVAL;
		return -1;
	}
	make_gone(start, start + length);
	report_pair("unmapped", start, length);
	return 0;
}

/* realloc of an mmapped chunk (mremap_chunk), on the copy as the kernel would do it: shrinking
   first looks up the mapping at the old address (none there: EFAULT, shrinking or not, as a
   damaged prev_size makes it); shrinking gives back the tail, mapped or not; growing needs the
   whole old block mapped, and stays in place when the inferior has nothing after it up to the
   new end, else the block moves where the kernel chooses (a fresh mapping of ours, like mmap's). */
static void *remap_copy(void *where, size_t old_length, size_t new_length, int flags)
{
	uintptr_t start = (uintptr_t)where;
	old_length = page_ceiling(old_length), new_length = page_ceiling(new_length);
	if (known_page(page_floor(start))->kind == PAGE_GONE)
		return MAP_FAILED;
	if (new_length <= old_length) {
		if (new_length < old_length) {
			make_gone(start + new_length, start + old_length);
			report_pair("unmapped", start + new_length, old_length - new_length);
		}
		return where;
	}
	bool room_after = true;
	for (uintptr_t address = start; address < start + new_length; address += PAGE) {
		struct page *page = known_page(address);
		if (address < start + old_length && page->kind == PAGE_GONE)
			return MAP_FAILED; /* EFAULT: the old block is not all mapped */
		if (address >= start + old_length && page->kind != PAGE_GONE) {
			room_after = false;
			break;
		}
	}
	if (room_after) {
		make_fresh(start + old_length, start + new_length);
		report_pair("mapped", start + old_length, new_length - old_length);
		return where;
	}
	uintptr_t address = page_ceiling(fresh_next);
	if (!(flags & MREMAP_MAYMOVE) || address + new_length > FRESH_HIGH)
		return MAP_FAILED;
	if (mmap((void *)address, new_length, PROT_READ | PROT_WRITE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0) != (void *)address)
		return MAP_FAILED;
	memcpy((void *)address, where, old_length); /* each old page fetched as it is read */
	fresh_next = address + new_length;
	make_gone(start, start + old_length);
	report_pair("unmapped", start, old_length);
	report_pair("mapped", address, new_length);
	return (void *)address;
}

/* The calling thread's thread pointer in the inferior (its TCB), 0 when the debugger cannot say. */
static uintptr_t inferior_thread_pointer;

void *predict_mremap(void *where, size_t old_length, size_t new_length, int flags, ...)
{
	if (in_engine((uintptr_t)where))
		return mremap(where, old_length, new_length, flags);
	void *result = remap_copy(where, old_length, new_length, flags);
#if GLIBC_VERSION >= 236
	/* libc's mremap() (2.36, 2.41; not 2.31's) is C built with the stack protector: returning,
	   it compares the canary in the thread's TCB (%fs:0x28), which the remap may have unmapped. */
	if (inferior_thread_pointer != 0)
		(void)*(volatile uintptr_t *)(inferior_thread_pointer + 0x28);
#endif
	return result;
}

int predict_mprotect(void *where, size_t length, int protection)
{
	uintptr_t start = (uintptr_t)where;
	if (in_engine(start))
		return mprotect(where, length, protection);
	if (protection == PROT_NONE)
		make_gone(start, start + length);
	else
		make_fresh(start, start + length); /* a heap grows into pages it reserved */
	return 0;
}

int predict_madvise(void *where, size_t length, int advice)
{
	(void)where, (void)length, (void)advice;
	return 0;
}

void *predict_sbrk(intptr_t increment)
{
	if (program_break == 0)
		return (void *)-1;
	uintptr_t old_break = program_break;
	if (increment > 0)
		make_fresh(page_ceiling(old_break), page_ceiling(old_break + (uintptr_t)increment));
	program_break = old_break + (uintptr_t)increment;
	if (increment != 0)
		report_pair("break", old_break, program_break);
	return (void *)old_break;
}

/* errno as the allocator sets it: the inferior thread's own, when the debugger could say where
   it is (free() writes it back after munmap, which may have taken the thread's TLS with it). */
static int engine_errno;
static int *inferior_errno;

int *predict___errno_location(void) { return inferior_errno != NULL ? inferior_errno : &engine_errno; }

int predict_refuse_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
	(void)prepare, (void)parent, (void)child;
	return 0;
}

/* ---- notes from the allocator (allocator/predict_notes.h, allocator/lock.h) ---- */
static const char *noted_source;
static const char *noted_destination;

void predict_note_source(const char *where) { noted_source = where; }

void predict_note_destination(const char *where)
{
	if (noted_destination == NULL)
		noted_destination = where;
}

void predict_lock_held_elsewhere(int *word)
{
	report_pair("lock_wait", (uintptr_t)word, 0);
	*word = 1;
}

/* ---- the child: an address space of the engine and the inferior's pages only ---- */
enum call_kind { CALL_FREE, CALL_MALLOC, CALL_REALLOC, CALL_CALLOC };
struct call {
	enum call_kind kind;
	const char *name;
	uintptr_t pointer;
	size_t size, count;
	size_t repeat; /* how many times in a row (--repeat; malloc and calloc only) */
};
static struct call the_call;

/* Words written into the copy before the call: the debugger's "what if" (find_fake_fast). */
#define MAX_ASSUMPTIONS 16
static struct {
	uintptr_t address, word;
} assumptions[MAX_ASSUMPTIONS];
static size_t assumption_count;

_Noreturn void predict_report_hook(const char *name, uintptr_t target)
{
	report("hook ");
	report(name);
	report_pair("", target, 0);
	_exit(WIRE_EXIT_HOOK);
}

/* Everything the kernel mapped outside the engine's range (its stack, vdso, vvar) goes: the
   inferior's pages may need those addresses. */
static void leave_only_the_engine(void)
{
	static char maps[1 << 16];
	int fd = sys_open("/proc/self/maps", O_RDONLY);
	if (fd < 0)
		give_up("cannot read /proc/self/maps");
	size_t length = 0;
	ssize_t got;
	while (length < sizeof maps - 1 && (got = sys_read(fd, maps + length, sizeof maps - 1 - length)) > 0)
		length += (size_t)got;
	sys_close(fd);
	maps[length] = '\0';
	for (char *line = maps; *line != '\0';) {
		char *end;
		uintptr_t low = strtoul(line, &end, 16);
		uintptr_t high = strtoul(end + 1, &end, 16);
		if (low < (1UL << 47) && !in_engine(low))
			munmap((void *)low, high - low);
		char *next = strchr(line, '\n');
		if (next == NULL)
			break;
		line = next + 1;
	}
}

static void report_changes(void)
{
	char line[96];
	for (size_t i = 0; i < page_count; i++) {
		const struct page *page = &pages[i];
		if (page->kind == PAGE_GONE)
			continue;
		const uint64_t *now = (const uint64_t *)page->address;
		const uint64_t *before = (const uint64_t *)original_of(page);
		for (size_t word = 0; word < PAGE / 8; word++) {
			uint64_t old = page->kind == PAGE_FRESH ? 0 : before[word];
			if (now[word] == old)
				continue;
			char *end = wire_format_hex(wire_append(line, "change"), page->address + word * 8);
			wire_append(wire_format_hex(wire_format_hex(end, old), now[word]), "\n");
			report(line);
		}
	}
}

static _Noreturn void run_call(void)
{
	leave_only_the_engine();
	program_invocation_short_name = program_name;
	for (size_t i = 0; i < assumption_count; i++) {
		*(volatile uintptr_t *)assumptions[i].address = assumptions[i].word;
		struct page *page = find_page(page_floor(assumptions[i].address));
		if (page != NULL && page->kind != PAGE_GONE) /* an assumption is no change of the call's */
			memcpy(original_of(page), (void *)page->address, PAGE);
	}
	uintptr_t returned = 0;
	/* The same call again and again: the n-th malloc of a size is the one that reaches the n-th
	   entry of its list.  The report says which call the child died in. */
	for (size_t round = 1; round <= the_call.repeat; round++) {
		report_pair("call", round, 0);
		noted_source = noted_destination = NULL;
		switch (the_call.kind) {
		case CALL_FREE:
			predict_api_free((void *)the_call.pointer);
			break;
		case CALL_MALLOC:
			returned = (uintptr_t)predict_api_malloc(the_call.size);
			break;
		case CALL_REALLOC:
			returned = (uintptr_t)predict_api_realloc((void *)the_call.pointer, the_call.size);
			break;
		case CALL_CALLOC:
			returned = (uintptr_t)predict_api_calloc(the_call.count, the_call.size);
			break;
		}
	}
	report_pair("returned", returned, 0);
	if (noted_source != NULL) {
		report("source ");
		report(noted_source);
		report("\n");
	}
	if (noted_destination != NULL) {
		report("destination ");
		report(noted_destination);
		report("\n");
	}
	report_changes();
	_exit(WIRE_EXIT_RETURNED);
}

static void start_child(void)
{
	void *stack = mmap((void *)CALL_STACK_BASE, CALL_STACK_SIZE, PROT_READ | PROT_WRITE,
	                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	void *signal_stack = mmap((void *)SIGNAL_STACK_BASE, SIGNAL_STACK_SIZE, PROT_READ | PROT_WRITE,
	                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	void *originals = mmap((void *)ORIGINALS_BASE, MAX_PAGES * PAGE, PROT_READ | PROT_WRITE,
	                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (stack == MAP_FAILED || signal_stack == MAP_FAILED || originals == MAP_FAILED)
		give_up("the engine could not map its own stacks");
	stack_t alternate = {.ss_sp = signal_stack, .ss_size = SIGNAL_STACK_SIZE};
	sigaltstack(&alternate, NULL);
	struct sigaction on_segv = {.sa_sigaction = on_fault,
	                            .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER};
	sigaction(SIGSEGV, &on_segv, NULL);
	sigaction(SIGBUS, &on_segv, NULL);
	/* Off the kernel's stack, which leave_only_the_engine unmaps. */
	uintptr_t top = CALL_STACK_BASE + CALL_STACK_SIZE - 64;
	__asm__ volatile("mov %0, %%rsp\n\tcall *%1\n\tud2" : : "r"(top), "r"(run_call) : "memory");
	__builtin_unreachable();
}

#if GLIBC_VERSION < 235
/* The compiler's unwinder (libgcc_eh, linked in by libpthread's cancellation) asks the C library
   for _dl_find_object, new in 2.35; 2.31's static libc has none.  "Not found" makes the unwinder
   search the program headers itself. */
struct dl_find_object;
int _dl_find_object(void *address, struct dl_find_object *result)
{
	(void)address, (void)result;
	return -1;
}
#endif

/* ---- the parent: questions, the child, the answer ---- */
static void read_call(int argc, char **argv)
{
	size_t repeat = 1;
	for (;;) {
		if (argc >= 4 && strcmp(argv[1], "--assume") == 0 && assumption_count < MAX_ASSUMPTIONS) {
			assumptions[assumption_count].address = strtoul(argv[2], NULL, 0);
			assumptions[assumption_count++].word = strtoul(argv[3], NULL, 0);
			argc -= 3;
			argv += 3;
		} else if (argc >= 3 && strcmp(argv[1], "--repeat") == 0) {
			repeat = strtoul(argv[2], NULL, 0);
			argc -= 2;
			argv += 2;
		} else {
			break;
		}
	}
	if (argc >= 3 && strcmp(argv[1], "free") == 0)
		the_call =
		    (struct call){.kind = CALL_FREE, .name = "free", .pointer = strtoul(argv[2], NULL, 0)};
	else if (argc >= 3 && strcmp(argv[1], "malloc") == 0)
		the_call =
		    (struct call){.kind = CALL_MALLOC, .name = "malloc", .size = strtoul(argv[2], NULL, 0)};
	else if (argc >= 4 && strcmp(argv[1], "realloc") == 0)
		the_call = (struct call){.kind = CALL_REALLOC,
		                         .name = "realloc",
		                         .pointer = strtoul(argv[2], NULL, 0),
		                         .size = strtoul(argv[3], NULL, 0)};
	else if (argc >= 4 && strcmp(argv[1], "calloc") == 0)
		the_call = (struct call){.kind = CALL_CALLOC,
		                         .name = "calloc",
		                         .count = strtoul(argv[2], NULL, 0),
		                         .size = strtoul(argv[3], NULL, 0)};
	else {
		fprintf(stderr, "usage: ptmalloc-predict [--assume ADDRESS WORD]... [--repeat N] free PTR | "
		                "malloc SIZE | realloc PTR SIZE | calloc COUNT SIZE\n");
		exit(2);
	}
	the_call.repeat =
	    (the_call.kind == CALL_MALLOC || the_call.kind == CALL_CALLOC) && repeat > 1 ? repeat : 1;
}

int main(int argc, char **argv)
{
	read_call(argc, argv);
	engine_high = ((uintptr_t)sbrk(0) + ENGINE_BREAK_ROOM) & ~(PAGE - 1);
	char hello[WIRE_LINE_MAX];
	char *end = wire_append(hello, "engine 1 release " GLIBC_RELEASE_TEXT " reserved");
	end = wire_format_hex(wire_format_hex(end, ENGINE_LOW), engine_high);
	end = wire_format_hex(wire_format_hex(end, WORK_LOW), WORK_HIGH);
	wire_append(wire_format_hex(wire_format_hex(end, FRESH_LOW), FRESH_HIGH), "\n");
	wire_send(hello);
	predict_ask_for_state(&predict_main_arena, &program_break, program_name, sizeof program_name);
	wire_send("errno\n");
	char answer[WIRE_LINE_MAX];
	wire_read_line(0, answer, sizeof answer);
	if (strncmp(answer, "at ", 3) == 0)
		inferior_errno = (int *)strtoul(answer + 3, NULL, 16);
	wire_send("thread_pointer\n");
	wire_read_line(0, answer, sizeof answer);
	if (strncmp(answer, "at ", 3) == 0)
		inferior_thread_pointer = strtoul(answer + 3, NULL, 16);
	if (!predict_malloc_initialized())
		predict_refuse("malloc has not been initialised in the inferior");
	report_fd = memfd_create("predict-report", 0);
	int errors_fd = memfd_create("predict-stderr", 0);
	if (report_fd < 0 || errors_fd < 0)
		predict_refuse("memfd_create failed");
	pid_t child = fork();
	if (child == 0) {
		dup2(errors_fd, STDERR_FILENO);
		/* A call that loops in a corrupted list without touching a new page (glibc 2.31's
		   unbounded tcache double-free scan of a looping bin) runs on no page request of ours:
		   the kernel kills it once it has spent CALL_CPU_SECONDS of processor time, far more than
		   any real call takes, and the answer says "hung".  Time waiting for pages is not counted. */
		struct rlimit budget = {CALL_CPU_SECONDS, CALL_CPU_SECONDS};
		signal(SIGXCPU, SIG_IGN);
		setrlimit(RLIMIT_CPU, &budget);
		start_child();
	}
	int status = 0;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	predict_send_result(the_call.name, status, report_fd, errors_fd, FRESH_LOW, FRESH_HIGH);
	return 0;
}
