/*
 * lgbench: the load generator and backend of `npm run bench` (bench/suite.ts).
 *
 * One single-threaded epoll loop per process; the suite runs several processes when it needs
 * more. IPv4 only (the suite uses 127.0.0.x). Every mode stops by itself: --max-seconds bounds
 * the servers and the hold mode, --duration plus the per-connection timeout bounds the client,
 * --timeout-s bounds a bulk transfer, and every mode gets SIGTERM when its parent dies
 * (PR_SET_PDEATHSIG). Results are JSON lines on stdout.
 *
 *   lgbench server --listen IP:PORT [--behaviour reply|drop|hold|sink|source] [--reply-bytes 64]
 *                  [--source-bytes N] [--idle-ms 10000] [--max-seconds 600]
 *       Accepts connections (port 0 picks one; {"event":"listening","port":P} says which).
 *       A request is an optional PROXY v1/v2 header and one TLS record (the ClientHello); it
 *       is complete when all of it has arrived (anything else: at the first read).
 *       reply:  answer --reply-bytes bytes and close.   drop: reset without answering (the
 *       cheapest way a proxy can refuse a connection).  hold: keep it open until the peer closes.
 *       sink: read everything until EOF, then close.  source: send --source-bytes, shut down
 *       writing, close at the peer's EOF.
 *       SIGUSR1 prints {"event":"stats",...}; SIGTERM/SIGINT print it and exit.
 *
 *   lgbench client --connect IP:PORT --payload FILE [--concurrency 50] [--duration 5]
 *                  [--warmup 0] [--expect 64] [--bind IP,IP,...] [--conn-timeout-ms 5000]
 *       Closed loop: each slot connects, writes FILE, reads until EOF, closes, repeats.
 *       Connections that finish inside the measured window (after --warmup) are counted.
 *       Prints one JSON object: counts by outcome, rates, latency percentiles, histogram.
 *
 *   lgbench bulk --connect IP:PORT --payload FILE --direction up|down --bytes N [--timeout-s 120]
 *       One connection: writes FILE, then (up) N bytes and a FIN, waiting for the peer's EOF;
 *       or (down) reads until EOF. Prints bytes, seconds and Gbit/s.
 *
 *   lgbench hold --connect IP:PORT --payload FILE --count N [--parallel 256] [--bind IPs]
 *                [--conn-timeout-ms 10000] [--max-seconds 300]
 *       Opens N connections, writes FILE on each and keeps them open. Prints
 *       {"event":"established",...} once every connection is written or failed; SIGUSR1
 *       prints {"event":"status",...}; SIGTERM/SIGINT (or --max-seconds) closes all and exits.
 *
 *   lgbench exec --parent PID -- PROGRAM ARGS...
 *       Runs PROGRAM (execvp) with the descriptor limit raised to the hard limit, set to be
 *       killed (SIGKILL) when its parent dies: the suite starts HAProxy and linkgate through it
 *       so that nothing outlives a suite that is itself killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define MAX_EVENTS 512
#define SCRATCH (256 * 1024)

static uint8_t scratch[SCRATCH];
static volatile sig_atomic_t g_stop = 0;
static volatile sig_atomic_t g_report = 0;

static void die(const char *what) {
  fprintf(stderr, "lgbench: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void usage(const char *msg) {
  fprintf(stderr, "lgbench: %s (see the comment at the top of bench/native/lgbench.c)\n", msg);
  exit(2);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void on_stop(int sig) {
  (void)sig;
  g_stop = 1;
}
static void on_report(int sig) {
  (void)sig;
  g_report = 1;
}

static void setup_process(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop; /* no SA_RESTART: epoll_wait returns EINTR */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = on_report;
  sigaction(SIGUSR1, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  /* As many descriptors as the hard limit allows (setrlimit cannot go beyond it unprivileged). */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  /* Stop (SIGTERM) when the suite dies, however it dies; LGBENCH_PARENT closes the race with a
     parent that died before this call. */
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  const char *parent = getenv("LGBENCH_PARENT");
  if (parent != NULL && getppid() != (pid_t)atol(parent)) exit(1);
}

