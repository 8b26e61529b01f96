/*
 * Recursive-descent JSON parser. All nodes and decoded strings live in one arena owned by the
 * document, so freeing a parsed script is a single walk over a list of blocks.
 */
#include "json_reader.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64
#define ARENA_BLOCK_SIZE (64u * 1024u)

typedef struct arena_block {
    struct arena_block *next;
    size_t used;
    size_t size;
    /* Payload follows; union keeps it aligned for json_node. */
    union {
        void *p;
        double d;
        long l;
    } align[1];
} arena_block;

struct json_document {
    arena_block *blocks;
    json_node *root;
};

typedef struct {
    const char *src;
    size_t len;
    size_t pos;
    size_t line;
    int depth;
    json_document *doc;
    char *err;
    size_t err_size;
    int failed;
} parser;

static void *arena_alloc(json_document *doc, size_t size) {
    size = (size + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
    arena_block *b = doc->blocks;
    if (b == NULL || b->size - b->used < size) {
        size_t payload = size > ARENA_BLOCK_SIZE ? size : ARENA_BLOCK_SIZE;
        b = malloc(sizeof(arena_block) + payload);
        if (b == NULL) return NULL;
        b->next = doc->blocks;
        b->used = 0;
        b->size = payload;
        doc->blocks = b;
    }
    void *p = (char *)b->align + b->used;
    b->used += size;
    return p;
}

static void fail(parser *p, const char *fmt, ...) {
    if (p->failed) return;
    p->failed = 1;
    if (p->err == NULL || p->err_size == 0) return;
    int n = snprintf(p->err, p->err_size, "line %lu: ", (unsigned long)p->line);
    if (n < 0 || (size_t)n >= p->err_size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->err_size - (size_t)n, fmt, ap);
    va_end(ap);
}

static void skip_space(parser *p) {
    while (p->pos < p->len) {
        char c = p->src[p->pos];
        if (c == '\n') {
            p->line++;
        } else if (c != ' ' && c != '\t' && c != '\r') {
            return;
        }
        p->pos++;
    }
}

static json_node *new_node(parser *p, json_kind kind) {
    json_node *n = arena_alloc(p->doc, sizeof(json_node));
    if (n == NULL) {
        fail(p, "out of memory");
        return NULL;
    }
    memset(n, 0, sizeof *n);
    n->kind = kind;
    return n;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(parser *p, uint32_t *out) {
    if (p->len - p->pos < 4) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(p->src[p->pos + (size_t)i]);
        if (d < 0) return 0;
        v = (v << 4) | (uint32_t)d;
    }
    p->pos += 4;
    *out = v;
    return 1;
}

static size_t put_utf8(char *dst, uint32_t cp) {
    if (cp < 0x80) {
        dst[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        dst[0] = (char)(0xC0 | (cp >> 6));
        dst[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        dst[0] = (char)(0xE0 | (cp >> 12));
        dst[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        dst[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    dst[0] = (char)(0xF0 | (cp >> 18));
    dst[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    dst[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    dst[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string literal at p->pos (which is at the opening quote). */
static int parse_string(parser *p, const char **out, size_t *out_len) {
    p->pos++; /* opening quote */
    size_t start = p->pos;
    /* Decoded text is never longer than the escaped source, so size the buffer from it. */
    size_t end = start;
    while (end < p->len && p->src[end] != '"') {
        if (p->src[end] == '\\') end++;
        end++;
    }
    if (end >= p->len) {
        fail(p, "unterminated string");
        return 0;
    }
    char *buf = arena_alloc(p->doc, end - start + 1);
    if (buf == NULL) {
        fail(p, "out of memory");
        return 0;
    }
    size_t n = 0;
    while (p->pos < end) {
        char c = p->src[p->pos++];
        if ((unsigned char)c < 0x20) {
            fail(p, "control character in string");
            return 0;
        }
        if (c != '\\') {
            buf[n++] = c;
            continue;
        }
        char e = p->src[p->pos++];
        switch (e) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
            uint32_t cp;
            if (!read_hex4(p, &cp)) {
                fail(p, "bad \\u escape");
                return 0;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF && p->len - p->pos >= 6 && p->src[p->pos] == '\\' &&
                p->src[p->pos + 1] == 'u') {
                size_t save = p->pos;
                uint32_t lo;
                p->pos += 2;
                if (read_hex4(p, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else {
                    p->pos = save;
                }
            }
            /* A \uXXXX escape takes 6 source bytes and at most 3 output bytes (4 for a pair
             * that took 12), so the buffer sized from the source is always big enough. */
            n += put_utf8(buf + n, cp);
            break;
        }
        default:
            fail(p, "bad escape '\\%c'", e);
            return 0;
        }
    }
    buf[n] = '\0';
    p->pos = end + 1;
    *out = buf;
    *out_len = n;
    return 1;
}

static json_node *parse_value(parser *p);

static json_node *parse_container(parser *p, int is_object) {
    json_node *node = new_node(p, is_object ? JSON_OBJECT : JSON_ARRAY);
    if (node == NULL) return NULL;
    if (++p->depth > JSON_MAX_DEPTH) {
        fail(p, "nesting deeper than %d", JSON_MAX_DEPTH);
        return NULL;
    }
    char close = is_object ? '}' : ']';
    p->pos++;
    skip_space(p);
    json_node **tail = &node->first_child;
    if (p->pos < p->len && p->src[p->pos] == close) {
        p->pos++;
        p->depth--;
        return node;
    }
    for (;;) {
        const char *key = NULL;
        size_t key_len = 0;
        skip_space(p);
        if (is_object) {
            if (p->pos >= p->len || p->src[p->pos] != '"') {
                fail(p, "expected a member name");
                return NULL;
            }
            if (!parse_string(p, &key, &key_len)) return NULL;
            skip_space(p);
            if (p->pos >= p->len || p->src[p->pos] != ':') {
                fail(p, "expected ':'");
                return NULL;
            }
            p->pos++;
        }
        json_node *child = parse_value(p);
        if (child == NULL) return NULL;
        child->key = key;
        child->key_len = key_len;
        *tail = child;
        tail = &child->next;
        node->child_count++;
        skip_space(p);
        if (p->pos >= p->len) {
            fail(p, "unexpected end of input");
            return NULL;
        }
        char c = p->src[p->pos++];
        if (c == close) break;
        if (c != ',') {
            fail(p, "expected ',' or '%c'", close);
            return NULL;
        }
    }
    p->depth--;
    return node;
}

static int match_word(parser *p, const char *word) {
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->src + p->pos, word, n) != 0) return 0;
    p->pos += n;
    return 1;
}

static json_node *parse_value(parser *p) {
    skip_space(p);
    if (p->pos >= p->len) {
        fail(p, "unexpected end of input");
        return NULL;
    }
    char c = p->src[p->pos];
    if (c == '{') return parse_container(p, 1);
    if (c == '[') return parse_container(p, 0);
    if (c == '"') {
        json_node *n = new_node(p, JSON_STRING);
        if (n == NULL || !parse_string(p, &n->text, &n->text_len)) return NULL;
        return n;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        size_t start = p->pos;
        p->pos++;
        while (p->pos < p->len) {
            char d = p->src[p->pos];
            if ((d >= '0' && d <= '9') || d == '.' || d == 'e' || d == 'E' || d == '+' || d == '-') {
                p->pos++;
            } else {
                break;
            }
        }
        json_node *n = new_node(p, JSON_NUMBER);
        if (n == NULL) return NULL;
        char *t = arena_alloc(p->doc, p->pos - start + 1);
        if (t == NULL) {
            fail(p, "out of memory");
            return NULL;
        }
        memcpy(t, p->src + start, p->pos - start);
        t[p->pos - start] = '\0';
        n->text = t;
        n->text_len = p->pos - start;
        return n;
    }
    if (match_word(p, "true")) return new_node(p, JSON_TRUE);
    if (match_word(p, "false")) return new_node(p, JSON_FALSE);
    if (match_word(p, "null")) return new_node(p, JSON_NULL);
    fail(p, "unexpected character '%c'", c);
    return NULL;
}

json_document *json_parse(const char *src, size_t len, const json_node **root, char *err,
                          size_t err_size) {
    json_document *doc = calloc(1, sizeof *doc);
    if (doc == NULL) {
        if (err && err_size) snprintf(err, err_size, "out of memory");
        return NULL;
    }
    parser p = {src, len, 0, 1, 0, doc, err, err_size, 0};
    json_node *value = parse_value(&p);
    if (value != NULL) {
        skip_space(&p);
        if (p.pos != p.len) fail(&p, "trailing characters after the document");
    }
    if (value == NULL || p.failed) {
        json_free(doc);
        return NULL;
    }
    doc->root = value;
    *root = value;
    return doc;
}

/* Runs the parser over cursor->src from the cursor's position, keeping line numbers. */
static void cursor_to_parser(const json_cursor *c, parser *p, json_document *doc, char *err,
                             size_t err_size) {
    p->src = c->src;
    p->len = c->len;
    p->pos = c->pos;
    p->line = c->line;
    p->depth = 0;
    p->doc = doc;
    p->err = err;
    p->err_size = err_size;
    p->failed = 0;
}

int json_cursor_enter_array(json_cursor *cursor, const char *src, size_t len, const char *key,
                            char *err, size_t err_size) {
    memset(cursor, 0, sizeof *cursor);
    cursor->src = src;
    cursor->len = len;
    cursor->line = 1;
    json_document scratch = {NULL, NULL};
    parser p;
    cursor_to_parser(cursor, &p, &scratch, err, err_size);
    int found = 0;
    skip_space(&p);
    if (p.pos >= p.len || p.src[p.pos] != '{') {
        fail(&p, "expected an object");
    } else {
        p.pos++;
        for (;;) {
            skip_space(&p);
            const char *name = NULL;
            size_t name_len = 0;
            if (p.pos >= p.len || p.src[p.pos] != '"') {
                fail(&p, "no member \"%s\"", key);
                break;
            }
            if (!parse_string(&p, &name, &name_len)) break;
            skip_space(&p);
            if (p.pos >= p.len || p.src[p.pos] != ':') {
                fail(&p, "expected ':'");
                break;
            }
            p.pos++;
            skip_space(&p);
            if (name_len == strlen(key) && memcmp(name, key, name_len) == 0) {
                if (p.pos >= p.len || p.src[p.pos] != '[') {
                    fail(&p, "member \"%s\" is not an array", key);
                } else {
                    p.pos++;
                    found = 1;
                }
                break;
            }
            /* Another member: parse it to skip it (only small ones precede the commands). */
            if (parse_value(&p) == NULL) break;
            skip_space(&p);
            if (p.pos < p.len && p.src[p.pos] == ',') {
                p.pos++;
                continue;
            }
            fail(&p, "no member \"%s\"", key);
            break;
        }
    }
    arena_block *b = scratch.blocks;
    while (b != NULL) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    cursor->pos = p.pos;
    cursor->line = p.line;
    return found && !p.failed;
}

int json_cursor_next(json_cursor *cursor, json_document **doc, const json_node **node, char *err,
                     size_t err_size) {
    json_document *d = calloc(1, sizeof *d);
    if (d == NULL) {
        if (err && err_size) snprintf(err, err_size, "out of memory");
        return -1;
    }
    parser p;
    cursor_to_parser(cursor, &p, d, err, err_size);
    skip_space(&p);
    if (p.pos < p.len && p.src[p.pos] == ']') {
        cursor->pos = p.pos + 1;
        cursor->line = p.line;
        json_free(d);
        return 0;
    }
    if (cursor->started) {
        if (p.pos >= p.len || p.src[p.pos] != ',') {
            fail(&p, p.pos >= p.len ? "unexpected end of input" : "expected ',' or ']'");
            json_free(d);
            return -1;
        }
        p.pos++;
    }
    json_node *value = parse_value(&p);
    cursor->pos = p.pos;
    cursor->line = p.line;
    if (value == NULL || p.failed) {
        json_free(d);
        return -1;
    }
    cursor->started = 1;
    d->root = value;
    *doc = d;
    *node = value;
    return 1;
}

void json_free(json_document *doc) {
    if (doc == NULL) return;
    arena_block *b = doc->blocks;
    while (b != NULL) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    free(doc);
}

const json_node *json_get(const json_node *obj, const char *key) {
    if (obj == NULL || obj->kind != JSON_OBJECT) return NULL;
    size_t n = strlen(key);
    for (const json_node *c = obj->first_child; c != NULL; c = c->next) {
        if (c->key_len == n && memcmp(c->key, key, n) == 0) return c;
    }
    return NULL;
}

const char *json_get_string(const json_node *obj, const char *key, size_t *len) {
    const json_node *v = json_get(obj, key);
    if (v == NULL || v->kind != JSON_STRING) return NULL;
    if (len != NULL) *len = v->text_len;
    return v->text;
}

long json_get_long(const json_node *obj, const char *key, long fallback) {
    const json_node *v = json_get(obj, key);
    if (v == NULL || v->kind != JSON_NUMBER) return fallback;
    return strtol(v->text, NULL, 10);
}
