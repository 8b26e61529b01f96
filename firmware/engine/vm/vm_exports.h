/*
 * Export lookup by (name, length): wasm names may contain any bytes, NUL included, so names
 * from scripts and imports are never treated as C strings.
 */
#ifndef LIQUID_VM_EXPORTS_H
#define LIQUID_VM_EXPORTS_H

#include <stddef.h>

#include "liquid_engine.h"

/* LQ_OK and *out filled, or LQ_ERROR with a message in err. */
lq_status vm_find_export(lq_instance *instance, const char *name, size_t name_len,
                         lq_extern *out, lq_error *err);

/* Writes `name` for messages: printable ASCII as is, other bytes as \xNN, truncated. */
void vm_quote_name(const char *name, size_t len, char *out, size_t out_size);

#endif
