/*
 * liquid-device: the Liquid firmware as a Linux process (the posix port).
 *
 *   liquid-device --board boards/posix.json [--flash FILE] [--listen tcp:127.0.0.1:PORT]
 *                 [--pty] [--id ID] [--seed N]
 *
 * The protocol stream is a TCP connection (one client at a time; a new one replaces the old)
 * and/or a pseudo-terminal. Peripherals are simulated in-process (sim.c); stdin takes control
 * commands (see sim.c) and stdout carries one line per observable event (gpio edges, logs, app
 * states) for tests and people. See docs/porting.md.
 */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 600
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "flash_sim.h"
#include "liquid_port.h"
#include "lq_crc32.h"
#include "lq_runtime.h"
#include "posix_sim.h"

#define FLASH_SIZE (512u * 1024u)
#define FLASH_PAGE 256u
#define FLASH_BLOCK 4096u

static char *board_text;
static char device_id[40];
static int listen_fd = -1, client_fd = -1, pty_fd = -1, stdin_open = 1;
static int pending_close; /* report LQ_PORT_ECLOSED once */
static struct timespec boot;
static uint64_t rng_state;
static volatile sig_atomic_t stop_requested;

static void usage(void) {
  fprintf(stderr,
          "usage: liquid-device --board FILE [--flash FILE] [--listen tcp:HOST:PORT] [--pty]\n"
          "                     [--id ID] [--seed N] [--watchdog MS (default 5000, 0 = off)]\n"
          "                     [--start-fuel N (an app's wasm start function; 0 = unlimited)]\n");
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  long n;
  char *buf;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = (char *)malloc((size_t)n + 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    fclose(f);
    free(buf);
    return NULL;
  }
  buf[n] = 0;
  fclose(f);
  return buf;
}

static int set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL, 0);
  return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int inherited_listen_fd = -1; /* kept across a watchdog reset (re-exec) */

static int open_listener(const char *spec) {
  char host[64];
  const char *colon;
  struct sockaddr_in a;
  socklen_t alen = sizeof a;
  int one = 1, port;
  if (strncmp(spec, "tcp:", 4) != 0 || !(colon = strrchr(spec + 4, ':'))) {
    fprintf(stderr, "liquid-device: --listen wants tcp:HOST:PORT, got '%s'\n", spec);
    return -1;
  }
  if ((size_t)(colon - (spec + 4)) >= sizeof host) return -1;
  memcpy(host, spec + 4, (size_t)(colon - (spec + 4)));
  host[colon - (spec + 4)] = 0;
  port = atoi(colon + 1);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
    fprintf(stderr, "liquid-device: bad IPv4 address '%s'\n", host);
    return -1;
  }
  if (inherited_listen_fd >= 0) {
    listen_fd = inherited_listen_fd; /* same port as before the reset */
  } else {
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd < 0) return -1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(listen_fd, 4) != 0) {
      fprintf(stderr, "liquid-device: cannot listen on %s: %s\n", spec, strerror(errno));
      return -1;
    }
  }
  set_nonblock(listen_fd);
  getsockname(listen_fd, (struct sockaddr *)&a, &alen);
  printf("listening on tcp://%s:%u\n", host, (unsigned)ntohs(a.sin_port));
  fflush(stdout);
  return 0;
}

static int open_pty(void) {
  struct termios t;
  pty_fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (pty_fd < 0 || grantpt(pty_fd) != 0 || unlockpt(pty_fd) != 0) return -1;
  if (tcgetattr(pty_fd, &t) == 0) {
    cfmakeraw(&t);
    tcsetattr(pty_fd, TCSANOW, &t);
  }
  set_nonblock(pty_fd);
  printf("pty %s\n", ptsname(pty_fd));
  fflush(stdout);
  return 0;
}

static void accept_client(void) {
  int fd, one = 1;
  if (listen_fd < 0) return;
  fd = accept(listen_fd, NULL, NULL);
  if (fd < 0) return;
  set_nonblock(fd);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  /* small request/response frames: Nagle plus delayed ACKs would stall each answer ~40 ms */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (client_fd >= 0) { /* a new host takes over the link */
    close(client_fd);
    pending_close = 1;
  }
  client_fd = fd;
}

/* ---- port: board, identity ------------------------------------------------------------- */

const char *lq_port_board_json(void) { return board_text; }
const char *lq_port_device_id(void) { return device_id; }
const char *lq_port_arch(void) {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#else
  return "unknown";
#endif
}

/* ---- port: transport ------------------------------------------------------------------- */

