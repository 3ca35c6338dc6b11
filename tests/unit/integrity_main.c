/*
 * unit-integrity: one case per integrity check, each run against the system glibc (the oracle for
 * the message) and against the clone preloaded.
 */
#include "case_runner.h"
#include "integrity_suites.h"

int main(int argc, char **argv)
{
	static const struct heap_suite suites[] = {
	    {"integrity: malloc", integrity_malloc_cases},
	    {"integrity: free, realloc, consolidate, statistics", integrity_free_cases},
	};
	return case_runner_main(argc, argv, suites, sizeof suites / sizeof suites[0], "glibc,clone");
}
