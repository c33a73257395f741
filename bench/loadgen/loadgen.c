/*
 * loadgen — a small epoll load generator for echo servers.
 *
 * Wire formats it sends and expects back (one frame), chosen with `--lines`:
 *
 *   default (length-prefixed)                     --lines
 *   +----------------+-------------------------+  +-------------------------------+----+
 *   | length: u32 BE | payload: `length` bytes |  | `size` printable ASCII bytes  | \n |
 *   +----------------+-------------------------+  +-------------------------------+----+
 *
 * Throughput mode: N connections, each kept at K frames in flight. Every echoed frame is
 * checked (length-prefixed: length field equal to the size sent, payload bytes equal to the
 * pattern sent; lines: every byte, newline included, equal to the line sent) and answered by one
 * new frame, so the number in flight stays K. Frames are counted over a fixed window after a
 * warm-up.
 *
 * Latency mode: one connection, one frame in flight; each round trip is timed with
 * CLOCK_MONOTONIC, and p50/p99/p99.9 are taken over the measured window.
 *
 * Idle mode (`--idle`): opens N connections, prints `{"mode":"idle","conns":N}`, sends nothing
 * and holds them until its standard input closes (or `--duration` seconds pass), then exits 0.
 *
 * It prints one JSON object on stdout and exits 0, or prints an error on stderr and exits
 * non-zero (connection refused or closed, a malformed echo, the hard time limit).
 *
 * Built by bench/echo.ts with `cc -O2`; written to be the cheap side of the measurement: it
 * writes the next frames straight from one pre-built buffer (every frame is identical, so the
 * byte stream is periodic) and reads up to 256 KiB per call.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_SIZE (256 * 1024)
#define MAX_EVENTS 256

typedef struct {
  int fd;
  /* Parser of echoed frames: header bytes gathered so far, then payload bytes left. */
  int header_have;
  uint8_t header[4];
  uint32_t payload_left;
  uint32_t payload_at;
  /* Bytes of the periodic outbound stream owed to the server, and where in a frame we are. */
  uint64_t owed;
  uint64_t position;
  /* Lines: echoed bytes checked so far (the echo must repeat the outbound stream exactly). */
  uint64_t received;
  int want_out;
} conn_t;

static const char *host = "127.0.0.1";
static int port = 0;
static int conns = 1;
static int inflight = 1;
static uint32_t size = 64;
static double warmup_s = 1.0;
static double duration_s = 3.0;
static int latency_mode = 0;
static int lines_mode = 0;
static int idle_mode = 0;

static uint8_t *pattern;  /* payload bytes every frame carries */
static uint8_t *outbuf;   /* (inflight + 1) identical frames, back to back */
static size_t frame_bytes;
static uint64_t frames_done;
static int epfd;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "loadgen: %s: %s\n", what, errno ? strerror(errno) : "failed");
  exit(2);
}

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "loadgen: hard time limit reached\n";
  ssize_t ignored = write(2, msg, sizeof msg - 1);
  (void)ignored;
  _exit(3);
}

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen --port P [--host H] [--conns N] [--inflight K] [--size BYTES]\n"
          "               [--warmup SECONDS] [--duration SECONDS] [--latency | --idle] [--lines]\n");
  exit(1);
}

static int open_conn(int nonblocking) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) die("inet_pton");
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
  if (nonblocking) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

