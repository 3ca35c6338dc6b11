/*
 * Line and page transport for the prediction engine (predict_wire.h says what travels).
 */
#include "predict_wire.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void wire_write_all(int fd, const void *data, size_t length)
{
	const char *cursor = data;
	while (length > 0) {
		ssize_t written = write(fd, cursor, length);
		if (written < 0 && errno == EINTR)
			continue;
		if (written <= 0)
			_exit(1); /* nobody is listening any more */
		cursor += written;
		length -= (size_t)written;
	}
}

void wire_send(const char *text) { wire_write_all(STDOUT_FILENO, text, strlen(text)); }

void wire_read_exactly(int fd, void *data, size_t length)
{
	char *cursor = data;
	while (length > 0) {
		ssize_t got = read(fd, cursor, length);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			_exit(1);
		cursor += got;
		length -= (size_t)got;
	}
}

/* One byte at a time: the debugger sends nothing unasked, so nothing is read past the line, and
   the parent's and the child's reads of the one stdin never steal from each other. */
void wire_read_line(int fd, char *line, size_t capacity)
{
	size_t length = 0;
	for (;;) {
		char c;
		wire_read_exactly(fd, &c, 1);
		if (c == '\n')
			break;
		if (length + 1 < capacity)
			line[length++] = c;
	}
	line[length] = '\0';
}

char *wire_append(char *end, const char *text)
{
	size_t length = strlen(text);
	memcpy(end, text, length + 1);
	return end + length;
}

char *wire_format_hex(char *end, uint64_t value)
{
	char digits[16];
	int count = 0;
	do {
		digits[count++] = "0123456789abcdef"[value & 0xf];
		value >>= 4;
	} while (value != 0);
	*end++ = ' ';
	*end++ = '0';
	*end++ = 'x';
	while (count > 0)
		*end++ = digits[--count];
	*end = '\0';
	return end;
}