static struct sockaddr_in parse_addr(const char *text) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  char host[64];
  const char *colon = strrchr(text, ':');
  if (colon == NULL || (size_t)(colon - text) >= sizeof host) usage("expected IP:PORT");
  memcpy(host, text, (size_t)(colon - text));
  host[colon - text] = 0;
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) usage("expected an IPv4 address");
  long port = strtol(colon + 1, NULL, 10);
  if (port < 0 || port > 65535) usage("bad port");
  a.sin_port = htons((uint16_t)port);
  return a;
}

/* Comma-separated IPv4 addresses (local addresses for outgoing connections). */
static int parse_addr_list(const char *text, struct sockaddr_in *out, int max) {
  int n = 0;
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", text);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL && n < max;
       tok = strtok_r(NULL, ",", &save)) {
    memset(&out[n], 0, sizeof out[n]);
    out[n].sin_family = AF_INET;
    if (inet_pton(AF_INET, tok, &out[n].sin_addr) != 1) usage("bad --bind address");
    n++;
  }
  return n;
}

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) die(path);
  struct stat st;
  if (fstat(fileno(f), &st) != 0) die(path);
  uint8_t *b = malloc((size_t)st.st_size + 1);
  if (b == NULL) die("malloc");
  *len = fread(b, 1, (size_t)st.st_size, f);
  fclose(f);
  return b;
}

/* CPU seconds (user + system) this process used so far. */
static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* --------------------------------------------------------------------------------------------
 * Latency histogram: 32 sub-buckets per power of two of microseconds (about 3% precision).
 */
#define HIST_BUCKETS 1100
static uint64_t hist[HIST_BUCKETS];

