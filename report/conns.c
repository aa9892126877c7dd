/*
 * conns.c -- connections per peer and per process (conns.h).
 *
 * Sections:
 *   1. the current dump's connections, by conn_id (open addressing)
 *   2. folding a dump into groups: counts, lifetimes, open at once
 *   3. words
 */
#include "grow.h"
#include "conns.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "format.h"
#include "stats.h"

/* ---- 1. the current dump's connections ---- */

struct pt_conn_entry {
	uint32_t conn_id; /* 0 = empty slot */
	uint8_t have_open, have_close, inherited, failed;
	uint8_t role, proto, family;
	uint16_t port;
	uint8_t addr[16];
	char path[PT_CONNS_LABEL_MAX - 8]; /* Unix socket path, if any */
	uint64_t open_ns, close_ns, connect_ns, auth_ns;
	uint64_t ops, query_ns;
};

void conns_init(struct pt_conns *cs)
{
	memset(cs, 0, sizeof(*cs));
}

static void group_scratch_free(struct pt_conn_group *g)
{
	free(g->iv);
	free(g->connect);
	free(g->auth);
	g->iv = NULL;
	g->connect = g->auth = NULL;
	g->niv = g->capiv = 0;
}

void conns_free(struct pt_conns *cs)
{
	for (size_t i = 0; i < cs->ng; i++) {
		free(cs->g[i].exe);
		group_scratch_free(&cs->g[i]);
	}
	free(cs->g);
	free(cs->tab);
	free(cs->exe);
	conns_init(cs);
}

int conns_begin(struct pt_conns *cs, int32_t pid, const char *exe)
{
	free(cs->exe);
	cs->exe = exe ? strdup(exe) : NULL;
	cs->pid = pid;
	if (cs->tab)
		memset(cs->tab, 0, cs->captab * sizeof(*cs->tab));
	cs->ntab = 0;
	cs->last = NULL;
	cs->last_id = 0;
	return 0;
}

static size_t slot_of(uint32_t id, size_t cap)
{
	return (size_t)((id * 2654435761u) & (uint32_t)(cap - 1));
}

static int tab_grow(struct pt_conns *cs)
{
	size_t cap = cs->captab ? cs->captab * 2 : 256;
	struct pt_conn_entry *t = calloc(cap, sizeof(*t));
	if (!t)
		return -1;
	for (size_t i = 0; i < cs->captab; i++) {
		if (!cs->tab[i].conn_id)
			continue;
		size_t s = slot_of(cs->tab[i].conn_id, cap);
		while (t[s].conn_id)
			s = (s + 1) & (cap - 1);
		t[s] = cs->tab[i];
	}
	free(cs->tab);
	cs->tab = t;
	cs->captab = cap;
	cs->last = NULL;
	cs->last_id = 0;
	return 0;
}

/* The entry of conn_id, made when missing; NULL when out of memory. */
static struct pt_conn_entry *entry(struct pt_conns *cs, uint32_t id)
{
	if (cs->last && cs->last_id == id)
		return cs->last;
	if ((cs->ntab + 1) * 2 > cs->captab && tab_grow(cs) < 0) {
		cs->oom = 1;
		return NULL;
	}
	size_t s = slot_of(id, cs->captab);
	while (cs->tab[s].conn_id && cs->tab[s].conn_id != id)
		s = (s + 1) & (cs->captab - 1);
	if (!cs->tab[s].conn_id) {
		cs->tab[s].conn_id = id;
		cs->ntab++;
	}
	cs->last_id = id;
	cs->last = &cs->tab[s];
	return cs->last;
}

void conns_record(struct pt_conns *cs, const struct pt_read_conn *c)
{
	if (!c->conn_id || c->role != PT_ROLE_CLIENT ||
	    (c->proto != PT_PROTO_MYSQL && c->proto != PT_PROTO_REDIS &&
	     c->proto != PT_PROTO_HTTP))
		return;
	struct pt_conn_entry *e = entry(cs, c->conn_id);
	if (!e)
		return;
	e->role = c->role;
	e->proto = c->proto;
	e->family = c->family;
	e->port = c->port;
	memcpy(e->addr, c->addr, sizeof(e->addr));
	if (c->family == AF_UNIX && c->text && c->text_len && !e->path[0] &&
	    c->proto != PT_PROTO_MYSQL) { /* MySQL's text: server version */
		size_t n = c->text_len < sizeof(e->path) - 1
			       ? c->text_len
			       : sizeof(e->path) - 1;
		memcpy(e->path, c->text, n);
		e->path[n] = '\0';
	}
	if (c->conn_flags & PT_CONNF_INHERITED)
		e->inherited = 1;
	if (c->conn_flags & PT_CONNF_FAILED)
		e->failed = 1;
	if (c->connect_ns)
		e->connect_ns = c->connect_ns;
	if (c->auth_ns)
		e->auth_ns = c->auth_ns;
	if (c->event == PT_CONN_OPEN) {
		e->have_open = 1;
		e->open_ns = c->time_ns;
	} else if (c->event == PT_CONN_CLOSE) {
		e->have_close = 1;
		e->close_ns = c->time_ns;
	}
}

