/*
 * shim_probe.c -- a small C client whose output must be the same with and
 * without the shim: errno after failing calls, a program that closes every
 * fd, fork, exec, dup, non-blocking and partial I/O against Redis.
 *
 *   shim_probe errno             print errno names of failing calls
 *   shim_probe closeall N        N PINGs, close_range(3, ~0), N more PINGs
 *   shim_probe fork N            N PINGs in the parent and N in a child
 *   shim_probe exec N            N PINGs, then exec "shim_probe pings N"
 *   shim_probe pings N           N PINGs on one connection
 *   shim_probe dup N             N PINGs on a dup'd fd after closing the
 *                                original, then N on the original number
 *   shim_probe bytewise N        N PINGs sent and read one byte at a time
 *                                on a non-blocking socket
 *
 * Redis from PERFTAP_REDIS_HOST / PERFTAP_REDIS_PORT (127.0.0.1:6379).
 * Exit status 0 when every reply was as expected.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PING "*1\r\n$4\r\nPING\r\n"
#define PONG "+PONG\r\n"

static struct sockaddr_in redis_addr(void)
{
	struct sockaddr_in a;
	const char *h = getenv("PERFTAP_REDIS_HOST");
	const char *p = getenv("PERFTAP_REDIS_PORT");
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(p ? (uint16_t)atoi(p) : 6379);
	inet_pton(AF_INET, h ? h : "127.0.0.1", &a.sin_addr);
	return a;
}

static int redis_connect(void)
{
	struct sockaddr_in a = redis_addr();
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect");
		exit(3);
	}
	return fd;
}

static int read_full(int fd, char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int pings(int fd, int n)
{
	char buf[sizeof(PONG)];
	for (int i = 0; i < n; i++) {
		if (write(fd, PING, strlen(PING)) != (ssize_t)strlen(PING))
			return -1;
		if (read_full(fd, buf, strlen(PONG)) < 0 ||
		    memcmp(buf, PONG, strlen(PONG)))
			return -1;
	}
	return 0;
}

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "?";
}

static void show(const char *what, long r, int e)
{
	printf("%s: %ld %s\n", what, r, r < 0 ? ename(e) : "-");
}

static int do_errno(void)
{
	struct sockaddr_in a = redis_addr();
	char buf[16];

	/* A port nobody listens on: bind one, keep it closed. */
	int probe = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in free_a = a;
	free_a.sin_port = 0;
	socklen_t fl = sizeof(free_a);
	bind(probe, (struct sockaddr *)&free_a, sizeof(free_a));
	getsockname(probe, (struct sockaddr *)&free_a, &fl);
	close(probe);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	errno = 0;
	long r = connect(s, (struct sockaddr *)&free_a, sizeof(free_a));
	show("connect refused", r, errno);
	close(s);

	int fd = redis_connect();
	close(fd);
	errno = 0;
	r = read(fd, buf, sizeof(buf));
	show("read closed fd", r, errno);
	errno = 0;
	r = close(fd);
	show("close twice", r, errno);
	errno = 0;
	r = write(-1, "x", 1);
	show("write -1", r, errno);

	fd = redis_connect();
	fcntl(fd, F_SETFL, O_NONBLOCK);
	errno = 0;
	r = recv(fd, buf, sizeof(buf), 0);
	show("recv nonblocking empty", r, errno);
	errno = 12345; /* success must leave errno alone */
	r = send(fd, PING, strlen(PING), 0);
	printf("send ok: %ld errno-kept %d\n", r, errno == 12345);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	poll(&p, 1, 5000);
	r = recv(fd, buf, 2, MSG_PEEK);
	printf("peek: %ld %.2s\n", r, buf);
	r = recv(fd, buf, sizeof(PONG) - 1, MSG_WAITALL);
	printf("recv: %ld %.7s\n", r, buf);
	errno = 0;
	r = recvfrom(fd, buf, sizeof(buf), 0, NULL, NULL);
	show("recvfrom nonblocking empty", r, errno);
	close(fd);

	/* Non-blocking connect: EINPROGRESS, then the connection works. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	errno = 0;
	r = connect(fd, (struct sockaddr *)&a, sizeof(a));
	printf("nonblocking connect: %ld %s\n", r, r < 0 ? ename(errno) : "-");
	p.fd = fd;
	p.events = POLLOUT;
	poll(&p, 1, 5000);
	fcntl(fd, F_SETFL, 0);
	printf("pings after nonblocking connect: %d\n", pings(fd, 3));
	close(fd);
	errno = 0;
	r = dup(fd);
	show("dup closed fd", r, errno);
	return 0;
}

static int do_closeall(int n)
{
	int fd = redis_connect();
	int rc = pings(fd, n);
	if (syscall(SYS_close_range, 3, ~0U, 0) < 0 &&
	    close_range(3, ~0U, 0) < 0) {
		perror("close_range");
		return 1;
	}
	/* Through libc, which is what programs call. */
	printf("close_range: %d\n", close_range(3, ~0U, 0));
	errno = 0;
	printf("read after: %ld %s\n", (long)read(fd, &rc, 1), ename(errno));
	for (int i = 3; i < 256; i++)
		close(i); /* the loop programs without close_range run */
	fd = redis_connect();
	printf("new fd: %d\n", fd);
	rc |= pings(fd, n);
	close(fd);
	printf("closeall: %s\n", rc ? "FAIL" : "ok");
	return rc ? 1 : 0;
}

