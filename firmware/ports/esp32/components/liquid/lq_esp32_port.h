/* lq_esp32_port.h — start-up of the ESP32 port (drivers, partition, pins). */
#ifndef LQ_ESP32_PORT_H
#define LQ_ESP32_PORT_H

void lq_esp32_port_init(void);

#endif /* LQ_ESP32_PORT_H */
