/*
 * Output for programs that must not allocate: a static buffer drained with write(2), and number
 * formatting without stdio (whose lazy buffer is itself a malloc that would shift every address).
 */
#ifndef DIFF_RAW_OUTPUT_H
#define DIFF_RAW_OUTPUT_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static char output_buffer[1 << 16];
static size_t output_used;

static inline void flush_output(void)
{
	size_t done = 0;
	while (done < output_used) {
		ssize_t written = write(STDOUT_FILENO, output_buffer + done, output_used - done);
		if (written <= 0) {
			if (written < 0 && errno == EINTR)
				continue;
			_exit(3);
		}
		done += (size_t)written;
	}
	output_used = 0;
}

static inline void put_text(const char *text)
{
	size_t length = strlen(text);
	if (output_used + length > sizeof output_buffer)
		flush_output();
	memcpy(output_buffer + output_used, text, length);
	output_used += length;
}

static inline void put_number(uint64_t value, unsigned base)
{
	char digits[24];
	int at = sizeof digits - 1;
	digits[at] = '\0';
	do {
		digits[--at] = "0123456789abcdef"[value % base];
		value /= base;
	} while (value != 0);
	put_text(digits + at);
}

static inline void put_signed(long value)
{
	if (value < 0) {
		put_text("-");
		put_number((uint64_t)0 - (uint64_t)value, 10);
	} else {
		put_number((uint64_t)value, 10);
	}
}

#endif
