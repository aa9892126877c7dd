/*
 * api_mysql.c -- libmysqlclient API calls as events (api_mysql.h).
 *
 * Sections:
 *   1. the connection and statement tables
 *   2. text and emitting
 *   3. connections
 *   4. text queries and their results
 *   5. prepared statements
 *
 * Invariants of a connection slot (struct conn_slot):
 *   C1. key is claimed by CAS from NULL at mysql_real_connect and cleared,
 *       release, at mysql_close (or a failed connect); between the two the
 *       slot is used only by the thread the program lets use its MYSQL
 *       (libmysqlclient's rule: one thread per connection at a time).
 *   C2. state says what the pending statement waits for; a pending
 *       statement is emitted exactly once: by its end, or flushed by the
 *       next statement or the close.
 * Statement slots (struct stmt_slot) follow the same rules, keyed by
 * MYSQL_STMT *; mysql is the MYSQL * it was made on (its conn slot is
 * looked up by key, so a closed connection is never touched).
 */
#include <string.h>

#include "api_mysql.h"
#include "normalize.h"

/* ---- 1. the connection and statement tables ---- */

enum pending {
	ST_IDLE = 0,
	ST_SENT,   /* mysql_send_query done, reply not read */
	ST_RESULT, /* a result set is there: store or use it */
	ST_USE,	   /* use_result: rows come with mysql_fetch_row */
	ST_MORE,   /* multi-statement: mysql_next_result comes */
};

struct conn_slot {
	void *key; /* MYSQL *; NULL = free (C1) */
	uint32_t conn_id;
	uint32_t depth; /* hooks of this connection on the stack */
	int fd;
	uint32_t tls;  /* PT_EV_TLS when the connection negotiated TLS */
	uint8_t state; /* enum pending (C2) */
	uint16_t len;
	uint32_t flags;
	uint64_t start_ns, last_ns, rows, events;
	void *res;
	char text[PT_MYSQL_TEXT_MAX];
};

struct stmt_slot {
	void *key;   /* MYSQL_STMT *; NULL = free */
	void *mysql; /* its connection's key */
	uint32_t conn_id;
	uint32_t tls; /* its connection's PT_EV_TLS */
	uint8_t pending;
	uint16_t len;
	uint32_t flags;
	uint64_t start_ns, last_ns, rows;
	char text[PT_MYSQL_TEXT_MAX];
};

static struct conn_slot conns[PT_MYSQL_CONN_SLOTS];
static struct stmt_slot stmts[PT_MYSQL_STMT_SLOTS];
static struct pt_mysql_fns fn;
static struct pt_api_out out;
static void (*take_fd)(int fd);

__thread void *api_mysql_cur_res __attribute__((tls_model("initial-exec")));
static __thread struct conn_slot *cur_conn
    __attribute__((tls_model("initial-exec")));

/* Linear probing over at most this many slots keeps a miss cheap. */
#define PROBE_MAX 32u

static uint32_t ptr_hash(const void *p)
{
	uint64_t v = (uint64_t)(uintptr_t)p >> 4;
	v *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(v >> 40);
}

/* Find key in a table of n slots of size sz whose first field is the key;
 * claim: take a free slot by CAS when key is not there. */
static void *table_find(void *base, size_t sz, uint32_t n, void *key, int claim)
{
	uint32_t h = ptr_hash(key);
	for (uint32_t i = 0; i < PROBE_MAX; i++) {
		void **k = (void **)((char *)base + ((h + i) % n) * sz);
		void *cur = __atomic_load_n(k, __ATOMIC_ACQUIRE);
		if (cur == key)
			return k;
		if (cur == NULL && claim) {
			void *free_key = NULL;
			/* Acquire: the previous owner's writes are done. */
			if (__atomic_compare_exchange_n(k, &free_key, key, 0,
							__ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED))
				return k;
		}
	}
	return NULL;
}

static struct conn_slot *conn_find(void *mysql)
{
	return mysql ? table_find(conns, sizeof(conns[0]), PT_MYSQL_CONN_SLOTS,
				  mysql, 0)
		     : NULL;
}

static struct stmt_slot *stmt_find(void *stmt, int claim)
{
	return stmt ? table_find(stmts, sizeof(stmts[0]), PT_MYSQL_STMT_SLOTS,
				 stmt, claim)
		    : NULL;
}

/* ---- 2. text and emitting ---- */

