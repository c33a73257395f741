/*
 * c-echo — a plain C epoll byte echo server, the load generator's own check: if loadgen drives
 * this much faster than any Node server, the Node figures are the servers', not loadgen's.
 *
 * Listens on 127.0.0.1 (port chosen by the system), prints the port on stdout, and echoes bytes
 * unchanged. While a connection has unsent output it stops reading it (back-pressure), and
 * reads again once the output is gone. Exits on SIGTERM, or by itself after the number of
 * seconds given as its only argument (default 300).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE (256 * 1024)

typedef struct {
  int fd;
  size_t pending_at;
  size_t pending_end;
  char buf[BUF_SIZE];
} conn_t;

static int epfd;

static void watch(conn_t *c, int op, unsigned events) {
  struct epoll_event ev = {.events = events, .data = {.ptr = c}};
  epoll_ctl(epfd, op, c->fd, &ev);
}

static void drop(conn_t *c) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c);
}

/* Writes what is pending; returns 1 when all is out, 0 when the socket is full, -1 on error. */
static int push(conn_t *c) {
  while (c->pending_at < c->pending_end) {
    ssize_t w = write(c->fd, c->buf + c->pending_at, c->pending_end - c->pending_at);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      if (errno == EINTR) continue;
      return -1;
    }
    c->pending_at += (size_t)w;
  }
  c->pending_at = c->pending_end = 0;
  return 1;
}

int main(int argc, char **argv) {
  unsigned limit = argc > 1 ? (unsigned)atoi(argv[1]) : 300;
  signal(SIGPIPE, SIG_IGN);
  alarm(limit); /* default SIGALRM action ends the process */
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 512) < 0) {
    perror("c-echo: bind/listen");
    return 2;
  }
  socklen_t len = sizeof addr;
  getsockname(lfd, (struct sockaddr *)&addr, &len);
  printf("%d\n", ntohs(addr.sin_port));
  fflush(stdout);
  epfd = epoll_create1(0);
  struct epoll_event lev = {.events = EPOLLIN, .data = {.ptr = NULL}};
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(epfd, events, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return 2;
    }
    for (int e = 0; e < n; e++) {
      conn_t *c = events[e].data.ptr;
      if (c == NULL) {
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conn_t *nc = malloc(sizeof *nc);
          nc->fd = fd;
          nc->pending_at = nc->pending_end = 0;
          watch(nc, EPOLL_CTL_ADD, EPOLLIN);
        }
        continue;
      }
      if (c->pending_end > 0) {
        int r = push(c);
        if (r < 0) drop(c);
        else if (r == 1) watch(c, EPOLL_CTL_MOD, EPOLLIN);
        continue;
      }
      ssize_t r = read(c->fd, c->buf, BUF_SIZE);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        drop(c);
        continue;
      }
      if (r < 0) continue;
      c->pending_at = 0;
      c->pending_end = (size_t)r;
      int w = push(c);
      if (w < 0) drop(c);
      else if (w == 0) watch(c, EPOLL_CTL_MOD, EPOLLOUT);
    }
  }
}
