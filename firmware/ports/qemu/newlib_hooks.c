/*
 * newlib_hooks.c — where the shared newlib syscalls (../cortex-m/syscalls.c) send output and
 * the exit status on mps2-an386: the debug console (UART1), and QEMU's exit status through
 * semihosting when a debugger listens.
 */
#include "cmsdk_uart.h"
#include "cortex_m.h"
#include "semihosting.h"

void lq_port_stdout_write(const char *buf, int len) {
  char chunk[2] = {0, 0};
  for (int i = 0; i < len; i++) {
    chunk[0] = buf[i];
    lq_console_write(chunk);
  }
}

void lq_port_exit(int status) { lq_semihosting_exit(status); }
