/* A chunk whose address the program plants in known places and nowhere else, for `heap refs`:
 * inside three other chunks (at the user data, inside, at the header), in a local of a live
 * frame, in .data, in .bss, in a __thread variable of a second thread, as the main thread's
 * value of a thread-specific key (which glibc keeps in the thread's descriptor), and in register
 * r15 of the main thread at the stop (and, as a register, nowhere else).  The program writes
 * each planted word's address and value to the file named by argv[1], then stops in
 * refs_planted_stop().
 *
 * The address must exist nowhere else: it is only ever moved through scratch registers (built
 * at -O0, every variable lives in memory and no callee-saved register holds it), no function but
 * malloc and the record writer ever receives it, and the dead stack below the live frames is
 * wiped before the stop, so no returned call leaves a copy behind. */
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *planted_data = (void *)1; /* non-zero: in .data */
void *planted_bss;              /* zero: in .bss */
__thread void *planted_tls;     /* thread 2's copy is planted, the main thread's stays NULL */
void **holders[3];              /* the chunks that hold a planted pointer */
void **tls_slot;                /* where thread 2's planted_tls is */

static sem_t go, ready, never;
static pthread_key_t key;
static int record_fd;

static void record(const char *kind, void *address, void *value)
{
	char line[128];
	int length =
	    snprintf(line, sizeof line, "%s %#lx %#lx\n", kind, (unsigned long)address, (unsigned long)value);
	if (write(record_fd, line, (size_t)length) != length)
		_exit(3);
}

/* Zeroes the stack below the caller's frame, where returned calls left their words. */
static void __attribute__((noinline)) wipe_dead_stack(void)
{
	volatile char area[32768];
	for (size_t i = 0; i < sizeof area; i++)
		area[i] = 0;
}

void __attribute__((noinline)) refs_planted_stop(void) { __asm__ volatile("" ::: "memory"); }

static void *second_thread(void *unused)
{
	(void)unused;
	sem_wait(&go);
	planted_tls = *(void *volatile *)&planted_data;
	tls_slot = &planted_tls;
	sem_post(&ready);
	wipe_dead_stack();
	sem_wait(&never);
	return NULL;
}

static void __attribute__((noinline)) plant(void)
{
	for (int i = 0; i < 3; i++) {
		holders[i] = malloc(64);
		memset(holders[i], 0, 64);
	}
	char *target = malloc(200);
	memset(target, 0x11, 200);
	holders[0][3] = target;      /* the user pointer */
	holders[1][5] = target + 40; /* inside */
	holders[2][0] = target - 16; /* the header */
	planted_data = target;
	planted_bss = target;
	target = NULL;
}

/* Where the main thread's descriptor holds the key's value: the word equal to it, searched
 * from the thread pointer up (glibc's descriptor is at the thread pointer; the first keys'
 * values are an array inside it). */
static void *const *key_slot(void *value)
{
	void *const *descriptor = (void *const *)pthread_self();
	for (size_t i = 0; i < 4096 / sizeof(void *); i++)
		if (descriptor[i] == value)
			return &descriptor[i];
	_exit(6);
}

static void __attribute__((noinline)) hold_on_stack(void)
{
	void *volatile on_stack;
	on_stack = *(void *volatile *)&planted_bss;
	record("target", NULL, planted_bss);
	record("heap", &holders[0][3], holders[0][3]);
	record("heap", &holders[1][5], holders[1][5]);
	record("heap", &holders[2][0], holders[2][0]);
	record("data", &planted_data, planted_data);
	record("bss", &planted_bss, planted_bss);
	record("tls", tls_slot, *tls_slot);
	if (pthread_key_create(&key, NULL) || pthread_setspecific(key, planted_bss))
		_exit(7);
	void *const *slot = key_slot(planted_bss); /* a statement of its own: no register keeps the
	                                              value across the call for the next one */
	record("descriptor", (void *)slot, planted_bss);
	record("stack", (void *)&on_stack, on_stack);
	record("register-r15", NULL, planted_bss);
	close(record_fd);
	wipe_dead_stack();
	/* Straight from memory into r15 (no scratch register on the way), which the empty stop
	 * function leaves as it is; the clobber has this frame save and restore the caller's. */
	__asm__ volatile("mov %0, %%r15" : : "m"(planted_bss) : "r15");
	refs_planted_stop();
	(void)on_stack;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	record_fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (record_fd < 0)
		return 2;
	sem_init(&go, 0, 0);
	sem_init(&ready, 0, 0);
	sem_init(&never, 0, 0);
	pthread_t thread;
	if (pthread_create(&thread, NULL, second_thread, NULL))
		return 2;
	plant();
	sem_post(&go);
	sem_wait(&ready);
	wipe_dead_stack();
	hold_on_stack();
	return 0;
}
