/*
 * The prediction engine's answer: one line, "result " and a JSON object, made from the child's
 * report (predict_engine.c writes it line by line), its stderr and how it ended.  The keys are
 * the extension's contract (docs/json.md): extend, never rename.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "predict_engine.h"
#include "predict_wire.h"

/* The whole of a memfd the child wrote, NUL-terminated. */
static char *read_back(int fd)
{
	size_t capacity = 1 << 16, length = 0;
	char *text = malloc(capacity);
	lseek(fd, 0, SEEK_SET);
	for (;;) {
		if (length + 1 == capacity)
			text = realloc(text, capacity *= 2);
		ssize_t got = read(fd, text + length, capacity - 1 - length);
		if (got <= 0)
			break;
		length += (size_t)got;
	}
	text[length] = '\0';
	return text;
}

static void put_string(FILE *out, const char *text)
{
	if (text == NULL) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(out, "\\%c", *c);
		else if (*c < 0x20 || *c >= 0x7f)
			fprintf(out, "\\u%04x", *c);
		else
			fputc(*c, out);
	}
	fputc('"', out);
}

static void put_list_start(FILE *out, const char *key, bool *first)
{
	fprintf(out, ", \"%s\": [", key);
	*first = true;
}

static void put_separator(FILE *out, bool *first)
{
	if (!*first)
		fputs(", ", out);
	*first = false;
}

/* The report's lines of one kind, "WORD A B", as a JSON list. */
static void put_pairs(FILE *out, const char *report, const char *word, const char *key,
                      const char *first_name, const char *second_name, const char *extra)
{
	bool first;
	put_list_start(out, key, &first);
	size_t word_length = strlen(word);
	for (const char *line = report; *line; line = strchr(line, '\n') + 1) {
		if (strncmp(line, word, word_length) == 0 && line[word_length] == ' ') {
			char *end;
			unsigned long a = strtoul(line + word_length, &end, 16);
			unsigned long b = strtoul(end, &end, 16);
			put_separator(out, &first);
			fprintf(out, "{\"%s\": %lu", first_name, a);
			if (second_name != NULL)
				fprintf(out, ", \"%s\": %lu", second_name, b);
			if (extra != NULL)
				fprintf(out, ", %s", extra);
			fputc('}', out);
		}
		if (strchr(line, '\n') == NULL)
			break;
	}
	fputc(']', out);
}

/* "change ADDRESS OLD NEW": each word of the inferior's memory the call wrote. */
static void put_changes(FILE *out, const char *report)
{
	bool first;
	put_list_start(out, "changes", &first);
	for (const char *line = report; *line; line = strchr(line, '\n') + 1) {
		if (strncmp(line, "change ", 7) == 0) {
			char *end;
			unsigned long address = strtoul(line + 7, &end, 16);
			unsigned long old = strtoul(end, &end, 16);
			unsigned long new = strtoul(end, &end, 16);
			put_separator(out, &first);
			fprintf(out, "{\"address\": %lu, \"old\": %lu, \"new\": %lu}", address, old, new);
		}
		if (strchr(line, '\n') == NULL)
			break;
	}
	fputc(']', out);
}

/* The rest of the first line that starts with `word` and a space, or NULL. */
static char *find_word(const char *report, const char *word)
{
	size_t word_length = strlen(word);
	for (const char *line = report; *line; line = strchr(line, '\n') + 1) {
		if (strncmp(line, word, word_length) == 0 && line[word_length] == ' ') {
			const char *start = line + word_length + 1;
			size_t length = strcspn(start, "\n");
			return strndup(start, length);
		}
		if (strchr(line, '\n') == NULL)
			break;
	}
	return NULL;
}

static unsigned long find_number(const char *report, const char *word, bool *found)
{
	char *text = find_word(report, word);
	*found = text != NULL;
	unsigned long value = text ? strtoul(text, NULL, 16) : 0;
	free(text);
	return value;
}

static const char *signal_name(int number)
{
	switch (number) {
	case SIGABRT:
		return "SIGABRT";
	case SIGSEGV:
		return "SIGSEGV";
	case SIGBUS:
		return "SIGBUS";
	case SIGILL:
		return "SIGILL";
	case SIGFPE:
		return "SIGFPE";
	case SIGTRAP:
		return "SIGTRAP";
	default:
		return "another signal";
	}
}

