/*
 * newlib_hooks.c — where the shared newlib syscalls (../cortex-m/syscalls.c) send output and
 * the exit status on the nRF52840: the protocol UART (only fault paths and bring-up code
 * print), and nowhere for the status, since a microcontroller just stops.
 */
#include <stddef.h>
#include <stdint.h>

#include "cortex_m.h"
#include "nrf_port.h"

void lq_port_stdout_write(const char *buf, int len) { lq_uarte_write_all((const uint8_t *)buf, (size_t)len); }

void lq_port_exit(int status) { (void)status; }
