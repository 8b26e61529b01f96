/*
 * syscalls.c — the few hooks newlib needs on bare metal, for every Cortex-M port. The heap (used only if the
 * runtime or newlib calls malloc) grows from the end of .bss towards the stack reserve set
 * in the linker script and fails cleanly when that is exhausted.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cortex_m.h"

extern uint8_t __heap_start[], __heap_end[];

void *_sbrk(ptrdiff_t increment);
int _write(int fd, const char *buf, int len);
int _read(int fd, char *buf, int len);
int _close(int fd);
int _lseek(int fd, int offset, int whence);
int _fstat(int fd, struct stat *st);
int _isatty(int fd);
int _getpid(void);
int _kill(int pid, int sig);
void _exit(int status);

void *_sbrk(ptrdiff_t increment) {
  static uint8_t *brk = __heap_start;
  if (increment < 0 || increment > __heap_end - brk) {
    errno = ENOMEM;
    return (void *)-1;
  }
  uint8_t *old = brk;
  brk += increment;
  return old;
}

/* stdout/stderr go wherever the port prints (lq_port_stdout_write). */
int _write(int fd, const char *buf, int len) {
  (void)fd;
  if (len > 0) lq_port_stdout_write(buf, len);
  return len;
}

int _read(int fd, char *buf, int len) {
  (void)fd;
  (void)buf;
  (void)len;
  errno = ENOSYS;
  return -1;
}

int _close(int fd) {
  (void)fd;
  return -1;
}

int _lseek(int fd, int offset, int whence) {
  (void)fd;
  (void)offset;
  (void)whence;
  return 0;
}

int _fstat(int fd, struct stat *st) {
  (void)fd;
  st->st_mode = S_IFCHR;
  return 0;
}

int _isatty(int fd) {
  (void)fd;
  return 1;
}

int _getpid(void) { return 1; }

int _kill(int pid, int sig) {
  (void)pid;
  (void)sig;
  errno = EINVAL;
  return -1;
}

void _exit(int status) {
  lq_port_exit(status);
  lq_fatal("exit");
}
