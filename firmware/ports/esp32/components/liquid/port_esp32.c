/*
 * port_esp32.c — liquid_port.h on ESP-IDF v5.2+ (ESP32-DevKitC wiring by default).
 * Written from the ESP-IDF API reference; it cannot be compiled on the machines this
 * repository is tested on (no ESP-IDF toolchain), see docs/ports.md.
 *
 *   transport  UART0 through the IDF UART driver (RX/TX ring buffers, event queue)
 *   idle       blocks on the UART event queue until the deadline; pin interrupts post a
 *              private event into the same queue, so one wait covers both
 *   time       esp_timer_get_time()
 *   flash      the "liquid" data partition (partitions.csv) via esp_partition_*
 *   gpio       gpio_* with an any-edge ISR per watched pin
 *   i2c        I2C_NUM_0 with the i2c_master driver (SDA 21, SCL 22), 100 kHz
 *   watchdog   the task watchdog (the main task subscribes in main.c)
 *   random     esp_random() (hardware RNG)
 */
#include <stdio.h>
#include <string.h>

#include "driver/gpio.h"
#include "driver/i2c_master.h"
#include "driver/uart.h"
#include "esp_mac.h"
#include "esp_partition.h"
#include "esp_random.h"
#include "esp_system.h"
#include "esp_task_wdt.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/queue.h"
#include "liquid_port.h"
#include "lq_esp32_port.h"

#define PROTOCOL_UART UART_NUM_0
#define UART_BAUD 115200
#define UART_BUFFER 2048
#define I2C_SDA GPIO_NUM_21
#define I2C_SCL GPIO_NUM_22
#define I2C_HZ 100000
#define I2C_TIMEOUT_MS 50
#define STORE_PAGE_SIZE 16u /* keeps records aligned for flash encryption's 16-byte unit */
#define STORE_BLOCK_SIZE 4096u
#define PIN_EVENT ((uart_event_type_t)UART_EVENT_MAX) /* our own event in the UART queue */

/* boards/esp32-devkitc.json, embedded by the component (EMBED_TXTFILES adds the NUL). */
extern const char board_json_start[] asm("_binary_esp32_devkitc_json_start");

static QueueHandle_t uart_queue;
static const esp_partition_t *store;
static i2c_master_bus_handle_t i2c_bus;
static i2c_master_dev_handle_t i2c_dev;
static int i2c_dev_addr = -1;
static char device_id[24];

void lq_esp32_port_init(void) {
  const uart_config_t uart = {
      .baud_rate = UART_BAUD,
      .data_bits = UART_DATA_8_BITS,
      .parity = UART_PARITY_DISABLE,
      .stop_bits = UART_STOP_BITS_1,
      .flow_ctrl = UART_HW_FLOWCTRL_DISABLE,
      .source_clk = UART_SCLK_DEFAULT,
  };
  ESP_ERROR_CHECK(uart_driver_install(PROTOCOL_UART, UART_BUFFER, UART_BUFFER, 16, &uart_queue, 0));
  ESP_ERROR_CHECK(uart_param_config(PROTOCOL_UART, &uart));

  store = esp_partition_find_first(ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_ANY, "liquid");

  const i2c_master_bus_config_t bus = {
      .i2c_port = I2C_NUM_0,
      .sda_io_num = I2C_SDA,
      .scl_io_num = I2C_SCL,
      .clk_source = I2C_CLK_SRC_DEFAULT,
      .glitch_ignore_cnt = 7,
      .flags.enable_internal_pullup = 1,
  };
  if (i2c_new_master_bus(&bus, &i2c_bus) != ESP_OK) i2c_bus = NULL;

  (void)gpio_install_isr_service(0);

  uint8_t mac[6] = {0};
  (void)esp_efuse_mac_get_default(mac);
  snprintf(device_id, sizeof device_id, "esp32-%02x%02x%02x", mac[3], mac[4], mac[5]);
}

const char *lq_port_board_json(void) { return board_json_start; }
const char *lq_port_device_id(void) { return device_id; }
const char *lq_port_arch(void) {
#if CONFIG_IDF_TARGET_ARCH_RISCV
  return "riscv32";
#else
  return "xtensa-lx6";
#endif
}

