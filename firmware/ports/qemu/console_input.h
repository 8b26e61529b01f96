/*
 * console_input.h — virtual buttons driven from the host over the console UART (UART1 RX).
 *
 * QEMU 7.2 models no input a host can drive on mps2-an386 (its push-buttons read 0 and the
 * CMSDK GPIO is unimplemented), so the port offers two virtual buttons, wired like the
 * nRF52840-DK's — to ground, with a pull-up: the line reads 1 released and 0 pressed. The
 * host sets the line level by writing, on the console UART, the same control line the posix
 * port reads on stdin:
 *     set BUTTON0 0      (press)        set BUTTON0 1      (release)
 * and the firmware answers "control ok: BUTTON0 0" (or "control error: ...") on the console.
 * "stats" prints the deepest stack use since reset.
 */
#ifndef LQ_CONSOLE_INPUT_H
#define LQ_CONSOLE_INPUT_H

#include <stdint.h>

#define LQ_VBUTTON_FIRST_PIN 16u /* port pin of BUTTON0; BUTTON1 is the next one */
#define LQ_VBUTTON_COUNT 2u

/* Called (from the UART1 interrupt) when a virtual button's level changed. */
typedef void (*lq_vbutton_hook)(uint32_t port_pin);

void lq_console_input_init(lq_vbutton_hook hook);
/* The line level of a virtual button: 1 released, 0 pressed. */
int lq_vbutton_level(uint32_t index);

#endif /* LQ_CONSOLE_INPUT_H */