static int hist_index(uint64_t v) {
  if (v < 32) return (int)v;
  int msb = 63 - __builtin_clzll(v);
  int shift = msb - 4;
  int idx = (shift + 1) * 16 + (int)((v >> shift) - 16);
  return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

/* The middle of bucket idx, in microseconds. */
static double hist_value(int idx) {
  if (idx < 32) return idx;
  int shift = idx / 16 - 1;
  uint64_t mant = (uint64_t)(idx % 16) + 16;
  return (double)(mant << shift) + (double)((1ull << shift) - 1) / 2.0;
}

static double hist_percentile(double p, uint64_t total) {
  if (total == 0) return 0;
  uint64_t want = (uint64_t)(p * (double)total);
  if (want >= total) want = total - 1;
  uint64_t seen = 0;
  for (int i = 0; i < HIST_BUCKETS; i++) {
    seen += hist[i];
    if (seen > want) return hist_value(i);
  }
  return hist_value(HIST_BUCKETS - 1);
}

/* --------------------------------------------------------------------------------------------
 * server
 */
enum { B_REPLY, B_DROP, B_HOLD, B_SINK, B_SOURCE };
enum { S_REQ, S_HOLD, S_SINK, S_SOURCE, S_DRAIN };
#define HEAD 1024

struct sconn {
  int fd;
  int state;
  uint64_t got;
  uint64_t sent;
  double last;
  double started;
  uint16_t headlen;
  struct sconn *prev, *next;
  uint8_t head[HEAD];
};

static struct {
  int behaviour;
  size_t reply_bytes;
  uint64_t source_bytes;
  double idle_s;
  int epfd;
  struct sconn *list;
  uint64_t accepted, completed, incomplete, timeouts, errors, active, holding;
  uint64_t bytes_in, bytes_out;
} S;

static const uint8_t PP2_SIG[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                    0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* Length of the request in b[0..n): -1 need more bytes, -2 not a request we understand. */
static int64_t request_length(const uint8_t *b, size_t n) {
  size_t off = 0;
  if (n == 0) return -1;
  if (b[0] == 0x0D) {
    size_t k = n < 12 ? n : 12;
    if (memcmp(b, PP2_SIG, k) != 0) return -2;
    if (n < 16) return -1;
    off = 16 + ((size_t)b[14] << 8 | b[15]);
  } else if (b[0] == 'P') {
    const uint8_t *e = memmem(b, n, "\r\n", 2);
    if (e == NULL) return n >= 108 ? -2 : -1;
    off = (size_t)(e - b) + 2;
  }
  if (off + 5 > HEAD) return -2;
  if (n < off + 5) return -1;
  if (b[off] != 0x16) return -2;
  return (int64_t)(off + 5 + ((size_t)b[off + 3] << 8 | b[off + 4]));
}

static void server_stats(const char *event) {
  printf("{\"event\":\"%s\",\"accepted\":%llu,\"completed\":%llu,\"active\":%llu,\"holding\":%llu,"
         "\"incomplete\":%llu,\"timeouts\":%llu,\"errors\":%llu,\"bytesIn\":%llu,\"bytesOut\":%llu}\n",
         event, (unsigned long long)S.accepted, (unsigned long long)S.completed,
         (unsigned long long)S.active, (unsigned long long)S.holding,
         (unsigned long long)S.incomplete, (unsigned long long)S.timeouts,
         (unsigned long long)S.errors, (unsigned long long)S.bytes_in,
         (unsigned long long)S.bytes_out);
}

static void sconn_close(struct sconn *c) {
  if (c->state == S_HOLD) S.holding--;
  if (c->prev) c->prev->next = c->next;
  else S.list = c->next;
  if (c->next) c->next->prev = c->prev;
  close(c->fd);
  S.active--;
  free(c);
}

static void sconn_mod(struct sconn *c, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(S.epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) die("epoll_ctl");
}

/* Writes as much of the source stream as the socket takes; returns false when closed. */
static bool source_write(struct sconn *c) {
  while (c->sent < S.source_bytes) {
    uint64_t left = S.source_bytes - c->sent;
    size_t chunk = left < SCRATCH ? (size_t)left : SCRATCH;
    ssize_t w = send(c->fd, scratch, chunk, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN) return true;
      S.errors++;
      sconn_close(c);
      return false;
    }
    c->sent += (uint64_t)w;
    S.bytes_out += (uint64_t)w;
  }
  double secs = now_s() - c->started;
  printf("{\"event\":\"source\",\"bytes\":%llu,\"seconds\":%.6f}\n", (unsigned long long)c->sent,
         secs);
  shutdown(c->fd, SHUT_WR);
  c->state = S_DRAIN;
  sconn_mod(c, EPOLLIN);
  return true;
}

static void request_complete(struct sconn *c) {
  S.completed++;
  switch (S.behaviour) {
  case B_REPLY: {
    memset(scratch, 'r', S.reply_bytes);
    ssize_t w = send(c->fd, scratch, S.reply_bytes, MSG_NOSIGNAL);
    if (w > 0) S.bytes_out += (uint64_t)w;
    sconn_close(c);
    return;
  }
  case B_DROP: {
    /* Reset, the cheapest close for both ends (what HAProxy does with unread bytes). */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    sconn_close(c);
    return;
  }
  case B_HOLD:
    c->state = S_HOLD;
    S.holding++;
    return;
  case B_SOURCE:
    c->state = S_SOURCE;
    c->started = now_s();
    sconn_mod(c, EPOLLIN | EPOLLOUT);
    source_write(c);
    return;
  }
}

static void server_readable(struct sconn *c) {
  for (;;) {
    ssize_t r = recv(c->fd, scratch, SCRATCH, 0);
    if (r > 0) {
      c->last = now_s();
      S.bytes_in += (uint64_t)r;
      if (c->state == S_REQ) {
        size_t take = (size_t)r;
        if (c->headlen + take > HEAD) take = HEAD - c->headlen;
        memcpy(c->head + c->headlen, scratch, take);
        c->headlen += (uint16_t)take;
        c->got += (uint64_t)r;
        int64_t want = request_length(c->head, c->headlen);
        if (want == -2 || (want >= 0 && c->got >= (uint64_t)want)) {
          request_complete(c);
          if (S.behaviour != B_HOLD) return; /* closed, or now driven by EPOLLOUT */
        }
      } else {
        c->got += (uint64_t)r;
      }
      continue;
    }
    if (r < 0 && errno == EAGAIN) return;
    if (r < 0 && errno == EINTR) continue;
    /* EOF or error */
    if (r < 0) S.errors++;
    if (c->state == S_REQ) S.incomplete++;
    if (c->state == S_SINK) {
      printf("{\"event\":\"sink\",\"bytes\":%llu,\"seconds\":%.6f}\n", (unsigned long long)c->got,
             now_s() - c->started);
    }
    sconn_close(c);
    return;
  }
}

static int server_listen(const char *spec) {
  struct sockaddr_in a = parse_addr(spec);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) die("bind");
  if (listen(fd, 4096) != 0) die("listen");
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  printf("{\"event\":\"listening\",\"port\":%d}\n", ntohs(a.sin_port));
  return fd;
}

