/*
 * A library whose constructor registers allocating atfork handlers.  ld.so initialises a
 * program's libraries before a preloaded one, so these are registered before the clone's own
 * handlers, and their prepare handler runs after the clone has locked its arenas for fork.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "allocating_handlers.h"

struct handler_counts early_library_handlers;

ALLOCATING_HANDLERS(early, early_library_handlers)

__attribute__((constructor)) static void register_early_handlers(void)
{
	pthread_atfork(early_prepare, early_parent, early_child);
}