/* Length-prefixed: checks echoed bytes against the frames sent; returns frames completed. */
static uint64_t parse_prefixed(conn_t *c, const uint8_t *p, size_t n) {
  uint64_t complete = 0;
  while (n > 0) {
    if (c->header_have < 4) {
      c->header[c->header_have++] = *p++;
      n--;
      if (c->header_have == 4) {
        uint32_t length = ((uint32_t)c->header[0] << 24) | ((uint32_t)c->header[1] << 16) |
                          ((uint32_t)c->header[2] << 8) | (uint32_t)c->header[3];
        if (length != size) {
          fprintf(stderr, "loadgen: echoed frame has length %u, sent %u\n", length, size);
          exit(4);
        }
        c->payload_left = length;
        c->payload_at = 0;
        if (length == 0) {
          c->header_have = 0;
          complete++;
        }
      }
      continue;
    }
    size_t take = n < c->payload_left ? n : c->payload_left;
    if (memcmp(p, pattern + c->payload_at, take) != 0) {
      fprintf(stderr, "loadgen: echoed payload differs from the payload sent\n");
      exit(4);
    }
    p += take;
    n -= take;
    c->payload_at += (uint32_t)take;
    c->payload_left -= (uint32_t)take;
    if (c->payload_left == 0) {
      c->header_have = 0;
      complete++;
    }
  }
  return complete;
}

/*
 * Lines: the echo of a line server is the outbound stream itself, so each echoed byte is checked
 * against the pre-built frames at the same offset (a missing or misplaced newline shows as a
 * difference); returns how many whole lines the bytes completed.
 */
static uint64_t parse_lines(conn_t *c, const uint8_t *p, size_t n) {
  uint64_t lines_before = c->received / frame_bytes;
  while (n > 0) {
    size_t offset = (size_t)(c->received % frame_bytes);
    size_t take = n < frame_bytes - offset ? n : frame_bytes - offset;
    if (memcmp(p, outbuf + offset, take) != 0) {
      fprintf(stderr, "loadgen: echoed line differs from the line sent (at byte %zu of %zu)\n",
              offset, frame_bytes);
      exit(4);
    }
    p += take;
    n -= take;
    c->received += take;
  }
  return c->received / frame_bytes - lines_before;
}

static uint64_t parse(conn_t *c, const uint8_t *p, size_t n) {
  return lines_mode ? parse_lines(c, p, n) : parse_prefixed(c, p, n);
}

/* Whether part of a frame has been echoed (the next bytes must finish it). */
static int mid_frame(const conn_t *c) {
  return lines_mode ? c->received % frame_bytes != 0 : c->header_have != 0;
}

static void set_want_out(conn_t *c, int want) {
  if (c->want_out == want) return;
  c->want_out = want;
  struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data = {.ptr = c}};
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl");
}

/* Writes what is owed, from the periodic pre-built stream. */
static void pump(conn_t *c) {
  size_t max_chunk = (size_t)inflight * frame_bytes;
  while (c->owed > 0) {
    size_t offset = (size_t)(c->position % frame_bytes);
    size_t length = c->owed < max_chunk ? (size_t)c->owed : max_chunk;
    ssize_t w = write(c->fd, outbuf + offset, length);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        set_want_out(c, 1);
        return;
      }
      if (errno == EINTR) continue;
      die("write");
    }
    c->owed -= (uint64_t)w;
    c->position += (uint64_t)w;
  }
  set_want_out(c, 0);
}

