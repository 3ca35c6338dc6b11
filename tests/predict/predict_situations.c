/*
 * The program of the prediction oracle (tests/predict/).  It builds one situation, a heap in a
 * chosen state kind from a seed (situations_clean.c, situations_damaged.c), records the call it is
 * about to make in `predict_case` and stops in predict_stop(), where the harness's gdb asks the
 * extension what the call will do.  Then it makes the call for real in a forked copy of itself and
 * writes what happened to PREFIX.truth (and the call's stderr, an abort message, to PREFIX.stderr):
 *   case OP POINTER SIZE             the call, before the stop
 *   before KEY=VALUE ...             the acting thread's bins, read just before the call
 *   before_at KEY=ADDRESS ...        where each of those words is
 *   returned POINTER                 the call returned (0 for free)
 *   after KEY=VALUE ...              the same words after the call, and the chunk's header
 *   after_at KEY=ADDRESS ...         where each of those words is
 *   fault ADDRESS CODE / signal N    a SIGSEGV or SIGBUS, with si_addr and si_code (a sigaction
 *                                    handler)
 *   rseq ADDRESS MAPPED              after the call or its fault: the acting thread's rseq area
 *                                    and whether the call left it mapped
 *   status exit N | status signal N  how the copy ended (SIGABRT: an abort; SIGALRM: a hang)
 * After the stop nothing allocates and nothing uses stdio: the heap may be damaged.
 *
 * usage: predict_situations KIND SEED main|thread PREFIX   (--list: the kinds, clean and damaged)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "situations.h"

struct predict_case predict_case;
static uint64_t random_state;
static int truth_fd = -1, stderr_fd = -1;
static const struct situation *chosen;
static char alternate_stack[1 << 16];
static uintptr_t first_block;
_Alignas(16) size_t data_area[256];

__attribute__((noinline)) void predict_stop(void) { __asm__ volatile("" ::: "memory"); }

uint64_t rnd(uint64_t below)
{
	uint64_t x = random_state;
	x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	random_state = x;
	return below ? x % below : x;
}

/* A size word made wrong in one of the ways that matter to the allocator's checks. */
size_t bad_size(size_t size)
{
	switch (rnd(9)) {
	case 0:
		return 0;
	case 1:
		return 0x10 | (size & 7);
	case 2:
		return size | 8;
	case 3:
		return (size + 0x10 * (1 + rnd(8))) | (size & 7);
	case 4:
		return rnd(0);
	case 5:
		return ((size_t)1 << (40 + rnd(20))) | (size & 7);
	case 6:
		return size ^ IS_MMAPPED;
	case 7:
		return size ^ NON_MAIN_ARENA;
	default:
		return (0x20 + 0x10 * rnd(0x80)) | (size & 7);
	}
}

size_t chunk_size(size_t request)
{
	size_t size = (request + SIZE_WORD + 15) & ~(size_t)15;
	return size < 32 ? 32 : size;
}

size_t *header_of(void *user) { return (size_t *)((char *)user - HEADER); }
size_t request_fast(void) { return 1 + rnd(FAST_MAX_CHUNK - SIZE_WORD); }
size_t request_tcache(void) { return 1 + rnd(TCACHE_MAX_CHUNK - SIZE_WORD); }
size_t request_small(void) { return FAST_MAX_CHUNK - 7 + rnd(0x3e8 - FAST_MAX_CHUNK); }
size_t request_large(void) { return TCACHE_MAX_CHUNK + rnd(0x3000); }
size_t request_mmapped(void) { return 0x21000 + rnd(0x60000); }

size_t request_any(void)
{
	switch (rnd(8)) {
	case 0:
		return request_large();
	case 1:
		return rnd(16) ? request_small() : request_mmapped();
	case 2:
	case 3:
		return request_fast();
	default:
		return request_tcache();
	}
}

void *must_malloc(size_t request)
{
	void *block = malloc(request);
	if (block == NULL)
		_exit(4);
	return block;
}

void fill_tcache(size_t request)
{
	void *blocks[TCACHE_FILL];
	for (int i = 0; i < TCACHE_FILL; i++)
		blocks[i] = must_malloc(request);
	for (int i = 0; i < TCACHE_FILL; i++)
		free(blocks[i]);
}

void drain_tcache(size_t request)
{
	for (int i = 0; i < TCACHE_FILL; i++)
		must_malloc(request);
}

