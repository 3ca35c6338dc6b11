/* The CUnit cases of gdb/native/link_words.c (tests/native/test_link_words.c), run by test-heapwalk. */
#ifndef TEST_LINK_WORDS_H
#define TEST_LINK_WORDS_H

#include <CUnit/CUnit.h>

extern CU_TestInfo link_words_tests[];

#endif
