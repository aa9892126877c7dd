/*
 * bench_httpd.c -- a small HTTP/1.1 server for the wrk benchmark: one
 * thread, one epoll loop (as uvicorn serves), keep-alive, every request
 * answered 200 with a small JSON body like AFIRGen's GET /fir/{id}.
 *
 * usage: bench_httpd PORT [--seconds S]
 *
 * Listens on 127.0.0.1:PORT only.  Requests are assumed to have no body
 * (wrk sends GETs); pipelined requests are answered in order.  Exits on
 * SIGTERM/SIGINT, or after S seconds (a safety net so that no server is
 * ever left behind; default 3600).
 *
 * It uses accept4/read/write, the calls uvloop makes, so that the shim
 * decodes the traffic as it would in the real service.
 */
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

#define MAX_FD	   4096
#define BUF_SIZE   16384
#define MAX_EVENTS 64

struct conn {
	char buf[BUF_SIZE];
	size_t n;
	int match; /* bytes of "\r\n\r\n" matched so far */
};

static struct conn *conns[MAX_FD];
static volatile sig_atomic_t stop;

static const char body[] =
    "{\"fir_number\":\"FIR-1a2b3c4d-20260115093000\",\"status\":"
    "\"finalized\",\"user_id\":\"u-4711\",\"created_at\":"
    "\"2026-01-15T09:30:00Z\",\"sections\":[\"379\",\"411\"]}";
static char response[512];
static size_t response_len;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void conn_close(int ep, int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	free(conns[fd]);
	conns[fd] = NULL;
}

/* Write all of buf (the socket is non-blocking; a full buffer here means
 * a client that does not read: drop it). */
static int write_all(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read what is there; answer each complete request head. */
static void conn_readable(int ep, int fd)
{
	struct conn *c = conns[fd];
	static char out[BUF_SIZE];
	for (;;) {
		ssize_t r = read(fd, c->buf, sizeof(c->buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) {
			conn_close(ep, fd);
			return;
		}
		size_t due = 0, o = 0;
		for (ssize_t i = 0; i < r; i++) {
			char ch = c->buf[i];
			static const char end[] = "\r\n\r\n";
			if (ch == end[c->match])
				c->match++;
			else
				c->match = ch == '\r' ? 1 : 0;
			if (c->match == 4) {
				c->match = 0;
				due++;
			}
		}
		for (size_t i = 0; i < due; i++) {
			if (o + response_len > sizeof(out)) {
				if (write_all(fd, out, o) < 0) {
					conn_close(ep, fd);
					return;
				}
				o = 0;
			}
			memcpy(out + o, response, response_len);
			o += response_len;
		}
		if (o && write_all(fd, out, o) < 0) {
			conn_close(ep, fd);
			return;
		}
	}
}

static void accept_all(int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (fd >= MAX_FD ||
		    !(conns[fd] = calloc(1, sizeof(struct conn)))) {
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			conn_close(ep, fd);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_httpd PORT [--seconds S]\n");
		return 2;
	}
	int port = atoi(argv[1]);
	unsigned seconds = 3600;
	if (argc >= 4 && !strcmp(argv[2], "--seconds"))
		seconds = (unsigned)atoi(argv[3]);
	response_len = (size_t)snprintf(
	    response, sizeof(response),
	    "HTTP/1.1 200 OK\r\ndate: Thu, 15 Jan 2026 09:30:00 GMT\r\n"
	    "server: bench_httpd\r\ncontent-length: %zu\r\n"
	    "content-type: application/json\r\n\r\n%s",
	    strlen(body), body);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	alarm(seconds);

	int lfd =
	    socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(lfd, 512) < 0) {
		perror("bench_httpd");
		return 1;
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event lev = {.events = EPOLLIN, .data.fd = lfd};
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) {
		perror("bench_httpd: epoll");
		return 1;
	}
	printf("bench_httpd: listening on 127.0.0.1:%d\n", port);
	fflush(stdout);
	struct epoll_event evs[MAX_EVENTS];
	while (!stop) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, 1000);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd)
				accept_all(ep, lfd);
			else if (conns[fd])
				conn_readable(ep, fd);
		}
	}
	for (int fd = 0; fd < MAX_FD; fd++)
		if (conns[fd])
			conn_close(ep, fd);
	close(lfd);
	close(ep);
	return 0;
}
