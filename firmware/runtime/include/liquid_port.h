/*
 * liquid_port.h — the interface between the Liquid runtime and one target ("port").
 *
 * The runtime (firmware/runtime) is OS-free C99. Everything it needs from the machine goes
 * through the functions below, which each port (firmware/ports/posix, qemu, nrf52840, ...)
 * implements once. The runtime never blocks inside a port call except lq_port_idle(), and no
 * port function is called from interrupt context by the runtime.
 *
 * In the other direction a port calls the runtime entry points at the end of this file:
 * lq_runtime_init() once, then lq_runtime_run() (or lq_runtime_poll() in its own loop).
 *
 * Conventions: functions returning int return 0 (or a count) on success and a negative
 * LQ_PORT_E* code on failure. Pins and buses are the port's own numbers ("port pins"); the
 * board descriptor maps the logical names apps use (LED0, I2C0) to them.
 * See docs/porting.md for how to add a port.
 */
#ifndef LIQUID_PORT_H
#define LIQUID_PORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- error codes returned by port functions ---------------------------------------------- */
#define LQ_PORT_OK 0
#define LQ_PORT_EINVAL (-1)   /* bad argument (address out of range, unknown pin/bus) */
#define LQ_PORT_ENACK (-2)    /* I2C: the addressed device did not acknowledge */
#define LQ_PORT_EIO (-3)      /* hardware error (bus stuck, flash verify failed) */
#define LQ_PORT_ENOTSUP (-4)  /* the hardware cannot do this (e.g. no pull-down) */
#define LQ_PORT_ECLOSED (-5)  /* transport: the peer disconnected (the runtime resets its
                                 protocol state: partial frames, replay cache and LOGS
                                 follow are dropped; an upload in progress stays) */
#define LQ_PORT_EPOWER (-6)   /* flash: simulated power cut (posix fault injection only) */

/* ---- board descriptor ---------------------------------------------------------------------- */
/*
 * The board descriptor as JSON text, in the format of the boards/ JSON files (read by the runtime's
 * own JSON reader; see docs/porting.md for the fields it uses: "name", "pins" with "name",
 * "port", "caps", "buses" with "name", "kind", "port", "memory"). posix reads it from the
 * --board file; microcontroller ports compile it in as a string. Must stay valid forever.
 */
const char *lq_port_board_json(void);
/* A short stable identifier of this device (e.g. "posix-1a2b", from a chip unique id). */
const char *lq_port_device_id(void);
/* The CPU architecture name reported by INFO ("x86_64", "armv7e-m"). */
const char *lq_port_arch(void);

/* ---- transport: the device protocol byte stream (UART, pty, TCP) --------------------------- */
/*
 * Non-blocking read of up to cap bytes of the incoming protocol stream. Returns the number of
 * bytes copied (0 when nothing is pending) or LQ_PORT_ECLOSED once per disconnect.
 */
int lq_port_transport_read(uint8_t *buf, size_t cap);
/*
 * Writes len bytes of the outgoing stream. Returns the number accepted (may be fewer than len
 * when a buffer is full; the runtime retries the rest later) or LQ_PORT_ECLOSED when there is
 * no peer (the bytes are then dropped by the runtime).
 */
int lq_port_transport_write(const uint8_t *buf, size_t len);

/* ---- time ---------------------------------------------------------------------------------- */
/* Monotonic microseconds since boot. Must not wrap within the device's lifetime (64 bits). */
uint64_t lq_port_time_us(void);
/*
 * Sleeps until lq_port_time_us() >= until_us or something happens that the runtime must look
 * at (transport bytes arrived, a watched pin changed). Returning early is always allowed; a
 * port with no low-power mode may simply return.
 */
void lq_port_idle(uint64_t until_us);

/* ---- flash (the module store lives here) --------------------------------------------------- */
typedef struct lq_flash_geometry {
  uint32_t size;       /* bytes given to the store; multiple of block_size */
  uint32_t page_size;  /* smallest program unit; a program never crosses a page boundary */
  uint32_t block_size; /* erase unit; multiple of page_size */
} lq_flash_geometry;

/* The geometry of the store's flash region; addresses below are offsets into it. */
const lq_flash_geometry *lq_port_flash_geometry(void);
/* Reads len bytes at addr. Erased bytes read as 0xFF. */
int lq_port_flash_read(uint32_t addr, void *buf, uint32_t len);
/*
 * Programs len bytes at addr, within one page. Programming can only clear bits (1 -> 0); the
 * runtime never asks to set a bit that is already 0 (the posix simulation reports LQ_PORT_EIO
 * if it does). Returns only when the bytes are durable.
 */