void conns_event(struct pt_conns *cs, const struct pt_read_event *ev)
{
	if (!ev->conn_id || (ev->flags & PT_EV_API))
		return;
	struct pt_conn_entry *e = entry(cs, ev->conn_id);
	if (!e)
		return;
	e->ops++;
	e->query_ns += ev->duration_ns;
}

/* ---- 2. folding a dump into groups ---- */

static void peer_label(const struct pt_conn_entry *e, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	if (e->family == AF_INET) {
		inet_ntop(AF_INET, e->addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, e->port);
	} else if (e->family == AF_INET6) {
		inet_ntop(AF_INET6, e->addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, e->port);
	} else if (e->family == AF_UNIX) {
		snprintf(buf, len, "unix:%s", e->path[0] ? e->path : "socket");
	} else {
		snprintf(buf, len, "unknown peer");
	}
}

static struct pt_conn_group *
group_of(struct pt_conns *cs, const struct pt_conn_entry *e, size_t first)
{
	char label[PT_CONNS_LABEL_MAX];
	peer_label(e, label, sizeof(label));
	for (size_t i = first; i < cs->ng; i++)
		if (cs->g[i].proto == e->proto &&
		    !strcmp(cs->g[i].label, label))
			return &cs->g[i];
	if (PT_GROW(cs->g, cs->capg, cs->ng + 1) < 0)
		return NULL;
	struct pt_conn_group *g = &cs->g[cs->ng++];
	memset(g, 0, sizeof(*g));
	g->pid = cs->pid;
	g->exe = cs->exe ? strdup(cs->exe) : NULL;
	g->proto = e->proto;
	g->family = e->family;
	g->port = e->port;
	memcpy(g->addr, e->addr, sizeof(g->addr));
	memcpy(g->label, label, sizeof(label));
	return g;
}

static int push_u64(uint64_t **v, size_t n, uint64_t x)
{
	/* grown at powers of two: n is the count before the push */
	if ((n & (n - 1)) == 0) {
		size_t cap = n ? n * 2 : 4;
		uint64_t *nv = realloc(*v, cap * sizeof(**v));
		if (!nv)
			return -1;
		*v = nv;
	}
	(*v)[n] = x;
	return 0;
}

static int group_add(struct pt_conn_group *g, const struct pt_conn_entry *e)
{
	if (e->failed) { /* never connected: not a connection */
		g->failed++;
		return 0;
	}
	/* An inherited connection was opened by the parent: open here from
	 * the start (never a reopen), not counted as opened. */
	if (e->inherited)
		g->inherited++;
	else
		g->opened++;
	g->ops += e->ops;
	g->query_ns += e->query_ns;
	if (e->have_close) {
		g->closed++;
		if (e->have_open && e->close_ns >= e->open_ns) {
			uint64_t life = e->close_ns - e->open_ns;
			g->life_n++;
			g->life_sum_ns += life;
			if (life > g->life_max_ns)
				g->life_max_ns = life;
		}
	}
	if (e->connect_ns) {
		if (push_u64(&g->connect, g->connect_n, e->connect_ns) < 0)
			return -1;
		g->connect_n++;
	}
	if (e->auth_ns) {
		if (push_u64(&g->auth, g->auth_n, e->auth_ns) < 0)
			return -1;
		g->auth_n++;
	}
	if (PT_GROW(g->iv, g->capiv, g->niv + 1) < 0)
		return -1;
	uint64_t open = e->inherited   ? 0
			: e->have_open ? e->open_ns
				       : e->close_ns;
	g->iv[g->niv].open_ns = open;
	g->iv[g->niv].close_ns = e->have_close ? e->close_ns : UINT64_MAX;
	g->niv++;
	return 0;
}