int lq_port_transport_read(uint8_t *buf, size_t cap) {
  ssize_t n;
  accept_client();
  if (pending_close) {
    pending_close = 0;
    return LQ_PORT_ECLOSED;
  }
  if (client_fd >= 0) {
    n = read(client_fd, buf, cap);
    if (n > 0) return (int)n;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      close(client_fd);
      client_fd = -1;
      return LQ_PORT_ECLOSED;
    }
  }
  if (pty_fd >= 0) {
    n = read(pty_fd, buf, cap);
    if (n > 0) return (int)n;
  }
  return 0;
}

int lq_port_transport_write(const uint8_t *buf, size_t len) {
  ssize_t n;
  if (client_fd >= 0) {
    n = send(client_fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0) return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    close(client_fd);
    client_fd = -1;
    pending_close = 1;
    return LQ_PORT_ECLOSED;
  }
  if (pty_fd >= 0) {
    n = write(pty_fd, buf, len);
    if (n >= 0) return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    return (int)len; /* no terminal attached: the bytes are lost, as on a UART */
  }
  return LQ_PORT_ECLOSED;
}

/* ---- port: time, idle ------------------------------------------------------------------ */

uint64_t lq_port_time_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)(t.tv_sec - boot.tv_sec) * 1000000u + (uint64_t)((t.tv_nsec - boot.tv_nsec) / 1000);
}

static void read_control(void) {
  static char line[256];
  static size_t len;
  char c;
  ssize_t n;
  while ((n = read(0, &c, 1)) == 1) {
    if (c == '\n') {
      line[len] = 0;
      posix_sim_control(line);
      len = 0;
    } else if (len + 1 < sizeof line) {
      line[len++] = c;
    }
  }
  if (n == 0) stdin_open = 0;
}

void lq_port_idle(uint64_t until_us) {
  struct pollfd p[4];
  int n = 0, timeout;
  uint64_t now = lq_port_time_us();
  timeout = until_us > now ? (int)((until_us - now + 999) / 1000) : 0;
  if (timeout > 250) timeout = 250;
  if (listen_fd >= 0) { p[n].fd = listen_fd; p[n].events = POLLIN; n++; }
  if (client_fd >= 0) { p[n].fd = client_fd; p[n].events = POLLIN; n++; }
  if (pty_fd >= 0) { p[n].fd = pty_fd; p[n].events = POLLIN; n++; }
  if (stdin_open) { p[n].fd = 0; p[n].events = POLLIN; n++; }
  poll(p, (nfds_t)n, timeout);
  if (stdin_open) read_control();
}

/* ---- port: system ---------------------------------------------------------------------- */

/*
 * The watchdog: the runtime kicks it from its loop; a SIGALRM every 100 ms checks the time since
 * the last kick. When it expires the device resets as hardware would: the process replaces
 * itself (execv, which is async-signal-safe) with a fresh one on the same flash image and the
 * same listening socket; the host connection drops.
 */
static volatile sig_atomic_t watchdog_armed;
static uint64_t watchdog_ms = 5000;
static volatile uint64_t last_kick_us;
static char **saved_argv;
static char inherit_arg[16];

void lq_port_watchdog_kick(void) {
  last_kick_us = lq_port_time_us();
  watchdog_armed = 1;
}

static void on_alarm(int sig) {
  static const char msg[] = "watchdog: no kick in time, resetting\n";
  (void)sig;
  if (!watchdog_armed || lq_port_time_us() - last_kick_us < watchdog_ms * 1000u) return;
  if (write(1, msg, sizeof msg - 1) < 0) _exit(4);
  execv("/proc/self/exe", saved_argv);
  _exit(4); /* could not reset: die, which a supervisor sees */
}

static void start_watchdog(int argc, char **argv) {
  static char *args[64];
  struct itimerval it;
  struct sigaction sa;
  int i, n = 0;
  /* the new process gets the same arguments plus the listening socket to keep */
  for (i = 0; i < argc && n < 60; i++) {
    if (!strcmp(argv[i], "--inherit-listen")) { i++; continue; }
    args[n++] = argv[i];
  }
  if (listen_fd >= 0) {
    snprintf(inherit_arg, sizeof inherit_arg, "%d", listen_fd);
    args[n++] = "--inherit-listen";
    args[n++] = inherit_arg;
  }
  args[n] = NULL;
  saved_argv = args;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = SA_RESTART; /* file writes of the flash image must not see EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  lq_port_watchdog_kick(); /* running from power-on, like the hardware */
  {
    /* after a watchdog reset SIGALRM arrives blocked (exec keeps the mask of the handler) */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
  }
  memset(&it, 0, sizeof it);
  it.it_interval.tv_usec = 100000;
  it.it_value.tv_usec = 100000;
  setitimer(ITIMER_REAL, &it, NULL);
}

