/*
 * main.c — entry point of the Liquid firmware on ESP-IDF: bring the port up, subscribe this
 * task to the task watchdog, and run the runtime loop in the main task forever.
 * (Written from the ESP-IDF v5 API reference; not compiled here, see docs/ports.md.)
 */
#include "esp_task_wdt.h"
#include "liquid_port.h"
#include "lq_esp32_port.h"

void app_main(void) {
  lq_esp32_port_init();
  (void)esp_task_wdt_add(NULL); /* lq_port_watchdog_kick() resets it */
  (void)lq_runtime_init();
  lq_runtime_run();
}
