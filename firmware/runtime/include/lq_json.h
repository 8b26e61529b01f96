/*
 * lq_json.h — a small allocation-free JSON reader for manifests and board descriptors.
 * Values are spans of the original text; nothing is copied until a string is extracted.
 */
#ifndef LQ_JSON_H
#define LQ_JSON_H
#include <stddef.h>

typedef struct lq_json {
  const char *s; /* first byte of the value */
  size_t n;      /* its length */
} lq_json;

/* Checks that text[0..len) is exactly one JSON value (whitespace around allowed, nesting at
 * most 32 deep). Returns 0 and the value, or -1. */
int lq_json_parse(const char *text, size_t len, lq_json *out);
/* '{' object, '[' array, '"' string, 'n' null, 't'/'f' booleans, '0' number, 0 invalid. */
char lq_json_kind(lq_json v);
/* Member `key` of an object. Returns 0 when found. */
int lq_json_get(lq_json obj, const char *key, lq_json *out);
/* Iterates an object's members or an array's elements: start with *pos = 0; returns 0 and the
 * next item (key is set for objects, may be NULL), -1 when there are no more. */
int lq_json_next(lq_json container, size_t *pos, lq_json *key, lq_json *value);
/* Unescapes a string value into buf (NUL-terminated). Returns its length, or -1 when it is not
 * a string or does not fit. */
int lq_json_string(lq_json v, char *buf, size_t cap);
/* Is v the string `s` (compared after unescaping)? */
int lq_json_eq(lq_json v, const char *s);
/* Integer value (fraction/exponent rejected). Returns 0 on success. */
int lq_json_int(lq_json v, long *out);
/* Writes s as a JSON string literal (with quotes, NUL-terminated) into buf, cutting the text
 * short when it does not fit, so the result is always valid JSON. Returns its length. */
size_t lq_json_quote(const char *s, size_t n, char *buf, size_t cap);
#endif
