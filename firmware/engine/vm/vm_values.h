/*
 * Value syntax shared by every liquid-vm mode: `TYPE:VALUE` where ints are decimal (signed or
 * the unsigned bit pattern) and floats are raw IEEE-754 bits in hex, e.g. `i32:-5`, `i64:7`,
 * `f32:0x3fc00000`, `f64:0x3ff8000000000000`; references are `funcref:null`,
 * `externref:null` or `externref:N` (an opaque host reference numbered N).
 */
#ifndef LIQUID_VM_VALUES_H
#define LIQUID_VM_VALUES_H

#include <stddef.h>
#include <stdint.h>

#include "liquid_engine.h"

/* Longest text vm_format_value writes, NUL included. */
#define VM_VALUE_TEXT_MAX 48

/* The type letter used by lq_externtype strings ('i', 'I', 'f', 'F', 'r', 'e'), or 0. */
char vm_type_letter(uint8_t valtype);
/* The lq_valtype for a type letter, or 0 when the letter is unknown. */
uint8_t vm_type_from_letter(char letter);
/* "i32", "i64", ... for a valtype; "?" when unknown. */
const char *vm_type_name(uint8_t valtype);
/* The lq_valtype for a name such as "f32" or "externref" (length-delimited), or 0. */
uint8_t vm_type_from_name(const char *name, size_t len);

/*
 * Parses a command-line value `TYPE:VALUE`. On failure returns 0 and writes a message that
 * says what is accepted into `err`.
 */
int vm_parse_value(const char *text, lq_value *out, char *err, size_t err_size);

/* Formats a value in the same syntax vm_parse_value reads. */
void vm_format_value(const lq_value *value, char out[VM_VALUE_TEXT_MAX]);

/* Externref values made from numbers: N maps to a non-NULL host pointer, NULL stays null. */
void *vm_externref_from_number(uint64_t n);
int vm_externref_to_number(const void *ref, uint64_t *n);

/* Parses an unsigned decimal integer that fits in 64 bits (wast2json's value encoding). */
int vm_parse_u64(const char *text, uint64_t *out);

#endif
