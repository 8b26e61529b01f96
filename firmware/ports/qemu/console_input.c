/*
 * console_input.c — see console_input.h. The line is assembled and parsed in the UART1 RX
 * interrupt: commands are a few bytes, and the level must change the moment the host says.
 */
#include "console_input.h"

#include <string.h>

#include "cmsdk_uart.h"
#include "mps2_an386.h"
#include "stack_guard.h"

#define LINE_MAX 48u

static volatile uint8_t levels[LQ_VBUTTON_COUNT];
static lq_vbutton_hook changed_hook;
static char line[LINE_MAX];
static uint32_t line_len;

void lq_console_input_init(lq_vbutton_hook hook) {
  for (uint32_t i = 0; i < LQ_VBUTTON_COUNT; i++) levels[i] = 1;
  changed_hook = hook;
  line_len = 0;
  LQ_REG32(MPS2_UART1_BASE + CMSDK_UART_INTSTATUS) = CMSDK_UART_INT_RX;
  LQ_REG32(MPS2_UART1_BASE + CMSDK_UART_CTRL) |= CMSDK_UART_CTRL_RXEN | CMSDK_UART_CTRL_RXIRQ;
  LQ_REG32(NVIC_ISER0) = 1u << MPS2_IRQ_UART1_RX;
}

int lq_vbutton_level(uint32_t index) { return index < LQ_VBUTTON_COUNT ? levels[index] : 1; }

static void write_dec(uint32_t v) {
  char text[11];
  int i = 10;
  text[i] = '\0';
  do {
    text[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  lq_console_write(&text[i]);
}

static void execute(void) {
  if (line_len == 5 && memcmp(line, "stats", 5) == 0) {
    lq_console_write("stats: stack ");
    write_dec(lq_stack_used());
    lq_console_write(" of ");
    write_dec(lq_stack_size());
    lq_console_write(" bytes used\n");
    return;
  }
  /* "set BUTTON<n> <0|1>" */
  static const char prefix[] = "set BUTTON";
  const uint32_t p = sizeof prefix - 1;
  if (line_len == p + 3 && memcmp(line, prefix, p) == 0 && line[p] >= '0' && line[p] <= '9' && line[p + 1] == ' ' &&
      (line[p + 2] == '0' || line[p + 2] == '1')) {
    uint32_t index = (uint32_t)(line[p] - '0');
    if (index < LQ_VBUTTON_COUNT) {
      uint8_t level = (uint8_t)(line[p + 2] - '0');
      line[line_len] = '\0';
      lq_console_write("control ok: ");
      lq_console_write(line + 4);
      lq_console_write("\n");
      if (levels[index] != level) {
        levels[index] = level;
        if (changed_hook) changed_hook(LQ_VBUTTON_FIRST_PIN + index);
      }
      return;
    }
  }
  line[line_len] = '\0';
  lq_console_write("control error: unknown command '");
  lq_console_write(line);
  lq_console_write("' (set BUTTON0|BUTTON1 0|1, stats)\n");
}

void lq_uart1_rx_handler(void) {
  LQ_REG32(MPS2_UART1_BASE + CMSDK_UART_INTSTATUS) = CMSDK_UART_INT_RX;
  while (LQ_REG32(MPS2_UART1_BASE + CMSDK_UART_STATE) & CMSDK_UART_STATE_RXFULL) {
    char c = (char)LQ_REG32(MPS2_UART1_BASE + CMSDK_UART_DATA);
    if (c == '\r' || c == '\n') {
      if (line_len > 0) execute();
      line_len = 0;
    } else if (line_len + 1 < LINE_MAX) {
      line[line_len++] = c;
    }
  }
}
