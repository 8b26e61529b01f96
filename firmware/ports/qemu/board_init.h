/*
 * board_init.h — brings up the mps2-an386 peripherals the port uses, in order.
 */
#ifndef LQ_BOARD_INIT_H
#define LQ_BOARD_INIT_H

#include "boot_args.h"

/* Semihosting probe, UARTs, SysTick, LEDs, I2C, boot arguments. Interrupts enabled after. */
void lq_board_init(lq_boot_args *args);

#endif /* LQ_BOARD_INIT_H */
