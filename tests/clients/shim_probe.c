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
 *   shim_probe fcntldup N        N PINGs on an fcntl(F_DUPFD) copy after
 *                                closing the original, N more on an
 *                                F_DUPFD_CLOEXEC copy of that
 *   shim_probe reuse N           N PINGs, fclose of an fdopen'd socket,
 *                                the number reused by a file carrying RESP
 *                                bytes; N PINGs, a raw-syscall close, the
 *                                number reused by a UDP socket carrying
 *                                RESP datagrams (no event may come of it)
 *   shim_probe loaded            "perftap mapped: 1" when a library whose
 *                                name holds "perftap" is in this process
 *   shim_probe eintr N           N BLPOPs (50 ms) whose blocking read is
 *                                interrupted by a 1 ms SIGALRM (no
 *                                SA_RESTART) and retried on EINTR
 *
 * Redis from PERFTAP_REDIS_HOST / PERFTAP_REDIS_PORT (127.0.0.1:6379).
 * Exit status 0 when every reply was as expected.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/time.h>
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

static int do_fcntldup(int n)
{
	int fd = redis_connect();
	int fd2 = fcntl(fd, F_DUPFD, 40);
	close(fd);
	int rc = fd2 < 40 || pings(fd2, n);
	int fd3 = fcntl(fd2, F_DUPFD_CLOEXEC, 60);
	close(fd2);
	rc |= fd3 < 60 || pings(fd3, n);
	close(fd3);
	printf("fcntldup: %s\n", rc ? "FAIL" : "ok");
	return rc ? 1 : 0;
}

#define PING_LEN (sizeof(PING) - 1)
#define PONG_LEN (sizeof(PONG) - 1)

/* The number of a tracked socket, closed where the shim cannot see it
 * (fclose: libc's internal close), reused by a file that carries a RESP
 * request and reply. */
static int reuse_by_file(int n)
{
	int fd = redis_connect();
	int rc = pings(fd, n);
	FILE *f = fdopen(fd, "r+");
	if (!f || fclose(f) != 0)
		return 1;
	char path[] = "/tmp/shim_probe.XXXXXX";
	int file = mkstemp(path);
	if (file < 0)
		return 1;
	unlink(path);
	printf("file reused the number: %d\n", file == fd);
	char buf[PONG_LEN];
	rc |= write(file, PING PONG, PING_LEN + PONG_LEN) !=
	      (ssize_t)(PING_LEN + PONG_LEN);
	rc |= lseek(file, (off_t)PING_LEN, SEEK_SET) != (off_t)PING_LEN;
	rc |= read_full(file, buf, PONG_LEN) != 0;
	close(file);
	return rc;
}

/* The same after a raw close(2), the number reused by socket(). */
static int reuse_by_socket(int n)
{
	int fd = redis_connect();
	int rc = pings(fd, n);
	syscall(SYS_close, fd);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	int b = socket(AF_INET, SOCK_DGRAM, 0);
	printf("socket reused the number: %d\n", u == fd);
	struct sockaddr_in lo = {.sin_family = AF_INET};
	lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct sockaddr_in ua = lo, ba = lo;
	socklen_t l = sizeof(ua);
	rc |= bind(u, (struct sockaddr *)&lo, sizeof(lo)) != 0;
	rc |= getsockname(u, (struct sockaddr *)&ua, &l) != 0;
	l = sizeof(ba);
	rc |= bind(b, (struct sockaddr *)&lo, sizeof(lo)) != 0;
	rc |= getsockname(b, (struct sockaddr *)&ba, &l) != 0;
	char buf[64];
	rc |= sendto(u, PING, PING_LEN, 0, (struct sockaddr *)&ba,
		     sizeof(ba)) != (ssize_t)PING_LEN;
	rc |= recv(b, buf, sizeof(buf), 0) != (ssize_t)PING_LEN;
	rc |= sendto(b, PONG, PONG_LEN, 0, (struct sockaddr *)&ua,
		     sizeof(ua)) != (ssize_t)PONG_LEN;
	rc |= recvfrom(u, buf, sizeof(buf), 0, NULL, NULL) != (ssize_t)PONG_LEN;
	close(u);
	close(b);
	return rc;
}

static int do_reuse(int n)
{
	int rc = reuse_by_file(n);
	rc |= reuse_by_socket(n);
	printf("reuse: %s\n", rc ? "FAIL" : "ok");
	return rc ? 1 : 0;
}

static int do_loaded(void)
{
	char line[4096];
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof(line), f))
		found |= strstr(line, "perftap") != NULL;
	if (f)
		fclose(f);
	printf("perftap mapped: %d\n", found);
	return f ? 0 : 1;
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

#define BLPOP	  "*3\r\n$5\r\nBLPOP\r\n$11\r\nprobe:eintr\r\n$4\r\n0.05\r\n"
#define NIL_ARRAY "*-1\r\n"

static int do_eintr(int n)
{
	struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	int fd = redis_connect();
	int rc = 0;
	long eintr = 0;
	for (int i = 0; i < n && !rc; i++) {
		struct itimerval it = {{0, 1000}, {0, 1000}};
		setitimer(ITIMER_REAL, &it, NULL);
		rc |= write(fd, BLPOP, sizeof(BLPOP) - 1) !=
		      (ssize_t)(sizeof(BLPOP) - 1);
		char buf[sizeof(NIL_ARRAY) - 1];
		size_t got = 0;
		/* Bounded: each EINTR is one 1 ms tick of a 50 ms wait. */
		for (int k = 0; k < 100000 && got < sizeof(buf) && !rc; k++) {
			ssize_t r = read(fd, buf + got, sizeof(buf) - got);
			if (r < 0 && errno == EINTR)
				eintr++;
			else if (r <= 0)
				rc = 1;
			else
				got += (size_t)r;
		}
		struct itimerval off = {{0, 0}, {0, 0}};
		setitimer(ITIMER_REAL, &off, NULL);
		rc |= got != sizeof(buf) || memcmp(buf, NIL_ARRAY, got);
	}
	rc |= pings(fd, 1);
	close(fd);
	printf("eintr seen: %d\n", eintr > 0);
	printf("eintr: %s\n", rc ? "FAIL" : "ok");
	return rc ? 1 : 0;
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
	if (!strcmp(argv[1], "fcntldup"))
		return do_fcntldup(n);
	if (!strcmp(argv[1], "reuse"))
		return do_reuse(n);
	if (!strcmp(argv[1], "loaded"))
		return do_loaded();
	if (!strcmp(argv[1], "eintr"))
		return do_eintr(n);
	if (!strcmp(argv[1], "pings")) {
		int fd = redis_connect();
		int rc = pings(fd, n);
		close(fd);
		printf("pings: %s\n", rc ? "FAIL" : "ok");
		return rc ? 1 : 0;
	}
	return 2;
}