int lq_port_transport_read(uint8_t *buf, size_t cap) {
  int n = uart_read_bytes(PROTOCOL_UART, buf, cap, 0);
  return n < 0 ? 0 : n;
}

int lq_port_transport_write(const uint8_t *buf, size_t len) {
  /* Copies into the driver's TX ring; blocks only while that ring is full. */
  int n = uart_write_bytes(PROTOCOL_UART, buf, len);
  return n < 0 ? 0 : n;
}

uint64_t lq_port_time_us(void) { return (uint64_t)esp_timer_get_time(); }

void lq_port_idle(uint64_t until_us) {
  size_t buffered = 0;
  if (uart_get_buffered_data_len(PROTOCOL_UART, &buffered) == ESP_OK && buffered > 0) return;
  uint64_t now = lq_port_time_us();
  if (now >= until_us) return;
  TickType_t ticks = pdMS_TO_TICKS((until_us - now + 999) / 1000);
  if (ticks == 0) ticks = 1;
  uart_event_t event;
  if (xQueueReceive(uart_queue, &event, ticks) == pdTRUE && event.type == UART_FIFO_OVF) {
    /* The RX FIFO overflowed: drop what is there; the protocol resynchronises on magic+CRC. */
    (void)uart_flush_input(PROTOCOL_UART);
    xQueueReset(uart_queue);
  }
}

static lq_flash_geometry geometry;

const lq_flash_geometry *lq_port_flash_geometry(void) {
  geometry.size = store ? (uint32_t)(store->size - store->size % STORE_BLOCK_SIZE) : 0;
  geometry.page_size = STORE_PAGE_SIZE;
  geometry.block_size = STORE_BLOCK_SIZE;
  return &geometry;
}

int lq_port_flash_read(uint32_t addr, void *buf, uint32_t len) {
  if (!store) return LQ_PORT_EIO;
  return esp_partition_read(store, addr, buf, len) == ESP_OK ? LQ_PORT_OK : LQ_PORT_EINVAL;
}

int lq_port_flash_program(uint32_t addr, const void *buf, uint32_t len) {
  if (!store) return LQ_PORT_EIO;
  return esp_partition_write(store, addr, buf, len) == ESP_OK ? LQ_PORT_OK : LQ_PORT_EIO;
}

int lq_port_flash_erase(uint32_t block_addr) {
  if (!store) return LQ_PORT_EIO;
  return esp_partition_erase_range(store, block_addr, STORE_BLOCK_SIZE) == ESP_OK ? LQ_PORT_OK : LQ_PORT_EINVAL;
}

int lq_port_gpio_configure(uint32_t pin, int mode) {
  if (!GPIO_IS_VALID_GPIO(pin)) return LQ_PORT_EINVAL;
  gpio_config_t cfg = {.pin_bit_mask = 1ULL << pin, .intr_type = GPIO_INTR_DISABLE};
  switch (mode) {
    case LQ_PORT_PIN_OUTPUT:
      if (!GPIO_IS_VALID_OUTPUT_GPIO(pin)) return LQ_PORT_ENOTSUP;
      cfg.mode = GPIO_MODE_INPUT_OUTPUT; /* so gpio_get_level reads back what we drive */
      break;
    case LQ_PORT_PIN_INPUT: cfg.mode = GPIO_MODE_INPUT; break;
    case LQ_PORT_PIN_INPUT_PULLUP:
      cfg.mode = GPIO_MODE_INPUT;
      cfg.pull_up_en = GPIO_PULLUP_ENABLE;
      break;
    case LQ_PORT_PIN_INPUT_PULLDOWN:
      cfg.mode = GPIO_MODE_INPUT;
      cfg.pull_down_en = GPIO_PULLDOWN_ENABLE;
      break;
    default: return LQ_PORT_EINVAL;
  }
  return gpio_config(&cfg) == ESP_OK ? LQ_PORT_OK : LQ_PORT_EIO;
}

