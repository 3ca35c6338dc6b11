/*
 * A minimal JSON reader for the tests: ptm-layout's manifest is checked by reading it the way any
 * consumer would (as JSON), not by matching the text it happens to print.
 */
#ifndef PTM_TEST_JSON_VALUE_H
#define PTM_TEST_JSON_VALUE_H

#include <stddef.h>

enum json_kind { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_value {
	enum json_kind kind;
	long long number; /* JSON_NUMBER (integers only: manifests hold no fractions) and JSON_BOOL */
	char *string;
	size_t count; /* JSON_ARRAY and JSON_OBJECT */
	char **keys;  /* JSON_OBJECT */
	struct json_value **items;
};

/* NULL when `text` is not one complete JSON value. */
struct json_value *json_parse(const char *text);
/* The member `key` of an object, or NULL. */
const struct json_value *json_get(const struct json_value *object, const char *key);
void json_free(struct json_value *value);

#endif
