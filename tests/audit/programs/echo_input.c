/* A correct program for ptmalloc-audit's tests: copies its arguments, the variable AUDIT_GREETING
   and the first line of its standard input into the heap, prints them, frees everything and
   exits 0 (exit 3 when one of them is missing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *greeting = getenv("AUDIT_GREETING");
	char line[256];
	if (argc < 2 || greeting == NULL || fgets(line, sizeof line, stdin) == NULL)
		return 3;
	char **copies = malloc(sizeof(char *) * (size_t)argc);
	for (int i = 1; i < argc; i++)
		copies[i] = strdup(argv[i]);
	char *echo = strdup(line);
	printf("%s %s %s", greeting, copies[1], echo);
	for (int i = 1; i < argc; i++)
		free(copies[i]);
	free(copies);
	free(echo);
	return 0;
}