static const char *outcome_of(int status, const char *report)
{
	if (WIFSIGNALED(status))
		return WTERMSIG(status) == SIGABRT   ? "aborted"
		       : WTERMSIG(status) == SIGKILL ? "hung"
		                                     : "crashed";
	if (find_word(report, "hook") != NULL)
		return "hook";
	if (WIFEXITED(status) && WEXITSTATUS(status) == WIRE_EXIT_RETURNED)
		return "returned";
	return "unknown";
}

void predict_send_result(const char *call, int status, int report_fd, int errors_fd, uintptr_t fresh_low,
                         uintptr_t fresh_high)
{
	char *report = read_back(report_fd);
	char *errors = read_back(errors_fd);
	size_t error_length = strlen(errors);
	if (error_length > 0 && errors[error_length - 1] == '\n')
		errors[error_length - 1] = '\0';
	const char *outcome = outcome_of(status, report);
	FILE *out = stdout;
	fputs("result {\"op\": ", out);
	put_string(out, call);
	fputs(", \"outcome\": ", out);
	put_string(out, outcome);

	bool returned_found;
	unsigned long returned = find_number(report, "returned", &returned_found);
	bool new_mapping = returned_found && returned >= fresh_low && returned < fresh_high;
	if (returned_found && !new_mapping && strcmp(call, "free") != 0)
		fprintf(out, ", \"returns\": %lu", returned);
	else
		fputs(", \"returns\": null", out);
	fprintf(out, ", \"new_mapping\": %s", new_mapping ? "true" : "false");
	/* The last "call N" line: which of the repeated calls the child was in when it ended. */
	unsigned long calls = 0;
	for (const char *line = report; *line; line = strchr(line, '\n') + 1) {
		if (strncmp(line, "call ", 5) == 0)
			calls = strtoul(line + 5, NULL, 16);
		if (strchr(line, '\n') == NULL)
			break;
	}
	fprintf(out, ", \"calls\": %lu", calls);
	char *source = strcmp(call, "free") != 0 && returned_found ? find_word(report, "source") : NULL;
	fputs(", \"from\": ", out);
	put_string(out, source);
	char *destination = strcmp(outcome, "returned") == 0 ? find_word(report, "destination") : NULL;
	fputs(", \"to\": ", out);
	put_string(out, strcmp(call, "malloc") != 0 && strcmp(call, "calloc") != 0 ? destination : NULL);

	fputs(", \"abort\": ", out);
	put_string(out, strcmp(outcome, "aborted") == 0 ? errors : NULL);
	fputs(", \"signal\": ", out);
	put_string(out,
	           WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL ? signal_name(WTERMSIG(status)) : NULL);
	bool fault_found;
	unsigned long fault = find_number(report, "fault", &fault_found);
	if (fault_found && strcmp(outcome, "crashed") == 0)
		fprintf(out, ", \"fault\": %lu", fault);
	else
		fputs(", \"fault\": null", out);
	fputs(", \"fault_kind\": ", out);
	put_string(out, strcmp(outcome, "crashed") == 0 ? find_word(report, "fault_kind") : NULL);

	fputs(", \"hook\": ", out);
	char *hook = find_word(report, "hook");
	if (hook != NULL) {
		char *space = strchr(hook, ' ');
		*space = '\0';
		fprintf(out, "{\"name\": ");
		put_string(out, hook);
		fprintf(out, ", \"address\": %lu}", strtoul(space + 1, NULL, 16));
	} else {
		fputs("null", out);
	}
	fputs(", \"unknown\": ", out);
	put_string(out, strcmp(outcome, "hung") == 0 ? "the call did not finish (a loop in the heap?)"
	                                             : find_word(report, "unknown"));
	/* What the call did to memory: the words, of a call that returned; the system calls, of any
	   call that ran, for a call that dies after its munmap has still unmapped (the thread's own
	   TLS, perhaps: that is what it dies of). */
	const char *done = strcmp(outcome, "returned") == 0 ? report : "";
	const char *made = strcmp(outcome, "unknown") != 0 ? report : "";
	put_changes(out, done);
	put_pairs(out, made, "mapped", "mappings", "address", "length", "\"kind\": \"mmap\"");
	put_pairs(out, made, "unmapped", "unmappings", "address", "length", NULL);
	put_pairs(out, made, "break", "break", "old", "new", NULL);
	put_pairs(out, report, "lock_wait", "lock_waits", "address", NULL, NULL);
	fputs("}\n", out);
	fflush(out);
}

_Noreturn void predict_refuse(const char *why)
{
	printf("result {\"outcome\": \"unknown\", \"unknown\": ");
	put_string(stdout, why);
	printf("}\n");
	fflush(stdout);
	exit(0);
}
