/*
 * The allocation history's sample (tests/gdb/test_history.py): three threads, one after the
 * other so that every run places every chunk alike, each calling every entry point the history
 * records.  Each call is noted with its source line, result and thread in the program's own
 * memory and written to the file named by argv[1] (with write(): stdio would allocate), then the
 * program stops in history_checkpoint with its threads still alive.
 *
 * The probes (probe_freed, probe_moved, probe_live, probe_mmapped) are user pointers the test
 * asks `heap history ADDR` and `heap chunk ADDR` about.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct call {
	const char *op;
	void *ptr, *old_ptr;
	size_t size;
	int line;
	pid_t thread;
};

static struct call calls[256];
static int call_count;
static pthread_mutex_t calls_lock = PTHREAD_MUTEX_INITIALIZER;

void *probe_freed, *probe_moved, *probe_live, *probe_mmapped;

static void *note(const char *op, void *ptr, void *old_ptr, size_t size, int line)
{
	pthread_mutex_lock(&calls_lock);
	calls[call_count++] = (struct call){op, ptr, old_ptr, size, line, gettid()};
	pthread_mutex_unlock(&calls_lock);
	return ptr;
}

/* Each on one line, so __LINE__ is the call's line. */
#define MALLOC(n) note("malloc", malloc(n), NULL, n, __LINE__)
#define CALLOC(count, n) note("calloc", calloc(count, n), NULL, (count) * (n), __LINE__)
#define REALLOC(p, n) note("realloc", realloc(p, n), p, n, __LINE__)
#define FREE(p) (free(p), note("free", p, NULL, 0, __LINE__))
#define POSIX_MEMALIGN(alignment, n)                                                                         \
	note("posix_memalign", ({                                                                            \
		     void *result_ = NULL;                                                                   \
		     posix_memalign(&result_, alignment, n) == 0 ? result_ : NULL;                           \
	     }),                                                                                             \
	     NULL, n, __LINE__)

/* Stays put: the test reads the pointers and runs `heap history` here. */
__attribute__((noinline)) void history_checkpoint(void) { __asm__ volatile(""); }

static sem_t done, release;

static void aligned_calls(void)
{
	note("memalign", memalign(64, 100), NULL, 100, __LINE__);
	POSIX_MEMALIGN(128, 40);
	note("aligned_alloc", aligned_alloc(256, 512), NULL, 512, __LINE__);
	void *v = note("valloc", valloc(3000), NULL, 3000, __LINE__);
	void *pv = note("pvalloc", pvalloc(5000), NULL, 5000, __LINE__);
	FREE(v);
	FREE(pv);
}

static void *worker(void *argument)
{
	size_t k = (size_t)argument;
	void *a = MALLOC(24 + k);
	void *b = CALLOC(4, 10 + k);
	void *c = REALLOC(b, 200 + k);
	void *d = MALLOC(1000 + k);
	FREE(a);
	aligned_calls();
	FREE(d);
	(void)c;
	sem_post(&done);
	sem_wait(&release);
	return NULL;
}

static void write_calls(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	char line[160];
	for (int i = 0; i < call_count; i++) {
		const struct call *call = &calls[i];
		int length = snprintf(line, sizeof line, "%s %p %p %zu %d %d\n", call->op, call->ptr,
		                      call->old_ptr, call->size, call->line, (int)call->thread);
		write(fd, line, (size_t)length);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	pthread_t threads[2];
	sem_init(&done, 0, 0);
	sem_init(&release, 0, 0);
	for (size_t k = 0; k < 2; k++) {
		pthread_create(&threads[k], NULL, worker, (void *)(k + 1));
		sem_wait(&done);
	}
	void *freed = MALLOC(40);
	probe_live = MALLOC(72);
	void *grown = MALLOC(48);
	void *fence = MALLOC(16); /* keeps the realloc below from growing in place */
	void *moved = REALLOC(grown, 4000);
	FREE(freed);
	probe_freed = freed;
	probe_moved = grown;
	probe_mmapped = MALLOC(300000);
	aligned_calls();
	(void)moved, (void)fence;
	write_calls(argc > 1 ? argv[1] : "/dev/null");
	history_checkpoint();
	for (size_t k = 0; k < 2; k++)
		sem_post(&release);
	for (size_t k = 0; k < 2; k++)
		pthread_join(threads[k], NULL);
	return 0;
}
