/*
 * boot_args.h — options given to the QEMU firmware on the QEMU command line with
 * `-append "store=FILE id=NAME"` (read through semihosting; absent without it).
 *   store=FILE  host file that keeps the module store across QEMU runs
 *   id=NAME     the device id reported by HELLO/INFO (default "qemu-an386")
 */
#ifndef LQ_BOOT_ARGS_H
#define LQ_BOOT_ARGS_H

typedef struct lq_boot_args {
  char store[128];
  char id[32];
} lq_boot_args;

void lq_boot_args_read(lq_boot_args *args);

#endif /* LQ_BOOT_ARGS_H */