/* Fingerprint sql (raw SQL in raw mode) after prefix into text. */
static uint16_t make_text(char *text, uint32_t *flags, const char *prefix,
			  const char *sql, size_t n)
{
	size_t p = strlen(prefix);
	size_t cap = PT_MYSQL_TEXT_MAX - p;
	memcpy(text, prefix, p);
	*flags = PT_EV_API;
	if (!sql)
		n = 0;
	if (out.raw) {
		size_t max = out.raw_max < cap - 1 ? out.raw_max : cap - 1;
		if (n > max) {
			n = max;
			*flags |= PT_EV_TRUNCATED;
		}
		memcpy(text + p, sql, n);
		*flags |= PT_EV_RAW;
	} else {
		if (n > PT_TEXT_MAX) {
			n = PT_TEXT_MAX;
			*flags |= PT_EV_TRUNCATED;
		}
		n = n ? pt_sql_fingerprint(sql, n, text + p, cap) : 0;
		if (n >= cap - 1)
			*flags |= PT_EV_TRUNCATED;
	}
	return (uint16_t)(p + n);
}

static void emit(uint32_t conn_id, uint32_t flags, const char *text, size_t len,
		 uint64_t t0, uint64_t t1, uint64_t rows, unsigned err)
{
	struct pt_event ev = {
	    .kind = PT_KIND_MYSQL,
	    .outcome = err ? PT_OUT_ERROR : PT_OUT_OK,
	    .start_ns = t0,
	    .duration_ns = t1 > t0 ? t1 - t0 : 0,
	    .conn_id = conn_id,
	    .status = (int32_t)err,
	    .rows = rows,
	    .flags = flags,
	    .text = text,
	    .text_len = len,
	};
	out.event(&ev);
}

/* The pending statement of c ends now: err is its error (0: none). */
static void conn_emit(struct conn_slot *c, unsigned err)
{
	if (c->state == ST_IDLE)
		return;
	if (c->res && c->res == api_mysql_cur_res) {
		api_mysql_cur_res = NULL;
		cur_conn = NULL;
	}
	c->res = NULL;
	c->state = ST_IDLE;
	c->events++;
	emit(c->conn_id, c->flags | c->tls, c->text, c->len, c->start_ns,
	     c->last_ns, c->rows, err);
}

/* The current result is complete: more results (multi-statement) keep
 * the statement open for mysql_next_result. */
static void result_end(struct conn_slot *c)
{
	if (fn.more_results(c->key)) {
		c->state = ST_MORE;
		return;
	}
	conn_emit(c, 0);
}

/* The reply to a query was read: a result set, or the statement done. */
static void reply_read(struct conn_slot *c, int failed, uint64_t t1)
{
	c->last_ns = t1;
	if (failed) {
		conn_emit(c, fn.err(c->key));
		return;
	}
	if (fn.field_count(c->key)) {
		c->state = ST_RESULT;
		return;
	}
	c->rows += fn.affected_rows(c->key);
	result_end(c);
}

/* ---- 3. connections ---- */

void api_mysql_init(const struct pt_mysql_fns *fns, const struct pt_api_out *o,
		    void (*take)(int fd))
{
	fn = *fns;
	out = *o;
	take_fd = take;
}

void api_mysql_reset_all(void)
{
	memset(conns, 0, sizeof(conns));
	memset(stmts, 0, sizeof(stmts));
	api_mysql_cur_res = NULL;
	cur_conn = NULL;
}

void *api_mysql_enter(void *mysql)
{
	struct conn_slot *c = conn_find(mysql);
	if (!c || c->depth)
		return NULL;
	c->depth++;
	/* A reconnect (MYSQL_OPT_RECONNECT) brings a new socket. */
	int fd = fn.get_socket(mysql);
	if (fd != c->fd && fd >= 0) {
		c->fd = fd;
		take_fd(fd);
	}
	return c;
}

void api_mysql_leave(void *conn)
{
	struct conn_slot *c = conn;
	if (c)
		c->depth--;
}

void *api_mysql_connect_begin(void *mysql)
{
	/* Already ours: connected (libmariadb refuses a second connect on
	 * it) or a connect within a hook of it (a reconnect). */
	if (conn_find(mysql))
		return NULL;
	struct conn_slot *c = mysql ? table_find(conns, sizeof(conns[0]),
						 PT_MYSQL_CONN_SLOTS, mysql, 1)
				    : NULL;
	if (!c) {
		if (mysql)
			out.drop(PT_DROP_CONN_TABLE);
		return NULL;
	}
	c->depth = 1;
	c->state = ST_IDLE;
	c->res = NULL;
	c->fd = -1;
	c->events = 0;
	return c;
}

