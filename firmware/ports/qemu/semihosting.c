/*
 * semihosting.c — the few semihosting operations the QEMU port uses.
 * Operation numbers and argument blocks from ARM's "Semihosting for AArch32 and AArch64".
 */
#include "semihosting.h"

#include <string.h>

enum {
  SYS_OPEN = 0x01,
  SYS_CLOSE = 0x02,
  SYS_WRITE = 0x05,
  SYS_READ = 0x06,
  SYS_SEEK = 0x0A,
  SYS_FLEN = 0x0C,
  SYS_ERRNO = 0x13,
  SYS_GET_CMDLINE = 0x15,
  SYS_EXIT_EXTENDED = 0x20,
};
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static int32_t call(uint32_t op, void *args) {
  register uint32_t r0 __asm("r0") = op;
  register void *r1 __asm("r1") = args;
  __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return (int32_t)r0;
}

static int probed = -1;
volatile int lq_semihosting_bkpt_skipped;

int lq_semihosting_available(void) {
  if (probed < 0) {
    /* SYS_ERRNO is harmless. Without a debugger the fault handler steps over the BKPT and
     * sets lq_semihosting_bkpt_skipped. */
    lq_semihosting_bkpt_skipped = 0;
    (void)call(SYS_ERRNO, NULL);
    probed = lq_semihosting_bkpt_skipped ? 0 : 1;
  }
  return probed;
}

void lq_semihosting_exit(int status) {
  if (probed != 1) return; /* never probe here: this runs in fault context */
  uint32_t args[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
  (void)call(SYS_EXIT_EXTENDED, args);
}

int lq_semihosting_cmdline(char *buf, size_t cap) {
  if (cap == 0) return -1;
  buf[0] = '\0';
  if (!lq_semihosting_available()) return -1;
  uint32_t args[2] = {(uint32_t)(uintptr_t)buf, (uint32_t)cap};
  if (call(SYS_GET_CMDLINE, args) != 0) return -1;
  buf[cap - 1] = '\0';
  return 0;
}

int lq_semihosting_open(const char *path, int mode) {
  if (!lq_semihosting_available()) return -1;
  uint32_t args[3] = {(uint32_t)(uintptr_t)path, (uint32_t)mode, (uint32_t)strlen(path)};
  return call(SYS_OPEN, args);
}

int lq_semihosting_close(int handle) {
  uint32_t args[1] = {(uint32_t)handle};
  return call(SYS_CLOSE, args);
}

int lq_semihosting_write(int handle, const void *buf, size_t len) {
  uint32_t args[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buf, (uint32_t)len};
  return call(SYS_WRITE, args); /* bytes NOT written */
}

int lq_semihosting_read(int handle, void *buf, size_t len) {
  uint32_t args[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buf, (uint32_t)len};
  return call(SYS_READ, args); /* bytes NOT read */
}

int lq_semihosting_seek(int handle, size_t pos) {
  uint32_t args[2] = {(uint32_t)handle, (uint32_t)pos};
  return call(SYS_SEEK, args);
}

long lq_semihosting_flen(int handle) {
  uint32_t args[1] = {(uint32_t)handle};
  return call(SYS_FLEN, args);
}