static int run_server(int argc, char **argv) {
  const char *listen_spec = NULL;
  double max_seconds = 600;
  S.behaviour = B_REPLY;
  S.reply_bytes = 64;
  S.idle_s = 10;
  for (int i = 2; i < argc; i++) {
    const char *k = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v == NULL) usage("option without a value");
    if (!strcmp(k, "--listen")) listen_spec = v;
    else if (!strcmp(k, "--behaviour")) {
      if (!strcmp(v, "reply")) S.behaviour = B_REPLY;
      else if (!strcmp(v, "drop")) S.behaviour = B_DROP;
      else if (!strcmp(v, "hold")) S.behaviour = B_HOLD;
      else if (!strcmp(v, "sink")) S.behaviour = B_SINK;
      else if (!strcmp(v, "source")) S.behaviour = B_SOURCE;
      else usage("--behaviour reply|drop|hold|sink|source");
    } else if (!strcmp(k, "--reply-bytes")) S.reply_bytes = (size_t)strtoull(v, NULL, 10);
    else if (!strcmp(k, "--source-bytes")) S.source_bytes = strtoull(v, NULL, 10);
    else if (!strcmp(k, "--idle-ms")) S.idle_s = strtod(v, NULL) / 1000;
    else if (!strcmp(k, "--max-seconds")) max_seconds = strtod(v, NULL);
    else usage("unknown server option");
    i++;
  }
  if (listen_spec == NULL) usage("server needs --listen");
  if (S.reply_bytes > SCRATCH) usage("--reply-bytes too large");
  int lfd = server_listen(listen_spec);
  S.epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(S.epfd, EPOLL_CTL_ADD, lfd, &ev) != 0) die("epoll_ctl");
  struct epoll_event events[MAX_EVENTS];
  double deadline = now_s() + max_seconds;
  double next_sweep = now_s() + 0.5;
  while (!g_stop) {
    int n = epoll_wait(S.epfd, events, MAX_EVENTS, 200);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; i++) {
      struct sconn *c = events[i].data.ptr;
      if (c == NULL) {
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) S.errors++;
            break;
          }
          S.accepted++;
          S.active++;
          set_nodelay(fd);
          struct sconn *nc = calloc(1, sizeof *nc);
          if (nc == NULL) die("calloc");
          nc->fd = fd;
          nc->state = S.behaviour == B_SINK ? S_SINK : S_REQ;
          nc->last = nc->started = now_s();
          nc->next = S.list;
          if (S.list) S.list->prev = nc;
          S.list = nc;
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = nc};
          if (epoll_ctl(S.epfd, EPOLL_CTL_ADD, fd, &cev) != 0) die("epoll_ctl");
          /* The request usually arrives with the connection: do not wait for the event. */
          server_readable(nc);
        }
        continue;
      }
      if (c->state == S_SOURCE && (events[i].events & EPOLLOUT)) {
        if (!source_write(c)) continue;
        if (!(events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      }
      server_readable(c);
    }
    if (g_report) {
      g_report = 0;
      server_stats("stats");
    }
    double t = now_s();
    if (t >= deadline) break;
    if (t >= next_sweep) {
      next_sweep = t + 0.5;
      for (struct sconn *c = S.list, *next; c != NULL; c = next) {
        next = c->next;
        if (c->state == S_HOLD) continue;
        double limit = c->state == S_REQ ? S.idle_s : 3 * S.idle_s;
        if (t - c->last > limit) {
          S.timeouts++;
          if (c->state == S_REQ) S.incomplete++;
          sconn_close(c);
        }
      }
    }
  }
  server_stats("exit");
  return 0;
}

/* --------------------------------------------------------------------------------------------
 * client (closed loop) and hold
 */
enum { C_FREE, C_CONNECTING, C_WRITING, C_READING, C_HELD };
enum { O_OK, O_NO_REPLY, O_RESET, O_REFUSED, O_TIMEOUT, O_OTHER, O_COUNT };
static const char *OUTCOME[O_COUNT] = {"ok", "noReply", "reset", "refused", "timeout", "other"};

