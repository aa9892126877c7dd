/*
 * test_conns.c -- connections per peer (report/conns.c) from synthetic
 * connection records and events: reopened, open at once, lifetimes,
 * connect and auth statistics, the share of query time spent connecting,
 * and the plain sentence.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/socket.h>

#include "conns.h"

static struct pt_read_conn rec(uint32_t id, uint8_t event, uint64_t t,
			       uint8_t proto, uint16_t port)
{
	struct pt_read_conn c;
	memset(&c, 0, sizeof(c));
	c.conn_id = id;
	c.event = event;
	c.time_ns = t;
	c.role = PT_ROLE_CLIENT;
	c.proto = proto;
	c.family = AF_INET;
	c.port = port;
	c.addr[0] = 127;
	c.addr[3] = 1;
	c.text = "";
	return c;
}

/* A connection [open, close) with connect/auth times and ops events of
 * dur ns each. */
static void conn(struct pt_conns *cs, uint32_t id, uint64_t open,
		 uint64_t close, uint64_t connect, uint64_t auth, int ops,
		 uint64_t dur)
{
	struct pt_read_conn c =
	    rec(id, PT_CONN_OPEN, open, PT_PROTO_MYSQL, 3306);
	c.connect_ns = connect;
	c.auth_ns = auth;
	conns_record(cs, &c);
	for (int i = 0; i < ops; i++) {
		struct pt_read_event ev;
		memset(&ev, 0, sizeof(ev));
		ev.conn_id = id;
		ev.duration_ns = dur;
		conns_event(cs, &ev);
	}
	if (close) {
		c.event = PT_CONN_CLOSE;
		c.time_ns = close;
		conns_record(cs, &c);
	}
}

Test(conns, pool_of_four_is_never_reopened)
{
	struct pt_conns cs;
	conns_init(&cs);
	conns_begin(&cs, 42, "app");
	for (uint32_t i = 1; i <= 4; i++)
		conn(&cs, i, 1000 * i, 100000 + i, 200, 300, 10, 50);
	cr_assert_eq(conns_end(&cs), 0);
	cr_assert_eq(cs.ng, 1);
	const struct pt_conn_group *g = &cs.g[0];
	cr_assert_eq(g->pid, 42);
	cr_assert_str_eq(g->label, "127.0.0.1:3306");
	cr_assert_eq(g->opened, 4);
	cr_assert_eq(g->closed, 4);
	cr_assert_eq(g->reopened, 0);
	cr_assert_eq(g->open_max, 4);
	cr_assert_eq(g->ops, 40);
	cr_assert_eq(g->connect_n, 4);
	cr_assert_float_eq(g->connect_mean_ns, 200, 1e-9);
	cr_assert_float_eq(g->auth_mean_ns, 300, 1e-9);
	/* 4 * 500 ns connecting against 40 * 50 ns of queries: 50% */
	cr_assert_float_eq(conns_connect_share(g), 50.0, 1e-9);
	cr_assert_eq(g->life_max_ns, 100001 - 1000); /* the first */
	char s[320];
	conns_sentence(g, s, sizeof(s));
	cr_assert_str_eq(s, "MySQL 127.0.0.1:3306: 4 connections, 0 reopened,"
			    " connect 0.00 ms, auth 0.00 ms; 50.0% of query "
			    "time spent connecting");
	conns_free(&cs);
}

Test(conns, reconnect_per_query_counts_every_reopen)
{
	struct pt_conns cs;
	conns_init(&cs);
	conns_begin(&cs, 7, NULL);
	/* each opens exactly when the previous closed: one at a time */
	for (uint32_t i = 0; i < 10; i++)
		conn(&cs, i + 1, 1000 * i, 1000 * (i + 1), 100, 0, 1, 900);
	cr_assert_eq(conns_end(&cs), 0);
	const struct pt_conn_group *g = &cs.g[0];
	cr_assert_eq(g->opened, 10);
	cr_assert_eq(g->reopened, 9);
	cr_assert_eq(g->open_max, 1);
	cr_assert_float_eq(g->open_p95, 1.0, 1e-9);
	cr_assert_eq(g->auth_n, 0);
	cr_assert_float_eq(g->life_sum_ns / (double)g->life_n, 1000, 1e-9);
	conns_free(&cs);
}

Test(conns, peers_and_processes_are_grouped_apart)
{
	struct pt_conns cs;
	conns_init(&cs);
	conns_begin(&cs, 2, "b");
	conn(&cs, 1, 10, 20, 1, 1, 1, 1);
	struct pt_read_conn r = rec(2, PT_CONN_OPEN, 30, PT_PROTO_REDIS, 6379);
	conns_record(&cs, &r);
	/* still open at the end: counted, not closed, no lifetime */
	r = rec(3, PT_CONN_OPEN, 30, PT_PROTO_SQLITE, 0); /* not a peer */
	conns_record(&cs, &r);
	cr_assert_eq(conns_end(&cs), 0);
	conns_begin(&cs, 1, "a");
	conn(&cs, 1, 10, 20, 1, 1, 1, 1); /* same conn id, other process */
	cr_assert_eq(conns_end(&cs), 0);
	cr_assert_eq(cs.ng, 3);
	cr_assert_eq(cs.g[0].proto, PT_PROTO_MYSQL);
	cr_assert_eq(cs.g[1].proto, PT_PROTO_REDIS);
	cr_assert_eq(cs.g[1].closed, 0);
	cr_assert_eq(cs.g[1].life_n, 0);
	cr_assert_eq(cs.g[2].pid, 1);
	cr_assert_str_eq(cs.g[2].exe, "a");
	conns_free(&cs);
}

Test(conns, api_events_and_unknown_conns_are_not_counted)
{
	struct pt_conns cs;
	conns_init(&cs);
	conns_begin(&cs, 1, NULL);
	struct pt_read_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.conn_id = 9; /* no conn record: an untracked or API connection */
	ev.duration_ns = 5;
	conns_event(&cs, &ev);
	cr_assert_eq(conns_end(&cs), 0);
	cr_assert_eq(cs.ng, 0);
	conns_free(&cs);
}

Test(conns, inherited_connections_are_not_opened_here)
{
	struct pt_conns cs;
	conns_init(&cs);
	conns_begin(&cs, 3, "child");
	struct pt_read_conn r = rec(1, PT_CONN_OPEN, 500, PT_PROTO_MYSQL, 3306);
	r.conn_flags = PT_CONNF_INHERITED;
	conns_record(&cs, &r);
	conn(&cs, 2, 1000, 2000, 10, 10, 1, 10); /* its own, while open */
	cr_assert_eq(conns_end(&cs), 0);
	const struct pt_conn_group *g = &cs.g[0];
	cr_assert_eq(g->opened, 1);
	cr_assert_eq(g->inherited, 1);
	cr_assert_eq(g->reopened, 0);
	cr_assert_eq(g->open_max, 2); /* the inherited one was open */
	char s[320];
	conns_sentence(g, s, sizeof(s));
	cr_assert(strstr(s, ": 1 connection (+1 inherited), 0 reopened"), "%s",
		  s);
	conns_free(&cs);
}
