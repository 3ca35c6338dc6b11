/*
 * Recursive-descent JSON parsing into a tree (see json_value.h).  Strict enough to reject a
 * truncated or malformed manifest, which is what a test wants to notice.
 */
#include "json_value.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	const char *at;
	int depth;
};

static void skip_space(struct parser *p)
{
	while (isspace((unsigned char)*p->at))
		p->at++;
}

static struct json_value *new_value(enum json_kind kind)
{
	struct json_value *value = calloc(1, sizeof *value);
	if (value != NULL)
		value->kind = kind;
	return value;
}

static char *parse_string(struct parser *p)
{
	if (*p->at != '"')
		return NULL;
	p->at++;
	size_t capacity = 16, length = 0;
	char *out = malloc(capacity);
	while (out != NULL && *p->at != '"') {
		char c = *p->at++;
		if (c == '\0' || (unsigned char)c < 0x20)
			goto bad;
		if (c == '\\') {
			char escaped = *p->at++;
			switch (escaped) {
			case '"':
			case '\\':
			case '/':
				c = escaped;
				break;
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'r':
				c = '\r';
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'u': {
				char hex[5] = {0};
				for (int i = 0; i < 4; i++) {
					if (!isxdigit((unsigned char)p->at[i]))
						goto bad;
					hex[i] = p->at[i];
				}
				p->at += 4;
				long code = strtol(hex, NULL, 16);
				c = code < 0x80 ? (char)code : '?'; /* manifests are ASCII */
				break;
			}
			default:
				goto bad;
			}
		}
		if (length + 2 > capacity) {
			char *bigger = realloc(out, capacity *= 2);
			if (bigger == NULL)
				goto bad;
			out = bigger;
		}
		out[length++] = c;
	}
	if (out == NULL)
		return NULL;
	out[length] = '\0';
	p->at++;
	return out;
bad:
	free(out);
	return NULL;
}

static struct json_value *parse_value(struct parser *p);

static int append(struct json_value *container, char *key, struct json_value *item)
{
	size_t n = container->count + 1;
	struct json_value **items = realloc(container->items, n * sizeof *items);
	if (items == NULL)
		return -1;
	container->items = items;
	if (container->kind == JSON_OBJECT) {
		char **keys = realloc(container->keys, n * sizeof *keys);
		if (keys == NULL)
			return -1;
		container->keys = keys;
		keys[n - 1] = key;
	}
	items[n - 1] = item;
	container->count = n;
	return 0;
}

static struct json_value *parse_container(struct parser *p, enum json_kind kind, char close)
{
	struct json_value *container = new_value(kind);
	if (container == NULL || ++p->depth > 64)
		goto bad;
	p->at++;
	skip_space(p);
	if (*p->at == close) {
		p->at++;
		p->depth--;
		return container;
	}
	for (;;) {
		char *key = NULL;
		skip_space(p);
		if (kind == JSON_OBJECT) {
			key = parse_string(p);
			skip_space(p);
			if (key == NULL || *p->at != ':') {
				free(key);
				goto bad;
			}
			p->at++;
		}
		struct json_value *item = parse_value(p);
		if (item == NULL || append(container, key, item) != 0) {
			free(key);
			json_free(item);
			goto bad;
		}
		skip_space(p);
		if (*p->at == ',') {
			p->at++;
			continue;
		}
		if (*p->at != close)
			goto bad;
		p->at++;
		p->depth--;
		return container;
	}
bad:
	json_free(container);
	return NULL;
}

static struct json_value *parse_value(struct parser *p)
{
	skip_space(p);
	struct json_value *value;
	switch (*p->at) {
	case '{':
		return parse_container(p, JSON_OBJECT, '}');
	case '[':
		return parse_container(p, JSON_ARRAY, ']');
	case '"':
		value = new_value(JSON_STRING);
		if (value != NULL && (value->string = parse_string(p)) == NULL) {
			free(value);
			value = NULL;
		}
		return value;
	}
	if (strncmp(p->at, "null", 4) == 0 || strncmp(p->at, "true", 4) == 0) {
		value = new_value(p->at[0] == 'n' ? JSON_NULL : JSON_BOOL);
		if (value != NULL)
			value->number = p->at[0] == 't';
		p->at += 4;
		return value;
	}
	if (strncmp(p->at, "false", 5) == 0) {
		p->at += 5;
		return new_value(JSON_BOOL);
	}
	if (*p->at == '-' || isdigit((unsigned char)*p->at)) {
		char *end;
		errno = 0;
		long long number = strtoll(p->at, &end, 10);
		if (errno != 0 || *end == '.' || *end == 'e' || *end == 'E')
			return NULL;
		p->at = end;
		value = new_value(JSON_NUMBER);
		if (value != NULL)
			value->number = number;
		return value;
	}
	return NULL;
}

struct json_value *json_parse(const char *text)
{
	struct parser p = {text, 0};
	struct json_value *value = parse_value(&p);
	skip_space(&p);
	if (value != NULL && *p.at != '\0') {
		json_free(value);
		return NULL;
	}
	return value;
}

const struct json_value *json_get(const struct json_value *object, const char *key)
{
	if (object == NULL || object->kind != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < object->count; i++)
		if (strcmp(object->keys[i], key) == 0)
			return object->items[i];
	return NULL;
}

void json_free(struct json_value *value)
{
	if (value == NULL)
		return;
	for (size_t i = 0; i < value->count; i++) {
		json_free(value->items[i]);
		if (value->keys != NULL)
			free(value->keys[i]);
	}
	free(value->items);
	free(value->keys);
	free(value->string);
	free(value);
}