void api_mysql_connect_end(void *conn, int ok, uint64_t t0, uint64_t t1, int fd,
			   const struct pt_peer *peer)
{
	struct conn_slot *c = conn;
	static const char text[] = "CONNECT";
	uint32_t id = out.conn_id();
	if (!ok) {
		emit(id, PT_EV_API, text, sizeof(text) - 1, t0, t1, 0,
		     fn.err(c->key));
		c->depth = 0;
		__atomic_store_n(&c->key, NULL, __ATOMIC_RELEASE); /* C1 */
		return;
	}
	c->conn_id = id;
	c->fd = fd;
	c->tls = fn.ssl_cipher(c->key) ? PT_EV_TLS : 0;
	if (fd >= 0)
		take_fd(fd);
	const char *ver = fn.server_info(c->key);
	struct pt_conn_info ci = {
	    .event = PT_CONN_OPEN,
	    .role = PT_ROLE_CLIENT,
	    .proto = PT_PROTO_MYSQL,
	    .family = peer->family,
	    .port = peer->port,
	    .conn_id = id,
	    .server_conn_id = (uint32_t)fn.thread_id(c->key),
	    .time_ns = t0,
	    .auth_ns = t1 > t0 ? t1 - t0 : 1,
	    .text = ver,
	    .text_len = ver ? strlen(ver) : 0,
	};
	memcpy(ci.addr, peer->addr, sizeof(ci.addr));
	out.conn(&ci);
	c->events = 1;
	emit(id, PT_EV_API | c->tls, text, sizeof(text) - 1, t0, t1, 0, 0);
	c->depth = 0;
}

void api_mysql_close(void *mysql, uint64_t now)
{
	struct conn_slot *c = conn_find(mysql);
	if (!c || c->depth)
		return;
	conn_emit(c, 0);
	struct pt_conn_info ci = {
	    .event = PT_CONN_CLOSE,
	    .role = PT_ROLE_CLIENT,
	    .proto = PT_PROTO_MYSQL,
	    .conn_id = c->conn_id,
	    .time_ns = now,
	    .events = c->events,
	};
	out.conn(&ci);
	__atomic_store_n(&c->key, NULL, __ATOMIC_RELEASE); /* C1 */
}

/* ---- 4. text queries and their results ---- */

void api_mysql_query(void *conn, const char *sql, size_t len, int failed,
		     int only_sent, uint64_t t0, uint64_t t1)
{
	struct conn_slot *c = conn;
	conn_emit(c, 0); /* the program left the previous one unread */
	c->len = make_text(c->text, &c->flags, "", sql, len);
	c->start_ns = t0;
	c->last_ns = t1;
	c->rows = 0;
	c->state = ST_SENT;
	if (only_sent && !failed)
		return;
	reply_read(c, failed, t1);
}

void api_mysql_read_result(void *conn, int failed, uint64_t t1)
{
	struct conn_slot *c = conn;
	if (c->state == ST_SENT)
		reply_read(c, failed, t1);
}

void api_mysql_store(void *conn, void *res, uint64_t t1)
{
	struct conn_slot *c = conn;
	if (c->state != ST_RESULT)
		return;
	c->last_ns = t1;
	if (!res) {
		unsigned e = fn.err(c->key);
		if (e) {
			conn_emit(c, e);
			return;
		}
	} else {
		c->rows += fn.num_rows(res);
	}
	result_end(c);
}

void api_mysql_use(void *conn, void *res, uint64_t t1)
{
	struct conn_slot *c = conn;
	if (c->state != ST_RESULT)
		return;
	c->last_ns = t1;
	if (!res) {
		conn_emit(c, fn.err(c->key));
		return;
	}
	c->state = ST_USE;
	c->res = res;
	api_mysql_cur_res = res;
	cur_conn = c;
}

void api_mysql_fetched(void *res, int row, uint64_t t1)
{
	struct conn_slot *c = cur_conn;
	if (!c || res != api_mysql_cur_res || c->res != res)
		return;
	c->last_ns = t1;
	if (row) {
		c->rows++;
		return;
	}
	unsigned e = fn.err(c->key);
	c->res = NULL;
	api_mysql_cur_res = NULL;
	cur_conn = NULL;
	if (e)
		conn_emit(c, e);
	else
		result_end(c);
}

void api_mysql_freed(void *res, uint64_t t1)
{
	struct conn_slot *c = cur_conn;
	if (!c || res != api_mysql_cur_res || c->res != res)
		return;
	c->last_ns = t1; /* freeing drains the rows left unread */
	c->res = NULL;
	api_mysql_cur_res = NULL;
	cur_conn = NULL;
	result_end(c);
}

void api_mysql_next(void *conn, int rc, uint64_t t1)
{
	struct conn_slot *c = conn;
	if (c->state != ST_MORE)
		return;
	c->last_ns = t1;
	if (rc > 0)
		conn_emit(c, fn.err(c->key));
	else if (rc < 0)
		conn_emit(c, 0);
	else
		reply_read(c, 0, t1);
}

