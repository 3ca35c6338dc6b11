/*
 * The prediction engine's questions: before the call runs, the engine takes on the inferior's
 * allocator state by asking the debugger for each global and thread-local the allocator reads,
 * by its glibc name, at the size this build gives it.  The list below is the allocator's
 * (allocator/internal.h and the release's globals.c); the debugger only reads what is asked.
 *
 * Before 2.34 a non-NULL hook answers the call instead of malloc.  The engine never runs the
 * inferior's code: a hook that is set stands for "the call goes to this function", and its
 * stand-in reports that.  A hook still at its initialising function (the first call of its kind
 * clears it) is the engine's own initialising function, which does the same on the copy.
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks.h"
#include "internal.h"
#include "predict_engine.h"
#include "predict_wire.h"

#if MALLOC_INITIALIZED_IS_INT
/* The allocator's flag, under the name the engine's link gives it (mk/prediction_engine.mk). */
extern int predict___libc_malloc_initialized;
#endif

bool predict_malloc_initialized(void)
{
#if MALLOC_INITIALIZED_IS_INT
	return predict___libc_malloc_initialized >= 0;
#else
	return malloc_initialized();
#endif
}

struct engine_global {
	const char *name;
	void *where;
	size_t size;
};
#define GLOBAL(variable)                                                                                     \
	{                                                                                                    \
#variable, &(variable), sizeof(variable)                                                     \
	}

static const struct engine_global globals[] = {
    GLOBAL(mp_),
    GLOBAL(global_max_fast),
    GLOBAL(perturb_byte),
    GLOBAL(narenas),
    GLOBAL(narenas_limit),
    GLOBAL(next_to_use),
    GLOBAL(free_list),
    GLOBAL(aligned_heap_area),
    GLOBAL(list_lock),
    GLOBAL(free_list_lock),
#if MALLOC_INITIALIZED_IS_INT
    {"__libc_malloc_initialized", &predict___libc_malloc_initialized, sizeof(int)},
#else
    GLOBAL(__malloc_initialized),
    GLOBAL(__always_fail_morecore),
#endif
#if !TCACHE_KEY_IS_POINTER
    GLOBAL(tcache_key),
#endif
};

static bool ask_for_bytes(const char *kind, const char *name, void *where, size_t size)
{
	char question[WIRE_LINE_MAX];
	snprintf(question, sizeof question, "%s %s %zu\n", kind, name, size);
	wire_send(question);
	char answer[WIRE_LINE_MAX];
	wire_read_line(0, answer, sizeof answer);
	if (strcmp(answer, "none") == 0)
		return false;
	if (strncmp(answer, "value ", 6) != 0 || strlen(answer + 6) != 2 * size)
		predict_refuse("the debugger's answer does not fit the engine's variable");
	unsigned char *bytes = where;
	for (size_t i = 0; i < size; i++) {
		char pair[3] = {answer[6 + 2 * i], answer[7 + 2 * i], '\0'};
		bytes[i] = (unsigned char)strtoul(pair, NULL, 16);
	}
	return true;
}

/* "at 0x…" or "none" (0). */
static uintptr_t ask_for_address(const char *question)
{
	wire_send(question);
	char answer[WIRE_LINE_MAX];
	wire_read_line(0, answer, sizeof answer);
	return strncmp(answer, "at ", 3) == 0 ? strtoul(answer + 3, NULL, 16) : 0;
}

#if HAVE_HOOKS
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
/* The hooks, under the names the engine's link gives them (mk/prediction_engine.mk). */
extern void *(*predict_api___malloc_hook)(size_t, const void *);
extern void (*predict_api___free_hook)(void *, const void *);
extern void *(*predict_api___realloc_hook)(void *, size_t, const void *);
extern void *(*predict_api___memalign_hook)(size_t, size_t, const void *);
extern void (*predict_api___after_morecore_hook)(void);

static uintptr_t hook_target[5];
enum { MALLOC_HOOK, FREE_HOOK, REALLOC_HOOK, MEMALIGN_HOOK, AFTER_MORECORE_HOOK };