struct cconn {
  int fd;
  int state;
  uint64_t start_us;
  size_t written;
  size_t got;
};

static struct {
  struct sockaddr_in target;
  struct sockaddr_in binds[64];
  int nbinds, next_bind;
  uint8_t *payload;
  size_t payload_len;
  size_t expect;
  int epfd;
  uint64_t conn_timeout_us;
  uint64_t outcomes[O_COUNT];
  int last_errno;
} C;

static int outcome_of_errno(int e) {
  if (e == ECONNREFUSED) return O_REFUSED;
  if (e == ECONNRESET || e == EPIPE || e == ECONNABORTED) return O_RESET;
  if (e == ETIMEDOUT) return O_TIMEOUT;
  C.last_errno = e;
  return O_OTHER;
}

/* Starts connecting slot `i`; returns an outcome < 0 on success, else the immediate failure. */
static int client_start(struct cconn *cs, uint32_t i) {
  struct cconn *c = &cs[i];
  c->start_us = now_us();
  c->written = c->got = 0;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return outcome_of_errno(errno);
  set_nodelay(fd);
  if (C.nbinds > 0) {
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in *b = &C.binds[C.next_bind++ % C.nbinds];
    if (bind(fd, (struct sockaddr *)b, sizeof *b) != 0) {
      int e = errno;
      close(fd);
      return outcome_of_errno(e);
    }
  }
  int r = connect(fd, (struct sockaddr *)&C.target, sizeof C.target);
  if (r != 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    return outcome_of_errno(e);
  }
  c->fd = fd;
  c->state = C_CONNECTING;
  struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = i};
  if (epoll_ctl(C.epfd, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
  return -1;
}

static void client_end(struct cconn *c) {
  close(c->fd);
  c->fd = -1;
  c->state = C_FREE;
}

/* Advances slot c on an event; returns -1 while in progress, else the connection's outcome. */
static int client_step(struct cconn *c, uint32_t events, bool hold) {
  if (c->state == C_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return outcome_of_errno(err);
    c->state = C_WRITING;
  }
  if (c->state == C_WRITING) {
    while (c->written < C.payload_len) {
      ssize_t w = send(c->fd, C.payload + c->written, C.payload_len - c->written, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EAGAIN) return -1;
        if (errno == EINTR) continue;
        return outcome_of_errno(errno);
      }
      c->written += (size_t)w;
    }
    c->state = hold ? C_HELD : C_READING;
    return hold ? O_OK : -2; /* -2: the caller switches the slot to reading */
  }
  (void)events;
  for (;;) {
    ssize_t r = recv(c->fd, scratch, SCRATCH, 0);
    if (r > 0) {
      c->got += (size_t)r;
      continue;
    }
    if (r == 0) return c->got >= C.expect ? O_OK : O_NO_REPLY;
    if (errno == EAGAIN) return -1;
    if (errno == EINTR) continue;
    if ((errno == ECONNRESET || errno == EPIPE) && c->got >= C.expect && C.expect > 0) return O_OK;
    return outcome_of_errno(errno);
  }
}

static void parse_client_common(const char *k, const char *v, bool *handled) {
  *handled = true;
  if (!strcmp(k, "--connect")) C.target = parse_addr(v);
  else if (!strcmp(k, "--payload")) C.payload = read_file(v, &C.payload_len);
  else if (!strcmp(k, "--bind")) C.nbinds = parse_addr_list(v, C.binds, 64);
  else if (!strcmp(k, "--conn-timeout-ms")) C.conn_timeout_us = strtoull(v, NULL, 10) * 1000;
  else *handled = false;
}

