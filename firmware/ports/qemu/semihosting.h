/*
 * semihosting.h — ARM semihosting calls (BKPT 0xAB), used by the QEMU port to exit with a
 * status and to back the module store with a host file.
 *
 * QEMU answers them only with `-semihosting-config enable=on,target=native`. Without it the
 * BKPT raises a debug event that fault.c turns into a failed call (result -1), so the same
 * image runs either way; lq_semihosting_available() says which.
 */
#ifndef LQ_SEMIHOSTING_H
#define LQ_SEMIHOSTING_H

#include <stddef.h>
#include <stdint.h>

/* Set by the fault handler when it steps over a BKPT 0xAB nobody answered. */
extern volatile int lq_semihosting_bkpt_skipped;

/* Probes the debugger once; later calls return the cached answer. */
int lq_semihosting_available(void);

/* Ends the QEMU process with `status` (SYS_EXIT_EXTENDED). Returns only without semihosting. */
void lq_semihosting_exit(int status);

/* The command line QEMU was given (`-append`, after the kernel path), NUL-terminated. */
int lq_semihosting_cmdline(char *buf, size_t cap);

/* Host files: open modes as in the semihosting spec (3 = "r+b", 7 = "w+b"). Return -1 on error. */
int lq_semihosting_open(const char *path, int mode);
int lq_semihosting_close(int handle);
/* Return 0 when every byte was transferred. */
int lq_semihosting_write(int handle, const void *buf, size_t len);
int lq_semihosting_read(int handle, void *buf, size_t len);
int lq_semihosting_seek(int handle, size_t pos);
/* File length in bytes or -1. */
long lq_semihosting_flen(int handle);

#endif /* LQ_SEMIHOSTING_H */
