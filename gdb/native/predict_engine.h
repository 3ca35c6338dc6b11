/*
 * What the prediction engine's modules offer each other (predict_engine.c runs the call,
 * predict_state.c takes on the inferior's state, predict_result.c says what happened).
 */
#ifndef PREDICT_ENGINE_H
#define PREDICT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct malloc_state;

/* Asks the debugger for every global and thread-local the allocator reads, and sets them. */
void predict_ask_for_state(struct malloc_state **arena, uintptr_t *program_break, char *program_name,
                           size_t name_capacity);
/* Whether the inferior's malloc has been initialised (as the engine took it on). */
bool predict_malloc_initialized(void);
/* In the child: the call went to a hook the inferior set, at `target`. */
_Noreturn void predict_report_hook(const char *name, uintptr_t target);
/* Before the call: the engine cannot answer, for the reason given. */
_Noreturn void predict_refuse(const char *why);
/* The one JSON line that answers the debugger, from the child's report and how it ended. */
void predict_send_result(const char *call, int status, int report_fd, int errors_fd, uintptr_t fresh_low,
                         uintptr_t fresh_high);

#endif