static int run_client(int argc, char **argv) {
  int conc = 50;
  double duration = 5, warmup = 0;
  C.expect = 64;
  C.conn_timeout_us = 5000000;
  for (int i = 2; i < argc; i++) {
    const char *k = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v == NULL) usage("option without a value");
    bool handled;
    parse_client_common(k, v, &handled);
    if (handled) {
    } else if (!strcmp(k, "--concurrency")) conc = atoi(v);
    else if (!strcmp(k, "--duration")) duration = strtod(v, NULL);
    else if (!strcmp(k, "--warmup")) warmup = strtod(v, NULL);
    else if (!strcmp(k, "--expect")) C.expect = (size_t)strtoull(v, NULL, 10);
    else usage("unknown client option");
    i++;
  }
  if (C.target.sin_port == 0 || C.payload == NULL) usage("client needs --connect and --payload");
  if (conc < 1 || conc > 100000) usage("bad --concurrency");
  C.epfd = epoll_create1(EPOLL_CLOEXEC);
  struct cconn *cs = calloc((size_t)conc, sizeof *cs);
  if (cs == NULL) die("calloc");
  uint64_t t0 = now_us();
  uint64_t measure_from = t0 + (uint64_t)(warmup * 1e6);
  uint64_t measure_to = measure_from + (uint64_t)(duration * 1e6);
  uint64_t started = 0, lat_sum = 0, lat_max = 0, answered = 0;
  for (int i = 0; i < conc; i++) cs[i].state = C_FREE;
  struct epoll_event events[MAX_EVENTS];
  uint64_t next_sweep = t0 + 50000;
  for (;;) {
    uint64_t t = now_us();
    if (t >= measure_to || g_stop) break;
    /* (Re)start every free slot. */
    int failed_now = 0;
    for (int i = 0; i < conc; i++) {
      if (cs[i].state != C_FREE) continue;
      started++;
      int o = client_start(cs, (uint32_t)i);
      if (o >= 0) {
        if (t >= measure_from) C.outcomes[o]++;
        failed_now++;
      }
    }
    int n = epoll_wait(C.epfd, events, MAX_EVENTS, failed_now > 0 ? 1 : 50);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int e = 0; e < n; e++) {
      uint32_t i = events[e].data.u32;
      struct cconn *c = &cs[i];
      int o = client_step(c, events[e].events, false);
      if (o == -2) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(C.epfd, EPOLL_CTL_MOD, c->fd, &ev);
        o = client_step(c, EPOLLIN, false);
      }
      if (o < 0) continue;
      uint64_t end = now_us();
      if (end >= measure_from && end < measure_to) {
        C.outcomes[o]++;
        if (o == O_OK || o == O_NO_REPLY || o == O_RESET) {
          uint64_t lat = end - c->start_us;
          hist[hist_index(lat)]++;
          lat_sum += lat;
          if (lat > lat_max) lat_max = lat;
          answered++;
        }
      }
      client_end(c);
    }
    t = now_us();
    if (t >= next_sweep) {
      next_sweep = t + 50000;
      for (int i = 0; i < conc; i++) {
        if (cs[i].state != C_FREE && t - cs[i].start_us > C.conn_timeout_us) {
          if (t >= measure_from) C.outcomes[O_TIMEOUT]++;
          client_end(&cs[i]);
        }
      }
    }
  }
  for (int i = 0; i < conc; i++)
    if (cs[i].state != C_FREE) client_end(&cs[i]);
  double secs = duration;
  if (g_stop) secs = (double)(now_us() - measure_from) / 1e6;
  if (secs <= 0) secs = 1e-9;
  printf("{\"mode\":\"client\",\"seconds\":%.3f,\"concurrency\":%d,\"started\":%llu", secs, conc,
         (unsigned long long)started);
  for (int o = 0; o < O_COUNT; o++)
    printf(",\"%s\":%llu", OUTCOME[o], (unsigned long long)C.outcomes[o]);
  printf(",\"answered\":%llu,\"rateOk\":%.1f,\"rateAnswered\":%.1f", (unsigned long long)answered,
         (double)C.outcomes[O_OK] / secs, (double)answered / secs);
  printf(",\"latencyUs\":{\"p50\":%.0f,\"p90\":%.0f,\"p99\":%.0f,\"max\":%llu,\"mean\":%.1f}",
         hist_percentile(0.50, answered), hist_percentile(0.90, answered),
         hist_percentile(0.99, answered), (unsigned long long)lat_max,
         answered ? (double)lat_sum / (double)answered : 0.0);
  printf(",\"cpuSeconds\":%.3f,\"lastErrno\":\"%s\",\"hist\":[", cpu_seconds(),
         C.last_errno ? strerror(C.last_errno) : "");
  bool first = true;
  for (int i = 0; i < HIST_BUCKETS; i++) {
    if (hist[i] == 0) continue;
    printf("%s[%.1f,%llu]", first ? "" : ",", hist_value(i), (unsigned long long)hist[i]);
    first = false;
  }
  printf("]}\n");
  return 0;
}