void lq_port_reset(void) {
  /* The process stays (and keeps its connections, as a UART would); the runtime boots again
   * from the flash image, exactly as after a power cycle. */
  printf("reboot\n");
  fflush(stdout);
}

uint32_t lq_port_random(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}

void lq_port_trace(const char *line) {
  printf("%s\n", line);
  fflush(stdout);
}

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

int main(int argc, char **argv) {
  const char *board = NULL, *flash = NULL, *listen_spec = NULL, *id = NULL;
  int use_pty = 0, i;
  unsigned long seed = 0;
  long power_cut_after = -1;
  {
    /* interval timers survive exec: stop the one of the process this one replaced (watchdog) */
    struct itimerval off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &off, NULL);
  }
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--pty")) { use_pty = 1; continue; }
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(); return 0; }
    if (!v || strncmp(a, "--", 2) != 0) {
      fprintf(stderr, "liquid-device: unexpected argument '%s'\n", a);
      usage();
      return 2;
    }
    if (!strcmp(a, "--board")) board = v;
    else if (!strcmp(a, "--flash")) flash = v;
    else if (!strcmp(a, "--listen")) listen_spec = v;
    else if (!strcmp(a, "--id")) id = v;
    else if (!strcmp(a, "--seed")) seed = strtoul(v, NULL, 0);
    else if (!strcmp(a, "--watchdog")) watchdog_ms = strtoul(v, NULL, 0);
    else if (!strcmp(a, "--start-fuel")) lq_start_fuel = (uint32_t)strtoul(v, NULL, 0);
    else if (!strcmp(a, "--power-cut-after")) power_cut_after = strtol(v, NULL, 0);
    else if (!strcmp(a, "--inherit-listen")) inherited_listen_fd = atoi(v);
    else {
      fprintf(stderr, "liquid-device: unknown option '%s'\n", a);
      usage();
      return 2;
    }
    i++;
  }
  if (!board) {
    fprintf(stderr, "liquid-device: --board FILE is required\n");
    usage();
    return 2;
  }
  if (!listen_spec && !use_pty) {
    fprintf(stderr, "liquid-device: give --listen tcp:HOST:PORT and/or --pty\n");
    return 2;
  }
  board_text = read_file(board);
  if (!board_text) {
    fprintf(stderr, "liquid-device: cannot read board file %s\n", board);
    return 2;
  }
  clock_gettime(CLOCK_MONOTONIC, &boot);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  setvbuf(stdout, NULL, _IOLBF, 0);
  rng_state = seed ? seed : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
  if (!rng_state) rng_state = 1;

  if (listen_spec && open_listener(listen_spec) != 0) return 1;
  if (use_pty && open_pty() != 0) {
    fprintf(stderr, "liquid-device: cannot open a pseudo-terminal\n");
    return 1;
  }
  if (lq_flash_sim_open(flash, FLASH_SIZE, FLASH_PAGE, FLASH_BLOCK) != 0) {
    fprintf(stderr, "liquid-device: cannot use flash image %s\n", flash ? flash : "(memory)");
    return 1;
  }
  if (id) {
    snprintf(device_id, sizeof device_id, "%s", id);
  } else if (flash) {
    /* stable across restarts: the same flash image is the same device */
    char full[4096];
    const char *key = realpath(flash, full) ? full : flash;
    snprintf(device_id, sizeof device_id, "posix-%04x", (unsigned)(lq_crc32(0, key, strlen(key)) & 0xFFFF));
  } else {
    snprintf(device_id, sizeof device_id, "posix-%04x", (unsigned)(lq_port_random() & 0xFFFF));
  }
  set_nonblock(0);
  if (watchdog_ms) start_watchdog(argc, argv);
  if (posix_sim_init() != 0) {
    fprintf(stderr, "liquid-device: the board file %s is not valid JSON\n", board);
    return 1;
  }
  if (lq_runtime_init() != 0) {
    fprintf(stderr, "liquid-device: the board file %s is not usable\n", board);
    return 1;
  }
  if (power_cut_after >= 0) { /* a test hook: lose power in the middle of the Nth flash write */
    lq_flash_sim_cut_after(power_cut_after);
    lq_flash_sim_exit_on_cut(5);
  }
  while (!stop_requested) {
    uint64_t next = lq_runtime_poll();
    lq_port_idle(next);
  }
  lq_flash_sim_close();
  free(board_text);
  return 0;
}
