/*
 * See unit_result.h.
 */
#include "unit_result.h"

#include <CUnit/Basic.h>
#include <stdio.h>

int unit_run_registry(void)
{
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		return unit_registry_error();
	unsigned int failed_tests = CU_get_number_of_tests_failed();
	unsigned int failures = CU_get_number_of_failures();
	unsigned int failed_suites = CU_get_number_of_suites_failed();
	printf("\n");
	CU_cleanup_registry();
	return failed_tests || failures || failed_suites ? 1 : 0;
}

int unit_registry_error(void)
{
	fprintf(stderr, "CUnit error: %s\n", CU_get_error_msg());
	CU_cleanup_registry();
	return 1;
}