static int run_throughput(void) {
  epfd = epoll_create1(0);
  if (epfd < 0) die("epoll_create1");
  conn_t *cs = calloc((size_t)conns, sizeof *cs);
  for (int i = 0; i < conns; i++) {
    cs[i].fd = open_conn(1);
    struct epoll_event ev = {.events = EPOLLIN, .data = {.ptr = &cs[i]}};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0) die("epoll_ctl");
  }
  for (int i = 0; i < conns; i++) {
    cs[i].owed = (uint64_t)inflight * frame_bytes;
    pump(&cs[i]);
  }
  uint8_t *rbuf = malloc(READ_SIZE);
  struct epoll_event events[MAX_EVENTS];
  double start = now_s();
  double measure_from = start + warmup_s;
  double stop_at = measure_from + duration_s;
  int measuring = 0;
  uint64_t frames_at_start = 0;
  double measured_from = 0;
  struct rusage ru0;
  for (;;) {
    double t = now_s();
    if (!measuring && t >= measure_from) {
      measuring = 1;
      frames_at_start = frames_done;
      measured_from = t;
      getrusage(RUSAGE_SELF, &ru0);
    }
    if (t >= stop_at) break;
    int n = epoll_wait(epfd, events, MAX_EVENTS, 10);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int e = 0; e < n; e++) {
      conn_t *c = events[e].data.ptr;
      if (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        ssize_t r = read(c->fd, rbuf, READ_SIZE);
        if (r == 0) {
          fprintf(stderr, "loadgen: server closed a connection\n");
          exit(5);
        }
        if (r < 0) {
          if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) die("read");
        } else {
          uint64_t done = parse(c, rbuf, (size_t)r);
          if (done > 0) {
            frames_done += done;
            c->owed += done * frame_bytes;
            pump(c);
          }
        }
      }
      if ((events[e].events & EPOLLOUT) && c->owed > 0) pump(c);
    }
  }
  double elapsed = now_s() - measured_from;
  struct rusage ru1;
  getrusage(RUSAGE_SELF, &ru1);
  double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
               (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
               (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
               (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
  uint64_t frames = frames_done - frames_at_start;
  printf("{\"mode\":\"throughput\",\"conns\":%d,\"inflight\":%d,\"size\":%u,\"frames\":%llu,"
         "\"seconds\":%.6f,\"framesPerSec\":%.1f,\"payloadBytesPerSec\":%.1f,"
         "\"loadgenCpuSeconds\":%.6f}\n",
         conns, inflight, size, (unsigned long long)frames, elapsed, (double)frames / elapsed,
         (double)frames * size / elapsed, cpu);
  return 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void read_exact_frame(conn_t *c, uint8_t *rbuf) {
  for (;;) {
    ssize_t r = read(c->fd, rbuf, READ_SIZE);
    if (r == 0) {
      fprintf(stderr, "loadgen: server closed the connection\n");
      exit(5);
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      die("read");
    }
    uint64_t done = parse(c, rbuf, (size_t)r);
    if (done > 1 || (done == 1 && mid_frame(c))) {
      fprintf(stderr, "loadgen: more bytes echoed than sent\n");
      exit(4);
    }
    if (done == 1) return;
  }
}

static int run_latency(void) {
  conn_t c;
  memset(&c, 0, sizeof c);
  c.fd = open_conn(0);
  uint8_t *rbuf = malloc(READ_SIZE);
  size_t cap = 1 << 20;
  uint64_t *samples = malloc(cap * sizeof *samples);
  size_t count = 0;
  double start = now_s();
  double measure_from = start + warmup_s;
  double stop_at = measure_from + duration_s;
  double measured_from = 0;
  int measuring = 0;
  struct rusage ru0;
  for (;;) {
    double t = now_s();
    if (!measuring && t >= measure_from) {
      measuring = 1;
      measured_from = t;
      getrusage(RUSAGE_SELF, &ru0);
    }
    if (t >= stop_at) break;
    uint64_t t0 = now_ns();
    size_t sent = 0;
    while (sent < frame_bytes) {
      ssize_t w = write(c.fd, outbuf + sent, frame_bytes - sent);
      if (w < 0) {
        if (errno == EINTR) continue;
        die("write");
      }
      sent += (size_t)w;
    }
    read_exact_frame(&c, rbuf);
    uint64_t t1 = now_ns();
    if (measuring) {
      if (count == cap) {
        cap *= 2;
        samples = realloc(samples, cap * sizeof *samples);
        if (samples == NULL) die("realloc");
      }
      samples[count++] = t1 - t0;
    }
  }
  double elapsed = now_s() - measured_from;
  struct rusage ru1;
  getrusage(RUSAGE_SELF, &ru1);
  double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
               (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
               (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
               (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
  if (count == 0) {
    fprintf(stderr, "loadgen: no round trip completed in the measured window\n");
    exit(6);
  }
  qsort(samples, count, sizeof *samples, cmp_u64);
  double sum = 0;
  for (size_t i = 0; i < count; i++) sum += (double)samples[i];
#define PCT(p) ((double)samples[(size_t)((double)(count - 1) * (p))] / 1000.0)
  printf("{\"mode\":\"latency\",\"size\":%u,\"roundTrips\":%zu,\"seconds\":%.6f,"
         "\"framesPerSec\":%.1f,\"p50us\":%.2f,\"p90us\":%.2f,\"p99us\":%.2f,\"p999us\":%.2f,"
         "\"maxus\":%.2f,\"meanus\":%.2f,\"loadgenCpuSeconds\":%.6f}\n",
         size, count, elapsed, (double)count / elapsed, PCT(0.50), PCT(0.90), PCT(0.99),
         PCT(0.999), (double)samples[count - 1] / 1000.0, sum / (double)count / 1000.0, cpu);
  return 0;
}

static int run_idle(void) {
  int *fds = malloc((size_t)conns * sizeof *fds);
  if (fds == NULL) die("malloc");
  for (int i = 0; i < conns; i++) fds[i] = open_conn(0);
  printf("{\"mode\":\"idle\",\"conns\":%d}\n", conns);
  fflush(stdout);
  /* Hold them until the parent closes our stdin (or goes away); the alarm bounds the wait. */
  char byte;
  while (read(0, &byte, 1) > 0) {
  }
  for (int i = 0; i < conns; i++) close(fds[i]);
  return 0;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--latency") == 0) {
      latency_mode = 1;
      continue;
    }
    if (strcmp(a, "--lines") == 0) {
      lines_mode = 1;
      continue;
    }
    if (strcmp(a, "--idle") == 0) {
      idle_mode = 1;
      continue;
    }
    if (v == NULL) usage();
    if (strcmp(a, "--host") == 0) host = v;
    else if (strcmp(a, "--port") == 0) port = atoi(v);
    else if (strcmp(a, "--conns") == 0) conns = atoi(v);
    else if (strcmp(a, "--inflight") == 0) inflight = atoi(v);
    else if (strcmp(a, "--size") == 0) size = (uint32_t)strtoul(v, NULL, 10);
    else if (strcmp(a, "--warmup") == 0) warmup_s = atof(v);
    else if (strcmp(a, "--duration") == 0) duration_s = atof(v);
    else usage();
    i++;
  }
  if (port <= 0 || conns < 1 || inflight < 1 || duration_s <= 0 || warmup_s < 0) usage();
  signal(SIGPIPE, SIG_IGN);
  signal(SIGALRM, on_alarm);
  /* Whatever happens, never run much past the window we were asked for. */
  alarm((unsigned)(warmup_s + duration_s) + 10);

  if (idle_mode) return run_idle();

  pattern = malloc(size > 0 ? size : 1);
  /* Lines carry printable letters (no CR or LF); length-prefixed payloads any byte value. */
  for (uint32_t i = 0; i < size; i++)
    pattern[i] = lines_mode ? (uint8_t)('a' + i % 26u) : (uint8_t)(i * 31u + 7u);
  frame_bytes = (lines_mode ? 1 : 4) + (size_t)size;
  outbuf = malloc(frame_bytes * (size_t)(inflight + 1));
  for (int f = 0; f <= inflight; f++) {
    uint8_t *p = outbuf + (size_t)f * frame_bytes;
    if (lines_mode) {
      memcpy(p, pattern, size);
      p[size] = '\n';
      continue;
    }
    p[0] = (uint8_t)(size >> 24);
    p[1] = (uint8_t)(size >> 16);
    p[2] = (uint8_t)(size >> 8);
    p[3] = (uint8_t)size;
    memcpy(p + 4, pattern, size);
  }
  return latency_mode ? run_latency() : run_throughput();
}
