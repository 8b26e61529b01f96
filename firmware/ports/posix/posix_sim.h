/* posix_sim.h — the simulated peripherals of the posix port (pins, I2C devices) and the
 * stdin control commands that drive them. */
#ifndef POSIX_SIM_H
#define POSIX_SIM_H
/* Sets up pins and I2C devices from the board descriptor. 0, or -1 with a message. */
int posix_sim_init(void);
/* One control command line, e.g. "set BUTTON0 0" or "temp 0x48 25.5". */
void posix_sim_control(const char *line);
#endif
