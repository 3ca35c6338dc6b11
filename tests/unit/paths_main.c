/*
 * unit-paths (statically linked to the clone, cases also check its internals) and
 * unit-paths-dynamic (run on the system glibc and on the preloaded clone): the same cases.
 */
#include "case_runner.h"
#include "paths_suites.h"

int main(int argc, char **argv)
{
	static const struct heap_suite suites[] = {
	    {"malloc paths", malloc_path_cases},
	    {"free paths", free_path_cases},
	    {"realloc", realloc_path_cases},
	    {"calloc, memalign family, malloc_usable_size", calloc_and_aligned_cases},
	};
	return case_runner_main(argc, argv, suites, sizeof suites / sizeof suites[0],
	                        PTM_INTERNALS ? "self" : "glibc,clone");
}
