/* A growable byte buffer that lq_snapshot writes into, shared by the fuzz targets. */
#ifndef FUZZ_BUFFER_H
#define FUZZ_BUFFER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct buffer {
    uint8_t *data;
    size_t len, cap;
    size_t limit; /* 0: none; a snapshot larger than this fails the write, as on a small device */
} buffer;

static int buffer_write(void *user, const void *data, size_t len) {
    buffer *b = (buffer *)user;
    if (b->limit && (len > b->limit || b->len + len > b->limit)) return 1;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len) cap *= 2;
        uint8_t *p = (uint8_t *)realloc(b->data, cap);
        if (p == NULL) return 1;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

#endif