int lq_port_flash_program(uint32_t addr, const void *buf, uint32_t len);
/* Erases the block starting at block_addr (a multiple of block_size) to all 0xFF. */
int lq_port_flash_erase(uint32_t block_addr);

/* ---- GPIO ------------------------------------------------------------------------------------ */
#define LQ_PORT_PIN_INPUT 0
#define LQ_PORT_PIN_OUTPUT 1
#define LQ_PORT_PIN_INPUT_PULLUP 2
#define LQ_PORT_PIN_INPUT_PULLDOWN 3

/* Configures a port pin (LQ_PORT_PIN_*). LQ_PORT_ENOTSUP when the pin lacks that mode. */
int lq_port_gpio_configure(uint32_t pin, int mode);
/* Drives an output pin to 0 or 1. */
int lq_port_gpio_write(uint32_t pin, int value);
/* Reads the level (0 or 1) of a pin, or a negative error. */
int lq_port_gpio_read(uint32_t pin);
/*
 * Enables (1) or disables (0) change notification for an input pin. When enabled, the port
 * calls lq_runtime_pin_changed(pin) whenever the level may have changed (from an interrupt
 * handler is fine) so that lq_port_idle() returns promptly. The runtime samples the level
 * itself with lq_port_gpio_read() and debounces it, so spurious notifications are harmless
 * and a port without edge interrupts may return LQ_PORT_ENOTSUP (the runtime then polls).
 */
int lq_port_gpio_notify(uint32_t pin, int enable);

/* ---- I2C --------------------------------------------------------------------------------- */
/*
 * One I2C transaction on port bus `bus` with the 7-bit address `addr`:
 *   wlen > 0, rlen == 0: START addr+W data STOP
 *   wlen == 0, rlen > 0: START addr+R data STOP
 *   wlen > 0, rlen > 0 : START addr+W wdata, repeated START addr+R rdata STOP
 *   wlen == 0, rlen == 0: address probe (START addr+W STOP), used by the boot scan
 * Returns 0 on success, LQ_PORT_ENACK when the device does not acknowledge (a normal value,
 * not a fault), LQ_PORT_EIO for other bus errors, LQ_PORT_EINVAL for an unknown bus.
 */
int lq_port_i2c_transfer(uint32_t bus, uint8_t addr, const uint8_t *wdata, size_t wlen,
                         uint8_t *rdata, size_t rlen);

/* ---- system -------------------------------------------------------------------------------- */
/* Kicks the hardware watchdog. The runtime kicks at least every LQ_WATCHDOG_KICK_MS. */
#define LQ_WATCHDOG_KICK_MS 250u
void lq_port_watchdog_kick(void);
/* Reboots the device (the runtime calls this after RESET and on fatal errors). May return on
 * posix test builds that emulate a reboot in-process; the runtime then re-inits itself. */
void lq_port_reset(void);
/* A random 32-bit value (hardware RNG where there is one; seeded PRNG otherwise). */
uint32_t lq_port_random(void);
/*
 * Reports one runtime event to whoever watches the board outside the protocol (posix prints
 * it to stdout for tests; microcontroller ports may ignore it or write it to a debug UART).
 * `line` is a single line of text without newline, e.g. "log info blinky: hello".
 */
void lq_port_trace(const char *line);

/* ---- runtime entry points a port calls ------------------------------------------------------ */
/*
 * Boots the runtime: reads the board descriptor, mounts (and if needed recovers or formats)
 * the module store, scans the I2C buses, starts the autostart apps. Returns 0, or a negative
 * code when the board descriptor is unusable (the message went through lq_port_trace).
 */
int lq_runtime_init(void);
/*
 * Does every piece of work that is due now (protocol bytes, timers, pin edges, messages, app
 * fuel slices) and returns the time in us at which it next needs to run. Never blocks.
 */
uint64_t lq_runtime_poll(void);
/* The main loop: lq_runtime_poll() then lq_port_idle() until that time, forever. */
void lq_runtime_run(void);
/* Called by the port (interrupt context allowed) when a notified pin may have changed. */
void lq_runtime_pin_changed(uint32_t pin);

#ifdef __cplusplus
}
#endif

#endif /* LIQUID_PORT_H */
