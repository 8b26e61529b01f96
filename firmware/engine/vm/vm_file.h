/* Reading a whole file (modules, spec-test scripts) for liquid-vm's host-side tools. */
#ifndef LIQUID_VM_FILE_H
#define LIQUID_VM_FILE_H

#include <stddef.h>

/* The file's bytes in a malloc'd buffer (free it), its length in *size; NULL when it cannot be
 * opened or read, or memory runs out (errno tells which). */
unsigned char *vm_read_file(const char *path, size_t *size);

#endif
