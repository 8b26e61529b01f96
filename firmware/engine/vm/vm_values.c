#include "vm_values.h"

/* Formats use long long casts, not <inttypes.h> macros: newlib-nano on the ARM build lacks
 * the 64-bit ones. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char vm_type_letter(uint8_t valtype) {
    switch (valtype) {
    case LQ_I32: return 'i';
    case LQ_I64: return 'I';
    case LQ_F32: return 'f';
    case LQ_F64: return 'F';
    case LQ_FUNCREF: return 'r';
    case LQ_EXTERNREF: return 'e';
    default: return 0;
    }
}

uint8_t vm_type_from_letter(char letter) {
    switch (letter) {
    case 'i': return LQ_I32;
    case 'I': return LQ_I64;
    case 'f': return LQ_F32;
    case 'F': return LQ_F64;
    case 'r': return LQ_FUNCREF;
    case 'e': return LQ_EXTERNREF;
    default: return 0;
    }
}

const char *vm_type_name(uint8_t valtype) {
    switch (valtype) {
    case LQ_I32: return "i32";
    case LQ_I64: return "i64";
    case LQ_F32: return "f32";
    case LQ_F64: return "f64";
    case LQ_FUNCREF: return "funcref";
    case LQ_EXTERNREF: return "externref";
    default: return "?";
    }
}

uint8_t vm_type_from_name(const char *name, size_t len) {
    static const uint8_t types[] = {LQ_I32, LQ_I64, LQ_F32, LQ_F64, LQ_FUNCREF, LQ_EXTERNREF};
    for (size_t i = 0; i < sizeof types; i++) {
        const char *n = vm_type_name(types[i]);
        if (strlen(n) == len && memcmp(n, name, len) == 0) return types[i];
    }
    return 0;
}

/* Host references are numbered from 0 in scripts, but NULL is the null reference, so the
 * pointer carries N+1. The pointer is never dereferenced. */
void *vm_externref_from_number(uint64_t n) {
    return (void *)(uintptr_t)(n + 1);
}

int vm_externref_to_number(const void *ref, uint64_t *n) {
    if (ref == NULL) return 0;
    *n = (uint64_t)(uintptr_t)ref - 1;
    return 1;
}

int vm_parse_u64(const char *text, uint64_t *out) {
    if (text == NULL || *text < '0' || *text > '9') return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0') return 0;
    *out = (uint64_t)v;
    return 1;
}

/* Parses a decimal integer, signed or unsigned, that fits in `bits` bits either way. */
static int parse_int(const char *text, unsigned bits, uint64_t *out) {
    const char *digits = text;
    int negative = 0;
    if (*digits == '-' || *digits == '+') {
        negative = *digits == '-';
        digits++;
    }
    uint64_t magnitude;
    if (!vm_parse_u64(digits, &magnitude)) return 0;
    uint64_t max_unsigned = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
    uint64_t max_negative = UINT64_C(1) << (bits - 1); /* magnitude of the minimum */
    if (negative) {
        if (magnitude > max_negative) return 0;
        *out = (0 - magnitude) & max_unsigned;
    } else {
        if (magnitude > max_unsigned) return 0;
        *out = magnitude;
    }
    return 1;
}

/* Parses `0x` + 1..digits hex digits. */
static int parse_bits(const char *text, unsigned digits, uint64_t *out) {
    if (text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) return 0;
    const char *p = text + 2;
    size_t n = strlen(p);
    if (n == 0 || n > digits) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        unsigned d;
        if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = (unsigned)(c - 'A' + 10);
        else return 0;
        v = (v << 4) | d;
    }
    *out = v;
    return 1;
}

int vm_parse_value(const char *text, lq_value *out, char *err, size_t err_size) {
    const char *colon = strchr(text, ':');
    uint8_t type = colon ? vm_type_from_name(text, (size_t)(colon - text)) : 0;
    if (type == 0) {
        snprintf(err, err_size,
                 "bad argument '%s': expected TYPE:VALUE with TYPE one of i32, i64, f32, f64, "
                 "funcref, externref (e.g. i32:-5, f32:0x3fc00000)",
                 text);
        return 0;
    }
    const char *v = colon + 1;
    uint64_t bits;
    switch (type) {
    case LQ_I32:
    case LQ_I64: {
        unsigned width = type == LQ_I32 ? 32 : 64;
        if (!parse_int(v, width, &bits)) {
            snprintf(err, err_size, "bad argument '%s': %s value must be a decimal integer in "
                     "the %u-bit signed or unsigned range", text, vm_type_name(type), width);
            return 0;
        }
        *out = type == LQ_I32 ? lq_i32((int32_t)(uint32_t)bits) : lq_i64((int64_t)bits);
        return 1;
    }
    case LQ_F32:
    case LQ_F64: {
        unsigned digits = type == LQ_F32 ? 8 : 16;
        if (!parse_bits(v, digits, &bits)) {
            snprintf(err, err_size, "bad argument '%s': %s value must be its raw IEEE-754 bits "
                     "as 0x followed by at most %u hex digits (e.g. %s)", text, vm_type_name(type),
                     digits, type == LQ_F32 ? "f32:0x3fc00000" : "f64:0x3ff8000000000000");
            return 0;
        }
        *out = type == LQ_F32 ? lq_f32_bits((uint32_t)bits) : lq_f64_bits(bits);
        return 1;
    }
    default:
        if (strcmp(v, "null") == 0) {
            *out = lq_ref((lq_valtype)type, NULL);
            return 1;
        }
        if (type == LQ_EXTERNREF && vm_parse_u64(v, &bits) && bits < UINT64_MAX) {
            *out = lq_ref(LQ_EXTERNREF, vm_externref_from_number(bits));
            return 1;
        }
        snprintf(err, err_size, "bad argument '%s': %s", text,
                 type == LQ_FUNCREF ? "a funcref argument can only be funcref:null"
                                    : "an externref argument is externref:null or externref:N");
        return 0;
    }
}

void vm_format_value(const lq_value *value, char out[VM_VALUE_TEXT_MAX]) {
    uint64_t n;
    switch (value->type) {
    case LQ_I32:
        snprintf(out, VM_VALUE_TEXT_MAX, "i32:%ld", (long)(int32_t)value->of.i32);
        break;
    case LQ_I64:
        snprintf(out, VM_VALUE_TEXT_MAX, "i64:%lld", (long long)(int64_t)value->of.i64);
        break;
    case LQ_F32:
        snprintf(out, VM_VALUE_TEXT_MAX, "f32:0x%08lx", (unsigned long)value->of.f32);
        break;
    case LQ_F64:
        snprintf(out, VM_VALUE_TEXT_MAX, "f64:0x%016llx", (unsigned long long)value->of.f64);
        break;
    case LQ_FUNCREF:
        /* Function identities are addresses, which differ run to run: only say which. */
        snprintf(out, VM_VALUE_TEXT_MAX, "funcref:%s", value->of.ref ? "func" : "null");
        break;
    case LQ_EXTERNREF:
        if (vm_externref_to_number(value->of.ref, &n)) {
            snprintf(out, VM_VALUE_TEXT_MAX, "externref:%llu", (unsigned long long)n);
        } else {
            snprintf(out, VM_VALUE_TEXT_MAX, "externref:null");
        }
        break;
    default:
        snprintf(out, VM_VALUE_TEXT_MAX, "unknown:0x%02x", value->type);
        break;
    }
}
