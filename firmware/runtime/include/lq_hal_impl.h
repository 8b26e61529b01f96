/* lq_hal_impl.h — the runtime's HAL implementation (hal_impl.c), one function per entry of
 * hal/hal.json, in the shape of the generated prototypes: ptr/len pairs arrive as checked
 * host pointers and uint32_t lengths, out buffers as uint8_t *. */
#ifndef LQ_HAL_IMPL_H
#define LQ_HAL_IMPL_H
#include <stdint.h>

#include "lq_hal_link.h"

int32_t lq_hal_gpio_open(lq_hal_call *call, const uint8_t *name, uint32_t name_len);
int32_t lq_hal_gpio_mode(lq_hal_call *call, int32_t pin, int32_t mode);
int32_t lq_hal_gpio_write(lq_hal_call *call, int32_t pin, int32_t value);
int32_t lq_hal_gpio_read(lq_hal_call *call, int32_t pin);
int32_t lq_hal_gpio_toggle(lq_hal_call *call, int32_t pin);
int32_t lq_hal_gpio_watch(lq_hal_call *call, int32_t pin, int32_t edges, int32_t debounce_ms);
int32_t lq_hal_gpio_unwatch(lq_hal_call *call, int32_t pin);
int32_t lq_hal_i2c_open(lq_hal_call *call, const uint8_t *name, uint32_t name_len);
int32_t lq_hal_i2c_write(lq_hal_call *call, int32_t bus, int32_t addr, const uint8_t *data, uint32_t len);
int32_t lq_hal_i2c_read(lq_hal_call *call, int32_t bus, int32_t addr, uint8_t *data, uint32_t len);
int32_t lq_hal_i2c_write_read(lq_hal_call *call, int32_t bus, int32_t addr, const uint8_t *wdata,
                              uint32_t wlen, uint8_t *rdata, uint32_t rlen);
int32_t lq_hal_i2c_scan(lq_hal_call *call, int32_t bus, uint8_t *out, uint32_t cap);
int64_t lq_hal_time_now_ms(lq_hal_call *call);
int64_t lq_hal_time_now_us(lq_hal_call *call);
int32_t lq_hal_time_timer_start(lq_hal_call *call, int32_t ms, int32_t periodic);
int32_t lq_hal_time_timer_cancel(lq_hal_call *call, int32_t timer);
void lq_hal_log_write(lq_hal_call *call, int32_t level, const uint8_t *text, uint32_t len);
int32_t lq_hal_device_info(lq_hal_call *call, uint8_t *out, uint32_t cap);
int32_t lq_hal_device_has(lq_hal_call *call, const uint8_t *name, uint32_t name_len);
int32_t lq_hal_msg_publish(lq_hal_call *call, const uint8_t *topic, uint32_t topic_len,
                           const uint8_t *data, uint32_t data_len);
int32_t lq_hal_msg_subscribe(lq_hal_call *call, const uint8_t *topic, uint32_t topic_len);
int32_t lq_hal_msg_unsubscribe(lq_hal_call *call, int32_t subscription);
int32_t lq_hal_msg_read(lq_hal_call *call, uint8_t *out, uint32_t cap);
int32_t lq_hal_msg_topic(lq_hal_call *call, uint8_t *out, uint32_t cap);
int32_t lq_hal_random_u32(lq_hal_call *call);
void lq_hal_random_fill(lq_hal_call *call, uint8_t *out, uint32_t len);
#endif
