/*
 * The prediction engine's side of its conversation with the GDB extension
 * (gdb/ptmalloc/predict/engine.py), and of the child's report to the parent: text lines of
 * words, numbers in hex, a page as a line and 4096 raw bytes.  No stdio and no malloc here: the
 * child calls these from its fault handler, in the middle of the allocator's code.
 */
#ifndef PREDICT_WIRE_H
#define PREDICT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_LINE_MAX 512

/* How the child ends when it does not die of a signal. */
enum { WIRE_EXIT_RETURNED = 0, WIRE_EXIT_UNKNOWN = 3, WIRE_EXIT_HOOK = 4 };

void wire_write_all(int fd, const void *data, size_t length);
/* To the debugger (stdout). */
void wire_send(const char *text);
/* A line without its newline; the process ends if the debugger has gone. */
void wire_read_line(int fd, char *line, size_t capacity);
void wire_read_exactly(int fd, void *data, size_t length);
/* Each writes at `end` and returns the new end, keeping the text NUL-terminated. */
char *wire_append(char *end, const char *text);
char *wire_format_hex(char *end, uint64_t value); /* " 0x…" */

#endif
