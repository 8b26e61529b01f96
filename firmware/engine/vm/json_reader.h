/*
 * A small JSON reader for liquid-vm: parses a whole document into a tree of nodes so the
 * spec-test runner can walk wast2json scripts. Strings are decoded to UTF-8 and keep an
 * explicit length because export names in the spec tests may contain NUL bytes.
 */
#ifndef LIQUID_VM_JSON_READER_H
#define LIQUID_VM_JSON_READER_H

#include <stddef.h>

typedef enum {
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
} json_kind;

typedef struct json_node {
    json_kind kind;
    /* Member name when this node is a value inside an object, else NULL. */
    const char *key;
    size_t key_len;
    /* JSON_STRING: decoded bytes (NUL-terminated for convenience); JSON_NUMBER: the literal. */
    const char *text;
    size_t text_len;
    /* JSON_ARRAY / JSON_OBJECT: children in document order. */
    struct json_node *first_child;
    struct json_node *next;
    size_t child_count;
} json_node;

typedef struct json_document json_document;

/*
 * Parses `len` bytes of `src`. On success returns a document and sets *root; on failure returns
 * NULL and writes a message with the line number into `err` (at most err_size bytes).
 */
json_document *json_parse(const char *src, size_t len, const json_node **root, char *err,
                          size_t err_size);
void json_free(json_document *doc);

/*
 * Streaming over one big array, so a script of thousands of commands never needs more than
 * one command's tree in memory (this is what lets the spec runner work on a microcontroller's
 * RAM). The cursor walks `src` without copying it.
 */
typedef struct json_cursor {
    const char *src;
    size_t len;
    size_t pos;
    size_t line;
    int started; /* an element of the array was already returned */
} json_cursor;

/* Positions the cursor inside the array that is member `key` of the top-level object.
 * Returns 1, or 0 with a message in err. */
int json_cursor_enter_array(json_cursor *cursor, const char *src, size_t len, const char *key,
                            char *err, size_t err_size);
/* Parses the next array element into its own document: 1 with doc and node set, 0 at the end of
 * the array, -1 on a syntax error (message with line number in err). */
int json_cursor_next(json_cursor *cursor, json_document **doc, const json_node **node, char *err,
                     size_t err_size);

/* Object member lookup by name; NULL when absent or when `obj` is not an object. */
const json_node *json_get(const json_node *obj, const char *key);
/* The member's string value, or NULL when absent or not a string. */
const char *json_get_string(const json_node *obj, const char *key, size_t *len);
/* The member's value as a non-negative integer, or `fallback` when absent or not a number. */
long json_get_long(const json_node *obj, const char *key, long fallback);

#endif