void api_mysql_simple(void *conn, const char *text, int sql, int failed,
		      uint64_t t0, uint64_t t1)
{
	struct conn_slot *c = conn;
	conn_emit(c, 0);
	if (sql) {
		c->len = make_text(c->text, &c->flags, "", text, strlen(text));
	} else {
		size_t n = strlen(text);
		memcpy(c->text, text, n);
		c->len = (uint16_t)n;
		c->flags = PT_EV_API;
	}
	c->start_ns = t0;
	c->last_ns = t1;
	c->rows = 0;
	c->state = ST_SENT;
	conn_emit(c, failed ? fn.err(c->key) : 0);
}

/* ---- 5. prepared statements ---- */

static void stmt_emit(struct stmt_slot *s, unsigned err)
{
	if (!s->pending)
		return;
	s->pending = 0;
	struct conn_slot *c = conn_find(s->mysql);
	if (c)
		c->events++;
	emit(s->conn_id, s->flags | s->tls | PT_EV_PREPARED, s->text, s->len,
	     s->start_ns, s->last_ns, s->rows, err);
}

void api_mysql_stmt_new(void *mysql, void *stmt)
{
	struct conn_slot *c = conn_find(mysql);
	if (!c || !stmt)
		return;
	struct stmt_slot *s = stmt_find(stmt, 1);
	if (!s) {
		out.drop(PT_DROP_CONN_TABLE);
		return;
	}
	s->mysql = mysql;
	s->conn_id = c->conn_id;
	s->tls = c->tls;
	s->pending = 0;
	s->len = 0;
	s->flags = PT_EV_API;
}

void *api_mysql_stmt_enter(void *stmt, void **slot)
{
	struct stmt_slot *s = stmt_find(stmt, 0);
	if (!s)
		return NULL;
	void *c = api_mysql_enter(s->mysql);
	*slot = c ? s : NULL;
	return c;
}

void api_mysql_stmt_prepare(void *slot, const char *sql, size_t len, int failed,
			    uint64_t t0, uint64_t t1)
{
	struct stmt_slot *s = slot;
	char text[PT_MYSQL_TEXT_MAX];
	uint32_t flags;
	stmt_emit(s, 0);
	uint16_t n = make_text(text, &flags, "PREPARE ", sql, len);
	/* The execution's text: the fingerprint without the prefix. */
	s->len = (uint16_t)(n - 8);
	memcpy(s->text, text + 8, s->len);
	s->flags = flags;
	struct conn_slot *c = conn_find(s->mysql);
	if (c)
		c->events++;
	emit(s->conn_id, flags | s->tls, text, n, t0, t1, 0,
	     failed ? fn.stmt_err(s->key) : 0);
}

void api_mysql_stmt_execute(void *slot, int failed, uint64_t t0, uint64_t t1)
{
	struct stmt_slot *s = slot;
	stmt_emit(s, 0);
	s->start_ns = t0;
	s->last_ns = t1;
	s->rows = 0;
	s->pending = 1;
	if (failed) {
		stmt_emit(s, fn.stmt_err(s->key));
	} else if (fn.stmt_field_count(s->key) == 0) {
		s->rows = fn.stmt_affected_rows(s->key);
		stmt_emit(s, 0);
	}
}

void api_mysql_stmt_store(void *slot, int failed, uint64_t t1)
{
	struct stmt_slot *s = slot;
	if (!s->pending)
		return;
	s->last_ns = t1;
	if (failed) {
		stmt_emit(s, fn.stmt_err(s->key));
		return;
	}
	s->rows = fn.stmt_num_rows(s->key);
	stmt_emit(s, 0);
}

void api_mysql_stmt_fetch(void *slot, int rc, uint64_t t1)
{
	struct stmt_slot *s = slot;
	if (!s->pending)
		return;
	s->last_ns = t1;
	if (rc == 0 || rc == PT_MYSQL_DATA_TRUNCATED)
		s->rows++;
	else
		stmt_emit(
		    s, rc == PT_MYSQL_FETCH_NO_DATA ? 0 : fn.stmt_err(s->key));
}

void api_mysql_stmt_done(void *slot, int closing, uint64_t now)
{
	struct stmt_slot *s = slot;
	(void)now;
	stmt_emit(s, 0);
	if (closing)
		__atomic_store_n(&s->key, NULL, __ATOMIC_RELEASE);
}

void api_mysql_stmt_forget(void *stmt)
{
	struct stmt_slot *s = stmt_find(stmt, 0);
	if (s)
		__atomic_store_n(&s->key, NULL, __ATOMIC_RELEASE);
}