static int cmp_iv_open(const void *a, const void *b)
{
	const struct pt_conn_iv *x = a, *y = b;
	return x->open_ns < y->open_ns ? -1 : x->open_ns > y->open_ns;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Reopened (opened after an earlier connection to the peer had closed)
 * and open at once (max; p95 of the count right after each open). */
static int group_sweep(struct pt_conn_group *g)
{
	size_t n = g->niv;
	if (!n)
		return 0;
	qsort(g->iv, n, sizeof(*g->iv), cmp_iv_open);
	uint64_t *closes = malloc(n * sizeof(*closes));
	uint64_t *level = malloc(n * sizeof(*level));
	if (!closes || !level) {
		free(closes);
		free(level);
		return -1;
	}
	uint64_t min_close = UINT64_MAX;
	for (size_t i = 0; i < n; i++) {
		if (min_close <= g->iv[i].open_ns)
			g->reopened++;
		if (g->iv[i].close_ns < min_close)
			min_close = g->iv[i].close_ns;
		closes[i] = g->iv[i].close_ns;
	}
	qsort(closes, n, sizeof(*closes), cmp_u64);
	/* open at the instant of open i: opened so far minus closed by then
	 * (a close at the same instant counts first: a reconnect is not two
	 * connections at once) */
	size_t c = 0;
	for (size_t i = 0; i < n; i++) {
		while (c < n && closes[c] <= g->iv[i].open_ns)
			c++;
		level[i] = (uint64_t)(i + 1 - c);
		if (level[i] > g->open_max)
			g->open_max = level[i];
	}
	g->open_p95 = stats_percentile(level, n, 95);
	free(closes);
	free(level);
	return 0;
}

static void group_times(struct pt_conn_group *g)
{
	struct pt_stats st;
	if (g->connect_n) {
		stats_compute(g->connect, g->connect_n, &st);
		g->connect_mean_ns = st.mean;
		g->connect_p95_ns = st.p95;
		g->connect_sum_ns = st.sum;
	}
	if (g->auth_n) {
		stats_compute(g->auth, g->auth_n, &st);
		g->auth_mean_ns = st.mean;
		g->auth_p95_ns = st.p95;
		g->auth_sum_ns = st.sum;
	}
}

static int cmp_group(const void *a, const void *b)
{
	const struct pt_conn_group *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return strcmp(x->label, y->label);
}

int conns_end(struct pt_conns *cs)
{
	size_t first = cs->ng;
	int rc = cs->oom ? -1 : 0;
	for (size_t i = 0; i < cs->captab && rc == 0; i++) {
		const struct pt_conn_entry *e = &cs->tab[i];
		if (!e->conn_id || (!e->have_open && !e->have_close))
			continue; /* events of an untracked or API conn */
		struct pt_conn_group *g = group_of(cs, e, first);
		if (!g || group_add(g, e) < 0)
			rc = -1;
	}
	for (size_t i = first; i < cs->ng; i++) {
		if (rc == 0 && group_sweep(&cs->g[i]) < 0)
			rc = -1;
		group_times(&cs->g[i]);
		group_scratch_free(&cs->g[i]);
	}
	if (cs->ng > first)
		qsort(cs->g + first, cs->ng - first, sizeof(*cs->g), cmp_group);
	conns_begin(cs, 0, NULL);
	return rc;
}

/* ---- 3. words ---- */

const char *conns_proto_name(int proto)
{
	switch (proto) {
	case PT_PROTO_MYSQL:
		return "MySQL";
	case PT_PROTO_REDIS:
		return "Redis";
	case PT_PROTO_HTTP:
		return "HTTP";
	default:
		return "other";
	}
}

double conns_connect_share(const struct pt_conn_group *g)
{
	double c = g->connect_sum_ns + g->auth_sum_ns;
	double all = c + (double)g->query_ns;
	return all > 0 ? 100.0 * c / all : 0.0;
}

static void ms(double ns, char *buf, size_t len)
{
	snprintf(buf, len, "%.*f ms", ns < 10e6 ? 2 : 1, ns / 1e6);
}

void conns_sentence(const struct pt_conn_group *g, char *buf, size_t len)
{
	char con[32] = "unknown", auth[48] = "", inh[40] = "";
	if (g->inherited)
		snprintf(inh, sizeof(inh), " (+%llu inherited)",
			 (unsigned long long)g->inherited);
	if (g->connect_n)
		ms(g->connect_mean_ns, con, sizeof(con));
	if (g->proto == PT_PROTO_MYSQL && g->auth_n) {
		char a[24];
		ms(g->auth_mean_ns, a, sizeof(a));
		snprintf(auth, sizeof(auth), ", auth %s", a);
	}
	snprintf(buf, len,
		 "%s %s: %llu connection%s%s, %llu reopened, connect %s%s; "
		 "%.1f%% of query time spent connecting",
		 conns_proto_name(g->proto), g->label,
		 (unsigned long long)g->opened, g->opened == 1 ? "" : "s", inh,
		 (unsigned long long)g->reopened, con, auth,
		 conns_connect_share(g));
}