uintptr_t tcache_struct(void)
{
	size_t *header = (size_t *)(first_block - HEADER - 0x290);
	if (first_block == 0 || (header[1] & ~(size_t)7) != 0x290)
		return 0;
	return first_block - 0x290;
}

struct helper {
	size_t request;
	int count, freed;
	void **blocks;
	pthread_barrier_t ready;
};

static void *helper_main(void *argument)
{
	struct helper *helper = argument;
	for (int i = 0; i < helper->count; i++)
		helper->blocks[i] = must_malloc(helper->request);
	for (int i = 0; i < helper->freed; i++)
		free(helper->blocks[i]);
	pthread_barrier_wait(&helper->ready);
	for (;;)
		pause();
	return NULL;
}

void helper_thread(size_t request, int count, int freed, void **blocks)
{
	static struct helper helpers[4];
	static int used;
	struct helper *helper = &helpers[used++ % 4];
	*helper = (struct helper){.request = request, .count = count, .freed = freed, .blocks = blocks};
	pthread_barrier_init(&helper->ready, NULL, 2);
	pthread_t thread;
	if (pthread_create(&thread, NULL, helper_main, helper) != 0)
		_exit(4);
	pthread_barrier_wait(&helper->ready);
}

void ask_free(void *pointer) { predict_case.op = OP_FREE, predict_case.pointer = (uintptr_t)pointer; }
void ask_malloc(size_t size) { predict_case.op = OP_MALLOC, predict_case.size = size; }
void ask_realloc(void *pointer, size_t size)
{
	predict_case.op = OP_REALLOC, predict_case.pointer = (uintptr_t)pointer, predict_case.size = size;
}

/* From the real call on, nothing may touch the acting thread's TLS, which the call may have
 * unmapped (the munmap or mremap of a damaged mmapped chunk that covers it): the recording makes
 * its system calls itself (libc's wrappers reach the thread pointer for errno and, in 2.31, for
 * the cancellation check) and has no stack protector (the canary lives in the thread's TCB). */
#define AFTER_CALL __attribute__((no_stack_protector, noinline))

AFTER_CALL static long raw_syscall(long number, long a, long b, long c, long d, long e, long f)
{
	long result;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
	                 : "=a"(result)
	                 : "0"(number), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
	                 : "rcx", "r11", "memory");
	return result;
}

AFTER_CALL static _Noreturn void raw_exit(int status)
{
	for (;;)
		raw_syscall(SYS_exit_group, status, 0, 0, 0, 0, 0);
}

static pid_t caller_pid;
/* The acting thread's rseq area (glibc registers it from 2.35: __rseq_offset from the thread
 * pointer; none in 2.31).  The kernel writes it at the thread's every preemption and signal; a
 * call that unmaps it (the munmap of a damaged mmapped chunk over the thread's TLS) then has the
 * thread killed by the kernel at the scheduler's whim, before or after the call's own next touch
 * of the lost memory.  The copy that makes the real call unregisters it first, so that what it
 * records is the call's own doing, and records whether the call left the area mapped. */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
static uintptr_t rseq_area;
#define RSEQ_SIGNATURE 0x53053053 /* glibc's on x86 */
#define RSEQ_FLAG_UNREGISTER 1

/* Unregister the thread's rseq area: the kernel wants the length it was registered with, which
 * glibc does not export (32 bytes in 2.35, more later), so each multiple of 32 is tried. */
static void unregister_rseq(void)
{
	if (&__rseq_size == NULL || __rseq_size == 0)
		return;
	uintptr_t thread_pointer;
	__asm__("mov %%fs:0, %0" : "=r"(thread_pointer));
	rseq_area = thread_pointer + (uintptr_t)__rseq_offset;
	for (long length = 32; length <= 4096; length += 32)
		if (syscall(SYS_rseq, rseq_area, length, RSEQ_FLAG_UNREGISTER, RSEQ_SIGNATURE) == 0)
			return;
	fprintf(stderr, "predict_situations: cannot unregister the thread's rseq area\n");
	raw_exit(6);
}

/* "KEY=0xVALUE " into `line` at `*used`, without stdio. */
AFTER_CALL static void append(char *line, size_t *used, const char *key, uintptr_t value)
{
	while (*key)
		line[(*used)++] = *key++;
	line[(*used)++] = '=', line[(*used)++] = '0', line[(*used)++] = 'x';
	int digits = 1;
	for (uintptr_t rest = value >> 4; rest; rest >>= 4)
		digits++;
	for (int i = digits - 1; i >= 0; i--)
		line[(*used)++] = "0123456789abcdef"[(value >> (4 * i)) & 15];
	line[(*used)++] = ' ';
}

