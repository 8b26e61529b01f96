/*
 * sbcon_i2c.h — I2C master bit-banged on the MPS2 SBCon two-wire controller.
 */
#ifndef LQ_SBCON_I2C_H
#define LQ_SBCON_I2C_H

#include <stddef.h>
#include <stdint.h>

/* Results: 0 ok, LQ_PORT_ENACK, LQ_PORT_EIO (a line stuck low). */
void lq_i2c_init(uint32_t base);
int lq_i2c_transfer(uint32_t base, uint8_t addr, const uint8_t *wdata, size_t wlen, uint8_t *rdata,
                    size_t rlen);

#endif /* LQ_SBCON_I2C_H */