static int run_hold(int argc, char **argv) {
  int count = 0, parallel = 256;
  double max_seconds = 300;
  C.conn_timeout_us = 10000000;
  for (int i = 2; i < argc; i++) {
    const char *k = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v == NULL) usage("option without a value");
    bool handled;
    parse_client_common(k, v, &handled);
    if (handled) {
    } else if (!strcmp(k, "--count")) count = atoi(v);
    else if (!strcmp(k, "--parallel")) parallel = atoi(v);
    else if (!strcmp(k, "--max-seconds")) max_seconds = strtod(v, NULL);
    else usage("unknown hold option");
    i++;
  }
  if (C.target.sin_port == 0 || C.payload == NULL || count < 1)
    usage("hold needs --connect, --payload and --count");
  if (parallel < 1) parallel = 1;
  C.epfd = epoll_create1(EPOLL_CLOEXEC);
  struct cconn *cs = calloc((size_t)count, sizeof *cs);
  if (cs == NULL) die("calloc");
  double t0 = now_s(), deadline = t0 + max_seconds;
  int next = 0, in_progress = 0, established = 0, failed = 0, open = 0, closed_by_peer = 0;
  bool reported = false;
  struct epoll_event events[MAX_EVENTS];
  uint64_t next_sweep = now_us() + 100000;
  while (!g_stop && now_s() < deadline) {
    while (next < count && in_progress < parallel) {
      int o = client_start(cs, (uint32_t)next);
      if (o >= 0) {
        C.outcomes[o]++;
        failed++;
        cs[next].state = C_FREE;
      } else {
        in_progress++;
      }
      next++;
    }
    if (!reported && next == count && in_progress == 0) {
      reported = true;
      printf("{\"event\":\"established\",\"ok\":%d,\"failed\":%d,\"seconds\":%.3f", established,
             failed, now_s() - t0);
      for (int o = 1; o < O_COUNT; o++)
        printf(",\"%s\":%llu", OUTCOME[o], (unsigned long long)C.outcomes[o]);
      printf("}\n");
    }
    int n = epoll_wait(C.epfd, events, MAX_EVENTS, 100);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int e = 0; e < n; e++) {
      uint32_t i = events[e].data.u32;
      struct cconn *c = &cs[i];
      if (c->state == C_HELD) {
        /* Anything readable on a held connection: the peer closed it (or sent bytes). */
        ssize_t r = recv(c->fd, scratch, SCRATCH, 0);
        if (r > 0 || (r < 0 && errno == EAGAIN)) continue;
        closed_by_peer++;
        open--;
        client_end(c);
        continue;
      }
      int o = client_step(c, events[e].events, true);
      if (o < 0) continue;
      in_progress--;
      if (o == O_OK) {
        established++;
        open++;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = i};
        epoll_ctl(C.epfd, EPOLL_CTL_MOD, c->fd, &ev);
      } else {
        C.outcomes[o]++;
        failed++;
        client_end(c);
      }
    }
    uint64_t t = now_us();
    if (t >= next_sweep) {
      next_sweep = t + 100000;
      for (int i = 0; i < next; i++) {
        struct cconn *c = &cs[i];
        if ((c->state == C_CONNECTING || c->state == C_WRITING) &&
            t - c->start_us > C.conn_timeout_us) {
          C.outcomes[O_TIMEOUT]++;
          failed++;
          in_progress--;
          client_end(c);
        }
      }
    }
    if (g_report) {
      g_report = 0;
      printf("{\"event\":\"status\",\"open\":%d,\"established\":%d,\"failed\":%d,"
             "\"closedByPeer\":%d}\n",
             open, established, failed, closed_by_peer);
    }
  }
  for (int i = 0; i < count; i++)
    if (cs[i].state != C_FREE && cs[i].fd > 0) client_end(&cs[i]);
  printf("{\"event\":\"exit\",\"open\":%d,\"established\":%d,\"failed\":%d,\"closedByPeer\":%d}\n",
         open, established, failed, closed_by_peer);
  return 0;
}

/* --------------------------------------------------------------------------------------------
 * bulk
 */