/* What the recording writes for a word that is not mapped (predict_truth.MISSING). */
#define MISSING_WORD 0xdeadbeefdeadbeefUL

/* A word of this process, or `missing` when it is not mapped (no signal: process_vm_readv). */
AFTER_CALL static uintptr_t word_at(uintptr_t address, uintptr_t missing)
{
	uintptr_t value;
	struct iovec local = {&value, sizeof value}, remote = {(void *)address, sizeof value};
	return raw_syscall(SYS_process_vm_readv, caller_pid, (long)&local, 1, (long)&remote, 1, 0) ==
	               sizeof value
	           ? value
	           : missing;
}

/* One probe's two lines as they are built: "WHEN KEY=VALUE ..." and "WHEN_at KEY=ADDRESS ...". */
struct probe_lines {
	char values[1024], places[1024];
	size_t values_used, places_used;
};

/* The word (or, for a tcache count, the 16 bits) at `address` as KEY, and where it is. */
AFTER_CALL static void probe_word(struct probe_lines *lines, const char *key, uintptr_t address,
                                  uintptr_t mask)
{
	uintptr_t value = word_at(address, MISSING_WORD);
	append(lines->values, &lines->values_used, key, value == MISSING_WORD ? MISSING_WORD : value & mask);
	append(lines->places, &lines->places_used, key, address);
}

AFTER_CALL static void write_line(char *line, size_t used)
{
	line[used - 1] = '\n';
	if (raw_syscall(SYS_write, truth_fd, (long)line, (long)used, 0, 0, 0) < 0)
		raw_exit(5);
}

AFTER_CALL static void put_line(const char *word, const char *key, uintptr_t value)
{
	char line[128];
	size_t used = 0;
	while (*word)
		line[used++] = *word++;
	line[used++] = ' ';
	append(line, &used, key, value);
	write_line(line, used);
}

/* The acting thread's bins for a chunk of `size` bytes, and the words of the chunk at `chunk`,
 * each with its address (a second line: the oracle compares them with the words the prediction
 * says the call writes). */
AFTER_CALL static void probe(const char *when, size_t size, uintptr_t chunk)
{
	const uintptr_t word = ~(uintptr_t)0;
	struct probe_lines lines = {.values_used = 0, .places_used = 0};
	for (const char *w = when; *w; w++)
		lines.values[lines.values_used++] = lines.places[lines.places_used++] = *w;
	lines.values[lines.values_used++] = ' ';
	for (const char *w = "_at "; *w; w++)
		lines.places[lines.places_used++] = *w;
	uintptr_t tcache = predict_case.tcache, arena = predict_case.arena;
	if (tcache && size >= 32 && size <= TCACHE_MAX_CHUNK) {
		size_t index = (size - 17) / 16;
		probe_word(&lines, "tc_count", tcache + 2 * index, 0xffff);
		probe_word(&lines, "tc_entry", tcache + 128 + 8 * index, word);
	}
	if (arena) {
		if (size >= 32 && size <= FAST_MAX_CHUNK)
			probe_word(&lines, "fast", arena + 16 + 8 * ((size >> 4) - 2), word);
		probe_word(&lines, "top", arena + 96, word);
		probe_word(&lines, "top_size", word_at(arena + 96, 0) + 8, word);
		probe_word(&lines, "remainder", arena + 104, word);
		probe_word(&lines, "unsorted_fd", arena + 112, word);
		probe_word(&lines, "unsorted_bk", arena + 120, word);
		if (size >= 32 && size < 0x400)
			probe_word(&lines, "small_bk", arena + 112 + 16 * ((size >> 4) - 1) + 8, word);
	}
	if (chunk) {
		append(lines.values, &lines.values_used, "chunk", chunk);
		probe_word(&lines, "header", chunk + 8, word);
		append(lines.values, &lines.values_used, "mapped",
		       word_at(chunk + 8, MISSING_WORD) != MISSING_WORD ||
		           word_at(chunk, MISSING_WORD) != MISSING_WORD);
	}
	write_line(lines.values, lines.values_used);
	write_line(lines.places, lines.places_used);
}

AFTER_CALL static void put_rseq(void)
{
	if (rseq_area == 0)
		return;
	char line[128] = "rseq ";
	size_t used = 5;
	append(line, &used, "address", rseq_area);
	append(line, &used, "mapped", word_at(rseq_area, MISSING_WORD) != MISSING_WORD);
	write_line(line, used);
}

