/*
 * board_init.c — see board_init.h.
 */
#include "board_init.h"

#include "cmsdk_uart.h"
#include "fpgaio_leds.h"
#include "mps2_an386.h"
#include "sbcon_i2c.h"
#include "semihosting.h"
#include "systick_time.h"

void lq_board_init(lq_boot_args *args) {
  __asm volatile("cpsid i" ::: "memory");
  lq_uart_init(); /* first: the fault handler prints on the UARTs */
  (void)lq_semihosting_available();
  lq_time_init();
  lq_leds_init();
  lq_i2c_init(MPS2_SBCON_I2C_BASE);
  lq_boot_args_read(args);
  __asm volatile("cpsie i" ::: "memory");
}