static bool write_all(int fd, const uint8_t *b, size_t n, double deadline) {
  while (n > 0) {
    if (now_s() > deadline) {
      errno = ETIMEDOUT;
      return false;
    }
    ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;
    }
    b += w;
    n -= (size_t)w;
  }
  return true;
}

static int run_bulk(int argc, char **argv) {
  const char *direction = NULL;
  uint64_t bytes = 0;
  double timeout = 120;
  for (int i = 2; i < argc; i++) {
    const char *k = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v == NULL) usage("option without a value");
    bool handled;
    parse_client_common(k, v, &handled);
    if (handled) {
    } else if (!strcmp(k, "--direction")) direction = v;
    else if (!strcmp(k, "--bytes")) bytes = strtoull(v, NULL, 10);
    else if (!strcmp(k, "--timeout-s")) timeout = strtod(v, NULL);
    else usage("unknown bulk option");
    i++;
  }
  if (C.target.sin_port == 0 || C.payload == NULL || direction == NULL)
    usage("bulk needs --connect, --payload and --direction");
  bool up = !strcmp(direction, "up");
  if (!up && strcmp(direction, "down")) usage("--direction up|down");
  for (size_t i = 0; i < SCRATCH; i++) scratch[i] = (uint8_t)(i * 131 + 7);
  double t0 = now_s(), deadline = t0 + timeout;
  const char *error = "";
  uint64_t moved = 0;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  struct timeval tv = {.tv_sec = 5, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&C.target, sizeof C.target) != 0) {
    error = strerror(errno);
    goto done;
  }
  if (!write_all(fd, C.payload, C.payload_len, deadline)) {
    error = strerror(errno);
    goto done;
  }
  if (up) {
    while (moved < bytes) {
      uint64_t left = bytes - moved;
      size_t chunk = left < SCRATCH ? (size_t)left : SCRATCH;
      if (!write_all(fd, scratch, chunk, deadline)) {
        error = strerror(errno);
        goto done;
      }
      moved += chunk;
    }
    shutdown(fd, SHUT_WR);
  }
  for (;;) {
    if (now_s() > deadline) {
      error = "timed out";
      break;
    }
    ssize_t r = recv(fd, scratch, SCRATCH, 0);
    if (r > 0) {
      if (!up) moved += (uint64_t)r;
      continue;
    }
    if (r == 0) break;
    if (errno == EINTR) continue;
    error = errno == EAGAIN ? "no data for 5 s" : strerror(errno);
    break;
  }
  if (!up && *error == 0 && moved < bytes) error = "EOF before all bytes arrived";
done:;
  double secs = now_s() - t0;
  close(fd);
  printf("{\"mode\":\"bulk\",\"direction\":\"%s\",\"ok\":%s,\"error\":\"%s\",\"bytes\":%llu,"
         "\"seconds\":%.6f,\"gbps\":%.3f}\n",
         direction, *error == 0 ? "true" : "false", error, (unsigned long long)moved, secs,
         secs > 0 ? (double)moved * 8 / secs / 1e9 : 0.0);
  return *error == 0 ? 0 : 1;
}

static int run_exec(int argc, char **argv) {
  if (argc < 5 || strcmp(argv[2], "--parent") || strcmp(argv[4], "--")) {
    usage("exec --parent PID -- PROGRAM ARGS...");
  }
  if (argc < 6) usage("exec needs a program");
  pid_t parent = (pid_t)atol(argv[3]);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) die("prctl");
  if (getppid() != parent) return 1; /* the parent died before prctl took effect */
  /* Default dispositions for the program (setup_process ignored SIGPIPE). */
  signal(SIGPIPE, SIG_DFL);
  execvp(argv[5], argv + 5);
  die(argv[5]);
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 2) usage("expected a mode: server, client, bulk, hold or exec");
  setup_process();
  if (!strcmp(argv[1], "exec")) return run_exec(argc, argv);
  if (!strcmp(argv[1], "server")) return run_server(argc, argv);
  if (!strcmp(argv[1], "client")) return run_client(argc, argv);
  if (!strcmp(argv[1], "bulk")) return run_bulk(argc, argv);
  if (!strcmp(argv[1], "hold")) return run_hold(argc, argv);
  usage("unknown mode");
  return 2;
}