AFTER_CALL static void on_fault(int signal, siginfo_t *info, void *context)
{
	(void)context;
	char line[128] = "fault ";
	size_t used = 6;
	append(line, &used, "address", (uintptr_t)info->si_addr);
	append(line, &used, "code", (uintptr_t)(unsigned)info->si_code);
	write_line(line, used);
	put_rseq();
	put_line("signal", "number", (uintptr_t)signal);
	raw_exit(90);
}

/* The size whose bins the truth watches: the request's chunk, or the freed chunk's own size. */
AFTER_CALL static size_t watched_size(void)
{
	if (predict_case.op == OP_MALLOC)
		return chunk_size(predict_case.size);
	return word_at(predict_case.pointer - SIZE_WORD, 0) & ~(uintptr_t)7;
}

AFTER_CALL static _Noreturn void real_call(void)
{
	caller_pid = getpid();
	unregister_rseq();
	stack_t alternate = {.ss_sp = alternate_stack, .ss_size = sizeof alternate_stack};
	sigaltstack(&alternate, NULL);
	struct sigaction action = {.sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_ONSTACK};
	sigaction(SIGSEGV, &action, NULL);
	sigaction(SIGBUS, &action, NULL);
	dup2(stderr_fd, STDERR_FILENO);
	alarm(10);
	size_t size = watched_size();
	uintptr_t old_chunk = predict_case.pointer ? predict_case.pointer - HEADER : 0;
	probe("before", size, old_chunk);
	uintptr_t returned = 0;
	if (predict_case.op == OP_FREE)
		free((void *)predict_case.pointer);
	else if (predict_case.op == OP_MALLOC)
		returned = (uintptr_t)malloc(predict_case.size);
	else
		returned = (uintptr_t)realloc((void *)predict_case.pointer, predict_case.size);
	put_line("returned", "pointer", returned);
	probe("after", size, returned ? returned - HEADER : old_chunk);
	put_rseq();
	raw_exit(0);
}

static void *act(void *argument)
{
	(void)argument;
	_Alignas(16) size_t stack[64] = {0};
	first_block = (uintptr_t)must_malloc(24);
	if (!chosen->build(stack) || predict_case.op == OP_NONE)
		_exit(3);
	char line[128];
	int length = snprintf(line, sizeof line, "case %d 0x%lx 0x%lx\n", predict_case.op,
	                      (unsigned long)predict_case.pointer, (unsigned long)predict_case.size);
	if (write(truth_fd, line, (size_t)length) < 0)
		_exit(5);
	predict_stop();
	pid_t child = fork();
	if (child == 0)
		real_call();
	int status = 0;
	while (child > 0 && waitpid(child, &status, 0) < 0)
		;
	if (child < 0)
		put_line("status", "fork_failed", 1);
	else if (WIFSIGNALED(status))
		put_line("status", "signal", (uintptr_t)WTERMSIG(status));
	else
		put_line("status", "exit", (uintptr_t)WEXITSTATUS(status));
	_exit(0);
}

static const struct situation *const tables[] = {clean_situations, damaged_situations, foreign_situations};
static const char *const classes[] = {"clean", "damaged", "damaged"};

static const struct situation *find(const char *kind)
{
	for (int table = 0; table < 3; table++)
		for (const struct situation *s = tables[table]; s->kind; s++)
			if (strcmp(s->kind, kind) == 0)
				return s;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (int table = 0; table < 3; table++)
			for (const struct situation *s = tables[table]; s->kind; s++)
				printf("%s %s\n", classes[table], s->kind);
		return 0;
	}
	if (argc != 5 || (chosen = find(argv[1])) == NULL) {
		fprintf(stderr, "usage: predict_situations KIND SEED main|thread PREFIX\n");
		return 2;
	}
	random_state = strtoull(argv[2], NULL, 0) * 0x9e3779b97f4a7c15ULL + 1;
	char path[4096];
	snprintf(path, sizeof path, "%s.truth", argv[4]);
	truth_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	snprintf(path, sizeof path, "%s.stderr", argv[4]);
	stderr_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (truth_fd < 0 || stderr_fd < 0)
		return 2;
	predict_case.kind = chosen->kind;
	if (strcmp(argv[3], "thread") != 0)
		act(NULL);
	pthread_t thread;
	if (pthread_create(&thread, NULL, act, NULL) != 0)
		return 4;
	pthread_join(thread, NULL);
	return 0;
}