static int do_fork(int n)
{
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	int fd = redis_connect();
	int rc = pings(fd, n);
	close(fd);
	if (pid == 0)
		_exit(rc ? 1 : 0);
	int st;
	waitpid(pid, &st, 0);
	int ok = !rc && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	printf("fork: %s\n", ok ? "ok" : "FAIL");
	return ok ? 0 : 1;
}

static int do_exec(const char *self, int n)
{
	int fd = redis_connect();
	int rc = pings(fd, n);
	close(fd);
	if (rc)
		return 1;
	char arg[16];
	snprintf(arg, sizeof(arg), "%d", n);
	fflush(stdout);
	execl(self, self, "pings", arg, (char *)NULL);
	perror("exec");
	return 1;
}

static int do_dup(int n)
{
	int fd = redis_connect();
	int fd2 = dup(fd);
	int rc = pings(fd2, n);
	close(fd);
	rc |= pings(fd2, n);
	int fd3 = dup2(fd2, 100);
	close(fd2);
	rc |= pings(fd3, n);
	close(fd3);
	printf("dup: %s\n", rc ? "FAIL" : "ok");
	return rc ? 1 : 0;
}

static int do_bytewise(int n)
{
	int fd = redis_connect();
	fcntl(fd, F_SETFL, O_NONBLOCK);
	const char *req = PING;
	int bad = 0;
	for (int i = 0; i < n; i++) {
		for (size_t k = 0; k < strlen(req);) {
			ssize_t r = send(fd, req + k, 1, 0);
			if (r == 1)
				k++;
		}
		char c;
		for (size_t k = 0; k < strlen(PONG);) {
			ssize_t r = recv(fd, &c, 1, 0);
			if (r == 1) {
				bad |= c != PONG[k];
				k++;
			} else if (r < 0 && errno == EAGAIN) {
				struct pollfd p = {.fd = fd, .events = POLLIN};
				poll(&p, 1, 5000);
			} else {
				return 1;
			}
		}
	}
	close(fd);
	printf("bytewise: %s\n", bad ? "FAIL" : "ok");
	return bad;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return 2;
	int n = argc > 2 ? atoi(argv[2]) : 1;
	if (!strcmp(argv[1], "errno"))
		return do_errno();
	if (!strcmp(argv[1], "closeall"))
		return do_closeall(n);
	if (!strcmp(argv[1], "fork"))
		return do_fork(n);
	if (!strcmp(argv[1], "exec"))
		return do_exec(argv[0], n);
	if (!strcmp(argv[1], "dup"))
		return do_dup(n);
	if (!strcmp(argv[1], "bytewise"))
		return do_bytewise(n);
	if (!strcmp(argv[1], "pings")) {
		int fd = redis_connect();
		int rc = pings(fd, n);
		close(fd);
		printf("pings: %s\n", rc ? "FAIL" : "ok");
		return rc ? 1 : 0;
	}
	return 2;
}