static void *malloc_hook_stand_in(size_t bytes, const void *caller)
{
	(void)bytes, (void)caller;
	predict_report_hook("__malloc_hook", hook_target[MALLOC_HOOK]);
}
static void free_hook_stand_in(void *mem, const void *caller)
{
	(void)mem, (void)caller;
	predict_report_hook("__free_hook", hook_target[FREE_HOOK]);
}
static void *realloc_hook_stand_in(void *mem, size_t bytes, const void *caller)
{
	(void)mem, (void)bytes, (void)caller;
	predict_report_hook("__realloc_hook", hook_target[REALLOC_HOOK]);
}
static void *memalign_hook_stand_in(size_t alignment, size_t bytes, const void *caller)
{
	(void)alignment, (void)bytes, (void)caller;
	predict_report_hook("__memalign_hook", hook_target[MEMALIGN_HOOK]);
}
static void after_morecore_hook_stand_in(void)
{
	predict_report_hook("__after_morecore_hook", hook_target[AFTER_MORECORE_HOOK]);
}

struct hook {
	const char *name;
	void **variable;
	void *stand_in;
	const char *initialiser; /* the inferior's function the hook starts at, NULL if none */
	void *own_initialiser;
};

static void take_hooks(void)
{
	const struct hook hooks[] = {
	    [MALLOC_HOOK] = {"__malloc_hook", (void **)&predict_api___malloc_hook,
	                     (void *)malloc_hook_stand_in, "malloc_hook_ini", (void *)malloc_hook_ini},
	    [FREE_HOOK] = {"__free_hook", (void **)&predict_api___free_hook, (void *)free_hook_stand_in, NULL,
	                   NULL},
	    [REALLOC_HOOK] = {"__realloc_hook", (void **)&predict_api___realloc_hook,
	                      (void *)realloc_hook_stand_in, "realloc_hook_ini", (void *)realloc_hook_ini},
	    [MEMALIGN_HOOK] = {"__memalign_hook", (void **)&predict_api___memalign_hook,
	                       (void *)memalign_hook_stand_in, "memalign_hook_ini",
	                       (void *)memalign_hook_ini},
	    [AFTER_MORECORE_HOOK] = {"__after_morecore_hook", (void **)&predict_api___after_morecore_hook,
	                             (void *)after_morecore_hook_stand_in, NULL, NULL},
	};
	for (size_t i = 0; i < sizeof hooks / sizeof hooks[0]; i++) {
		uintptr_t value = 0;
		if (!ask_for_bytes("global", hooks[i].name, &value, sizeof value))
			value = 0;
		hook_target[i] = value;
		*hooks[i].variable = NULL;
		if (value == 0)
			continue;
		char question[WIRE_LINE_MAX];
		if (hooks[i].initialiser != NULL) {
			snprintf(question, sizeof question, "symbol %s\n", hooks[i].initialiser);
			if (ask_for_address(question) == value) {
				*hooks[i].variable = hooks[i].own_initialiser;
				continue;
			}
		}
		*hooks[i].variable = hooks[i].stand_in;
	}
}
#else
static void take_hooks(void) {}
#endif

/* Whether the calling thread's process has ever had a second thread: which of malloc's paths run. */
static void take_thread_mode(void)
{
	wire_send("single_threaded\n");
	char answer[WIRE_LINE_MAX];
	wire_read_line(0, answer, sizeof answer);
	bool single = strcmp(answer, "yes") == 0;
#if HAVE_LIBC_SINGLE_THREADED
	__libc_single_threaded = single;
#else
	/* The engine's own thread header, where SINGLE_THREAD_P reads it (allocator/internal.h). */
	int multiple_threads = !single;
	__asm__ volatile("movl %0, %%fs:0x18" : : "r"(multiple_threads) : "memory");
#endif
}

void predict_ask_for_state(struct malloc_state **arena, uintptr_t *program_break, char *program_name,
                           size_t name_capacity)
{
	for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++)
		ask_for_bytes("global", globals[i].name, globals[i].where, globals[i].size);
	/* Thread-locals have no constant address to put in a table; a thread may not have them yet. */
	const struct engine_global thread_locals[] = {GLOBAL(tcache), GLOBAL(thread_arena),
	                                              GLOBAL(tcache_shutting_down)};
	for (size_t i = 0; i < sizeof thread_locals / sizeof thread_locals[0]; i++)
		if (!ask_for_bytes("thread", thread_locals[i].name, thread_locals[i].where,
		                   thread_locals[i].size))
			memset(thread_locals[i].where, 0, thread_locals[i].size);
	take_hooks();
	take_thread_mode();
	*arena = (struct malloc_state *)ask_for_address("symbol main_arena\n");
	if (*arena == NULL)
		predict_refuse("the inferior has no main_arena");
	*program_break = ask_for_address("break\n");
	wire_send("program_name\n");
	char answer[WIRE_LINE_MAX];
	wire_read_line(0, answer, sizeof answer);
	snprintf(program_name, name_capacity, "%s", strncmp(answer, "name ", 5) == 0 ? answer + 5 : "");
}
