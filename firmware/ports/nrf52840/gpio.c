/*
 * gpio.c — GPIO pins (P0 and P1, numbered port*32+pin) and edge notification via GPIOTE.
 *
 * Levels are line levels, as everywhere in Liquid (docs/simulator.md): the nRF52840-DK wires
 * its LEDs (P0.13-P0.16) and buttons (P0.11, P0.12, P0.24, P0.25) to ground, so a lit LED is
 * a 0 written and a pressed button reads 0 — the board file marks them "activeLow" for tools.
 */
#include "liquid_port.h"
#include "nrf52840.h"
#include "nrf_port.h"

#define PIN_COUNT 48u

volatile int lq_gpio_event;
static int8_t channel_pin[GPIOTE_CHANNELS] = {-1, -1, -1, -1, -1, -1, -1, -1};

static uint32_t port_base(uint32_t pin) { return pin < 32 ? P0_BASE : P1_BASE; }
static uint32_t bit(uint32_t pin) { return 1u << (pin % 32u); }

int lq_gpio_configure(uint32_t pin, int mode) {
  if (pin >= PIN_COUNT) return LQ_PORT_EINVAL;
  uint32_t cnf;
  switch (mode) {
    case LQ_PORT_PIN_OUTPUT: cnf = GPIO_CNF_DIR_OUTPUT; break; /* input buffer kept: read back */
    case LQ_PORT_PIN_INPUT: cnf = 0; break;
    case LQ_PORT_PIN_INPUT_PULLUP: cnf = GPIO_CNF_PULLUP; break;
    case LQ_PORT_PIN_INPUT_PULLDOWN: cnf = GPIO_CNF_PULLDOWN; break;
    default: return LQ_PORT_EINVAL;
  }
  NRF_REG(port_base(pin) + GPIO_PIN_CNF(pin % 32u)) = cnf;
  return LQ_PORT_OK;
}

int lq_gpio_write(uint32_t pin, int value) {
  if (pin >= PIN_COUNT) return LQ_PORT_EINVAL;
  NRF_REG(port_base(pin) + (value ? GPIO_OUTSET : GPIO_OUTCLR)) = bit(pin);
  return LQ_PORT_OK;
}

int lq_gpio_read(uint32_t pin) {
  if (pin >= PIN_COUNT) return LQ_PORT_EINVAL;
  return (NRF_REG(port_base(pin) + GPIO_IN) & bit(pin)) != 0;
}

int lq_gpio_notify(uint32_t pin, int enable) {
  if (pin >= PIN_COUNT) return LQ_PORT_EINVAL;
  int free_channel = -1;
  for (uint32_t n = 0; n < GPIOTE_CHANNELS; n++) {
    if (channel_pin[n] == (int8_t)pin) {
      if (enable) return LQ_PORT_OK;
      NRF_REG(GPIOTE_INTENCLR) = 1u << n;
      NRF_REG(GPIOTE_CONFIG(n)) = 0;
      channel_pin[n] = -1;
      return LQ_PORT_OK;
    }
    if (channel_pin[n] < 0 && free_channel < 0) free_channel = (int)n;
  }
  if (!enable) return LQ_PORT_OK;
  /* All eight GPIOTE channels taken: the runtime falls back to polling this pin. */
  if (free_channel < 0) return LQ_PORT_ENOTSUP;
  uint32_t n = (uint32_t)free_channel;
  channel_pin[n] = (int8_t)pin;
  NRF_REG(GPIOTE_CONFIG(n)) = GPIOTE_CONFIG_MODE_EVENT | ((pin % 32u) << GPIOTE_CONFIG_PSEL_SHIFT) |
                              ((pin / 32u) << GPIOTE_CONFIG_PORT_SHIFT) | GPIOTE_CONFIG_POLARITY_TOGGLE;
  NRF_REG(GPIOTE_EVENTS_IN(n)) = 0;
  NRF_REG(GPIOTE_INTENSET) = 1u << n;
  lq_nvic_enable(IRQ_GPIOTE);
  return LQ_PORT_OK;
}

void lq_gpiote_irq(void) {
  for (uint32_t n = 0; n < GPIOTE_CHANNELS; n++) {
    if (NRF_REG(GPIOTE_EVENTS_IN(n))) {
      NRF_REG(GPIOTE_EVENTS_IN(n)) = 0;
      if (channel_pin[n] >= 0) lq_runtime_pin_changed((uint32_t)channel_pin[n]);
      lq_gpio_event = 1;
    }
  }
}
