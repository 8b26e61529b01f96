#include "vm_exports.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

void vm_quote_name(const char *name, size_t len, char *out, size_t out_size) {
    size_t n = 0;
    if (out_size == 0) return;
    for (size_t i = 0; i < len && n + 5 < out_size; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 0x20 && c < 0x7F && c != '\\') {
            out[n++] = (char)c;
        } else {
            n += (size_t)snprintf(out + n, out_size - n, "\\x%02x", c);
        }
    }
    out[n] = '\0';
}

static void set_error(lq_error *err, const char *prefix, const char *name, size_t len,
                      const char *suffix) {
    if (err == NULL) return;
    char quoted[64];
    vm_quote_name(name, len, quoted, sizeof quoted);
    err->status = LQ_ERROR;
    snprintf(err->message, sizeof err->message, "%s'%s'%s", prefix, quoted, suffix);
}

lq_status vm_find_export(lq_instance *instance, const char *name, size_t name_len,
                         lq_extern *out, lq_error *err) {
    if (name_len <= UINT32_MAX &&
        lq_instance_export_n(instance, name, (uint32_t)name_len, out) == LQ_OK) {
        return LQ_OK;
    }
    set_error(err, "no export named ", name, name_len, "");
    return LQ_ERROR;
}