int lq_port_gpio_write(uint32_t pin, int value) {
  return gpio_set_level((gpio_num_t)pin, value != 0) == ESP_OK ? LQ_PORT_OK : LQ_PORT_EINVAL;
}

int lq_port_gpio_read(uint32_t pin) {
  if (!GPIO_IS_VALID_GPIO(pin)) return LQ_PORT_EINVAL;
  return gpio_get_level((gpio_num_t)pin);
}

static void IRAM_ATTR pin_isr(void *arg) {
  uint32_t pin = (uint32_t)(uintptr_t)arg;
  lq_runtime_pin_changed(pin);
  uart_event_t event = {.type = PIN_EVENT, .size = 0};
  BaseType_t woken = pdFALSE;
  (void)xQueueSendFromISR(uart_queue, &event, &woken);
  if (woken) portYIELD_FROM_ISR();
}

int lq_port_gpio_notify(uint32_t pin, int enable) {
  if (!GPIO_IS_VALID_GPIO(pin)) return LQ_PORT_EINVAL;
  if (!enable) {
    (void)gpio_isr_handler_remove((gpio_num_t)pin);
    return gpio_set_intr_type((gpio_num_t)pin, GPIO_INTR_DISABLE) == ESP_OK ? LQ_PORT_OK : LQ_PORT_EIO;
  }
  if (gpio_set_intr_type((gpio_num_t)pin, GPIO_INTR_ANYEDGE) != ESP_OK) return LQ_PORT_EIO;
  if (gpio_isr_handler_add((gpio_num_t)pin, pin_isr, (void *)(uintptr_t)pin) != ESP_OK) return LQ_PORT_EIO;
  return gpio_intr_enable((gpio_num_t)pin) == ESP_OK ? LQ_PORT_OK : LQ_PORT_EIO;
}

static int i2c_result(esp_err_t err) {
  switch (err) {
    case ESP_OK: return LQ_PORT_OK;
    case ESP_ERR_NOT_FOUND:     /* probe: no ACK */
    case ESP_ERR_INVALID_STATE: /* transfer: NACK (IDF 5.2+) */
    case ESP_FAIL: return LQ_PORT_ENACK;
    default: return LQ_PORT_EIO;
  }
}

int lq_port_i2c_transfer(uint32_t bus, uint8_t addr, const uint8_t *wdata, size_t wlen, uint8_t *rdata,
                         size_t rlen) {
  if (bus != 0 || addr > 0x7F) return LQ_PORT_EINVAL;
  if (!i2c_bus) return LQ_PORT_EIO;
  if (wlen == 0 && rlen == 0) return i2c_result(i2c_master_probe(i2c_bus, addr, I2C_TIMEOUT_MS));
  /* The driver talks to "devices"; keep one and move it when the address changes. */
  if (i2c_dev_addr != addr) {
    if (i2c_dev) (void)i2c_master_bus_rm_device(i2c_dev);
    i2c_dev = NULL;
    i2c_dev_addr = -1;
    const i2c_device_config_t dev = {
        .dev_addr_length = I2C_ADDR_BIT_LEN_7, .device_address = addr, .scl_speed_hz = I2C_HZ};
    if (i2c_master_bus_add_device(i2c_bus, &dev, &i2c_dev) != ESP_OK) return LQ_PORT_EIO;
    i2c_dev_addr = addr;
  }
  esp_err_t err;
  if (wlen > 0 && rlen > 0) err = i2c_master_transmit_receive(i2c_dev, wdata, wlen, rdata, rlen, I2C_TIMEOUT_MS);
  else if (wlen > 0) err = i2c_master_transmit(i2c_dev, wdata, wlen, I2C_TIMEOUT_MS);
  else err = i2c_master_receive(i2c_dev, rdata, rlen, I2C_TIMEOUT_MS);
  return i2c_result(err);
}

void lq_port_watchdog_kick(void) { (void)esp_task_wdt_reset(); }

void lq_port_reset(void) { esp_restart(); }

uint32_t lq_port_random(void) { return esp_random(); }

void lq_port_trace(const char *line) { (void)line; /* UART0 is the protocol; no console */ }
