/*
 * dump_format.h -- the on-disk layout of a perftap dump, shared by the shim
 * (which writes it) and the report (which reads it).
 *
 * A dump is one file per process:
 *
 *   [ file header: struct pt_file_header + string area, header_size bytes ]
 *   [ chunk slot 0: struct pt_chunk_header + records ]   chunk_size bytes
 *   [ chunk slot 1 ... ]
 *
 * The file grows one chunk at a time up to max_size.  Every integer is in
 * the writer's native byte order, stated by `byte_order`; a reader on a
 * machine of the other order refuses the file rather than guessing.
 *
 * Invariants (the reader checks every one before it trusts a byte):
 *   I1. header_size is a multiple of 4096, >= sizeof(struct pt_file_header).
 *   I2. chunk_size is a multiple of 4096, and >= PT_CHUNK_MIN_SIZE.
 *   I3. Slot k occupies [header_size + k*chunk_size, +chunk_size); only
 *       slots wholly inside the file are read.
 *   I4. Inside a chunk, records follow the chunk header back to back; each
 *       starts on an 8-byte boundary and its size is a multiple of 8.
 *   I5. A record is committed when its commit word holds its size and the
 *       chunk's sequence number.  The writer stores every other byte first
 *       and the commit word last, with release ordering.  A zero commit
 *       word, a size that does not fit, or a foreign sequence number (left
 *       by an earlier tenant of the slot in wrap mode) ends the chunk.
 *   I6. Interned strings (PT_REC_STRING) are numbered from 1 within their
 *       chunk and appear before the first record that names them, so each
 *       chunk stands alone when older chunks have been overwritten.
 *   I7. (v2) Stacks (PT_REC_STACK) follow the same rule as strings: ids
 *       from 1 within their chunk, each written before the first event that
 *       names it; the strings a stack names come before the stack, and the
 *       modules its native frames need come before it in the same chunk.
 *
 * Compatibility: a reader skips record types it does not know (their size
 * is in the commit word), and reads only the prefix of a known record that
 * it understands, so later versions may append fields; a record shorter
 * than the reader's struct (an older version's) reads its missing fields as
 * zero.  A file whose
 * `version` is higher than PT_DUMP_VERSION is refused with a clear message.
 */
#ifndef PERFTAP_DUMP_FORMAT_H
#define PERFTAP_DUMP_FORMAT_H

#include <stdint.h>

#define PT_DUMP_MAGIC	  "PERFTAP\0" /* 8 bytes, NUL included */
#define PT_DUMP_MAGIC_LEN 8
/* 2: event and conn records grew; stack, module and sample records.
 * 3: counter PT_CNT_STACK_UNSENT (the layout is version 2's). */
#define PT_DUMP_VERSION 3
#define PT_DUMP_VERSION_MIN 1 /* oldest version the reader still reads */
#define PT_BYTE_ORDER_MARK  0x01020304u

#define PT_HEADER_SIZE_DEFAULT (64u * 1024)   /* header + strings */
#define PT_CHUNK_SIZE_DEFAULT  (1024u * 1024) /* one thread's slab */
#define PT_CHUNK_MIN_SIZE      4096u
#define PT_MAX_SIZE_DEFAULT    (256ull * 1024 * 1024)
#define PT_CHUNK_MAGIC	       0x4b434850u /* "PHCK" little-endian */
#define PT_TEXT_MAX	       4096u /* longest interned string, NUL excluded */

/* What happens when the file reaches max_size. */
enum pt_limit_mode {
	PT_MODE_WRAP =
	    1, /* flight recorder: overwrite the oldest closed chunk */
	PT_MODE_STOP = 2, /* keep the oldest; drop new events */
};

/* Header flags. */
#define PT_HDR_RAW_TEXT (1u << 0) /* PERFTAP_RAW=1: text is not redacted */

/*
 * Why events were not recorded.  Each cause has its own counter in the
 * header so that the report can say exactly what is missing.
 */
enum pt_drop_cause {
	PT_DROP_FULL = 0,   /* stop mode: file at its size limit */
	PT_DROP_WRAPPED,    /* wrap mode: event lived in an overwritten chunk */
	PT_DROP_NO_CHUNK,   /* wrap mode: every chunk busy with a live thread */
	PT_DROP_DISK,	    /* could not allocate file space (ENOSPC, ...) */
	PT_DROP_NESTED,	    /* event raised while the thread was mid-write
			       (signal handler): never corrupt, drop instead */
	PT_DROP_TOO_BIG,    /* record larger than a chunk */
	PT_DROP_CONN_TABLE, /* shim: no free connection or API slot */
	PT_DROP_BUSY,	    /* shim: connection state held by another thread */
	PT_DROP_DESYNC,	    /* shim: decoder lost the frame boundary */
	PT_DROP_QUEUE_FULL, /* shim: too many outstanding pipelined requests */
	PT_DROP_CAUSE_COUNT = 16 /* room for causes a later version adds */
};

/* Connection-level counters: traffic seen but not decoded. */
enum pt_counter {
	PT_CNT_CONN_TRACKED = 0, /* connections given a decoder */
	PT_CNT_CONN_UNDECODABLE, /* decoder gave up on the stream */
	PT_CNT_CONN_TLS,	 /* upgraded to TLS; plaintext not seen */
	PT_CNT_CONN_COMPRESSED,	 /* MySQL compressed protocol: skipped */
	PT_CNT_CONN_UPGRADED,	 /* HTTP Upgrade / HTTP/2: left alone */
	PT_CNT_CONN_UNKNOWN,	 /* sniffed, matched no protocol */
	PT_CNT_CONN_FORK_MIDOP,	 /* (v2) forked child: an inherited connection was
				    mid-operation, not decoded there */
	PT_CNT_STACK_UNSENT,	 /* (v3) slow asyncio client operation left
				    without a stack: its send's was not kept */
	PT_CNT_COUNT = 16
};

struct pt_file_header {
	char magic[PT_DUMP_MAGIC_LEN]; /* written last at creation (release) */
	uint32_t version;
	uint32_t byte_order;  /* PT_BYTE_ORDER_MARK as the writer stored it */
	uint32_t header_size; /* I1 */
	uint32_t chunk_size;  /* I2 */
	uint64_t max_size;    /* size limit of the whole file, bytes */
	uint32_t chunk_slots; /* (max_size - header_size) / chunk_size */
	uint32_t mode;	      /* enum pt_limit_mode */
	uint32_t flags;	      /* PT_HDR_* */
	uint32_t
	    clock_id; /* clockid_t of every *_ns timestamp (CLOCK_MONOTONIC) */
	int32_t pid;
	int32_t ppid;
	uint64_t realtime_anchor_ns;  /* CLOCK_REALTIME at creation ... */
	uint64_t monotonic_anchor_ns; /* ... and clock_id at the same instant */
	/* Variable strings, stored in the header area after this struct.  Each
	 * is an (offset from file start, length without NUL) pair; the bytes
	 * are NUL-terminated.  argv is argc strings, each NUL-terminated, back
	 * to back.  settings is "KEY=value\n" lines. */
	uint32_t exe_off, exe_len;
	uint32_t host_off, host_len;
	uint32_t argv_off, argv_len;
	uint32_t argc;
	uint32_t settings_off, settings_len;
	uint32_t pad0;
	/* Updated while the process runs (atomics on the shared mapping). */
	uint64_t next_chunk_seq; /* tickets handed out; chunk seq numbers */
	uint64_t drops[PT_DROP_CAUSE_COUNT];
	uint64_t counters[PT_CNT_COUNT];
	uint64_t reserved[16];
};

/* Chunk slot states. */
enum pt_chunk_state {
	PT_CHUNK_FREE = 0, /* never used */
	PT_CHUNK_CLAIMING, /* being (re)initialised: skip */
	PT_CHUNK_OPEN,	   /* a live thread appends here */
	PT_CHUNK_CLOSED,   /* owner moved on or exited */
};

struct pt_chunk_header {
	uint32_t magic; /* PT_CHUNK_MAGIC */
	uint32_t state; /* enum pt_chunk_state (atomic) */
	uint64_t seq;	/* ticket that claimed this slot; orders chunks */
	uint32_t tid;	/* owning thread */
	uint32_t pad0;
	uint64_t nevents; /* event records committed here (owner-written) */
	uint64_t reserved[4];
};

/* Record types.  Unknown types are skipped by readers. */
enum pt_record_type {
	PT_REC_STRING = 1, /* interned text */
	PT_REC_EVENT = 2,  /* one timed operation */
	PT_REC_CONN = 3,   /* connection opened or closed, with peer */
	PT_REC_STACK = 4,  /* v2: interned call stack (native + Python) */
	PT_REC_MODULE = 5, /* v2: a module mapped into the process */
	PT_REC_SAMPLE = 6, /* v2: process resources at one instant */
};

/*
 * Every record starts with this.  commit = size | (uint64)(uint32)seq << 32,
 * stored last with release ordering (I5).
 */
struct pt_record_header {
	uint64_t commit;
	uint16_t type; /* enum pt_record_type */
	uint16_t flags;
};

static inline uint64_t pt_commit_word(uint32_t size, uint64_t chunk_seq)
{
	return (uint64_t)size | ((uint64_t)(uint32_t)chunk_seq << 32);
}

static inline uint32_t pt_commit_size(uint64_t commit)
{
	return (uint32_t)commit;
}

static inline uint32_t pt_commit_seq(uint64_t commit)
{
	return (uint32_t)(commit >> 32);
}

struct pt_string_record {
	uint64_t commit;
	uint16_t type; /* PT_REC_STRING */
	uint16_t len;  /* bytes of text, NUL excluded (<= PT_TEXT_MAX) */
	uint32_t id;   /* >= 1, unique within the chunk */
		       /* char text[len + 1], NUL-terminated, padded to 8 */
};

/* What an event measured. */
enum pt_event_kind {
	PT_KIND_NONE = 0,
	PT_KIND_HTTP_IN = 1,  /* request served by this process */
	PT_KIND_HTTP_OUT = 2, /* request this process sent (model servers) */
	PT_KIND_MYSQL = 3,
	PT_KIND_REDIS = 4,
	PT_KIND_SQLITE = 5, /* statement execution (api_sqlite.c) */
	PT_KIND_COUNT
};

/* How to read `status`. */
enum pt_outcome {
	PT_OUT_OK = 0,	    /* success; status is 0 */
	PT_OUT_ERROR = 1,   /* status: MySQL error code, or a Redis error-prefix
			       id (PT_REDIS_ERR_*), or errno when the
			       connection failed mid-operation */
	PT_OUT_HTTP = 2,    /* status: HTTP status code */
	PT_OUT_ABORTED = 3, /* connection closed before the reply completed */
};

/* Event flags. */
#define PT_EV_PIPELINED (1u << 0) /* sent while others were outstanding */
#define PT_EV_BLOCKING                                                         \
	(1u << 1) /* blocking command (BLPOP, XREAD BLOCK ...)                 \
		   */
#define PT_EV_TRUNCATED	  (1u << 2) /* text cut at PT_TEXT_MAX or raw limit */
#define PT_EV_SATURATED	  (1u << 3) /* a counter hit its field's maximum */
#define PT_EV_PREPARED	  (1u << 4) /* MySQL COM_STMT_EXECUTE */
#define PT_EV_TRANSACTION (1u << 5) /* Redis EXEC: text names the commands */
#define PT_EV_RAW	  (1u << 6) /* text is raw, not normalized */
#define PT_EV_API	  (1u << 7) /* from a client-API hook, not socket bytes */
#define PT_EV_TLS	  (1u << 8) /* decoded from TLS plaintext */

/* One timed operation.  64 bytes: one cache line. */
struct pt_event_record {
	uint64_t commit;
	uint16_t type;	   /* PT_REC_EVENT */
	uint8_t kind;	   /* enum pt_event_kind */
	uint8_t outcome;   /* enum pt_outcome */
	uint32_t text_id;  /* interned string in this chunk; 0 = none */
	uint64_t start_ns; /* clock_id */
	uint64_t duration_ns;
	uint32_t tid;
	uint32_t conn_id;      /* matches a PT_REC_CONN; 0 = unknown */
	int32_t status;	       /* see enum pt_outcome */
	uint32_t rows;	       /* rows returned or affected, or keys touched */
	uint32_t bytes_out;    /* request bytes (saturating) */
	uint32_t bytes_in;     /* reply bytes (saturating) */
	uint16_t cache_hits;   /* Redis reads: non-nil replies (MGET per key) */
	uint16_t cache_misses; /* Redis reads: nil replies */
	uint32_t flags;	       /* PT_EV_* */
	/* ---- version 2 (a v1 record ends here: PT_EVENT_V1_SIZE) ---- */
	uint64_t request_id; /* inbound request this operation served, in this
				process; an HTTP_IN event carries its own id;
				0 = none / unattributed (see attr) */
	uint32_t stack_id;   /* PT_REC_STACK in this chunk; 0 = none */
	uint16_t server_status; /* MySQL: status flags of the closing OK/EOF
				   (PT_MYSQL_NO_INDEX_USED ...) */
	uint16_t warnings;	/* MySQL: warning count of the closing OK/EOF */
	uint32_t scan_steps;	/* SQLite: SQLITE_STMTSTATUS_FULLSCAN_STEP */
	uint32_t vm_steps;	/* SQLite: SQLITE_STMTSTATUS_VM_STEP */
	uint16_t sorts;		/* SQLite: SQLITE_STMTSTATUS_SORT */
	uint16_t auto_indexes;	/* SQLite: SQLITE_STMTSTATUS_AUTOINDEX */
	uint8_t attr;		/* enum pt_attribution */
	uint8_t pad1[3];
	/* asyncio (shim/task.c): the key of the execution context (the
	 * PyContext a task runs in) that sent the operation's first byte;
	 * for HTTP_IN, the one that wrote the response's first byte.  The
	 * report joins the two (report/task_join.c).  0 = none. */
	uint64_t task_key;
	uint32_t head_us; /* HTTP_IN: first byte in to end of the request
			     head, microseconds; UINT32_MAX = unknown */
	uint32_t pad2;
};

#define PT_EVENT_V1_SIZE 64u /* a version 1 event record */

/* MySQL server status bits the report reads (mysql_com.h values). */
#define PT_MYSQL_NO_GOOD_INDEX_USED 0x0010u
#define PT_MYSQL_NO_INDEX_USED	    0x0020u

/* How request_id was found (events other than HTTP_IN). */
enum pt_attribution {
	PT_ATTR_UNKNOWN = 0, /* v1 dump, or not tried */
	PT_ATTR_NONE = 1,    /* no inbound request in progress: background */
	PT_ATTR_THREAD = 2,  /* the thread was serving exactly one request */
	PT_ATTR_TASK = 3,    /* the asyncio task serving the request */
	PT_ATTR_HANDOFF = 4, /* a thread-pool job a request's task handed off */
	PT_ATTR_AMBIGUOUS = 5, /* several candidates: left unattributed */
	PT_ATTR_OTHER = 6, /* could not be told (unsupported runtime, fault) */
};

/*
 * Redis error prefixes, for PT_OUT_ERROR on PT_KIND_REDIS events: the
 * status holds one of these (the reply's first word), so reports can group
 * errors without storing the message.
 */
enum pt_redis_error {
	PT_REDIS_ERR_OTHER = 1,
	PT_REDIS_ERR_ERR,
	PT_REDIS_ERR_WRONGTYPE,
	PT_REDIS_ERR_MOVED,
	PT_REDIS_ERR_ASK,
	PT_REDIS_ERR_NOSCRIPT,
	PT_REDIS_ERR_BUSY,
	PT_REDIS_ERR_READONLY,
	PT_REDIS_ERR_NOAUTH,
	PT_REDIS_ERR_NOPERM,
	PT_REDIS_ERR_OOM,
	PT_REDIS_ERR_EXECABORT,
	PT_REDIS_ERR_LOADING,
	PT_REDIS_ERR_WRONGPASS,
	PT_REDIS_ERR_COUNT
};

/*
 * The text of an event, by kind (always normalized unless PT_EV_RAW):
 *   PT_KIND_HTTP_IN   "METHOD /route/{id}"          e.g. "GET /fir/{id}"
 *   PT_KIND_HTTP_OUT  "METHOD host[:port]/route"    e.g. "POST
 * 127.0.0.1:8001/asr" PT_KIND_MYSQL     the SQL fingerprint           e.g.
 * "select * from t where id = ?" or a command without SQL, upper case: "PING",
 * "INIT_DB", "CHANGE_USER", "RESET_CONNECTION", "STMT_RESET", "STMT_FETCH",
 * "CONNECT" (PT_EV_API: mysql_real_connect, connect + TLS + auth); a
 * prepare is "PREPARE <fingerprint>"; an execute is its prepared fingerprint +
 * PT_EV_PREPARED PT_KIND_REDIS     "COMMAND key:pattern:*" (command upper case;
 * the first key's pattern; no key: just the command); EXEC is "EXEC (CMD
 * pattern; CMD pattern; ...)" + PT_EV_TRANSACTION Reports split the text at the
 * first space.
 */

/* Connection roles and protocols. */
enum pt_conn_role { PT_ROLE_CLIENT = 1, PT_ROLE_SERVER = 2 };
enum pt_proto {
	PT_PROTO_UNKNOWN = 0,
	PT_PROTO_HTTP = 1,
	PT_PROTO_MYSQL = 2,
	PT_PROTO_REDIS = 3,
	PT_PROTO_SQLITE = 4, /* a SQLite database handle; text: basename */
};

#define PT_CONN_OPEN  1
#define PT_CONN_CLOSE 2

/* A connection's life: written when the shim starts and stops tracking it. */
struct pt_conn_record {
	uint64_t commit;
	uint16_t type; /* PT_REC_CONN */
	uint8_t event; /* PT_CONN_OPEN / PT_CONN_CLOSE */
	uint8_t role;  /* enum pt_conn_role */
	uint32_t conn_id;
	uint64_t time_ns;
	uint32_t tid;
	uint8_t proto;	  /* enum pt_proto */
	uint8_t family;	  /* AF_INET, AF_INET6, AF_UNIX, 0 */
	uint16_t port;	  /* peer port, host order */
	uint8_t addr[16]; /* peer address (IPv4 in the first 4 bytes) */
	uint32_t text_id; /* server version, or Unix socket path; 0 = none */
	uint32_t server_conn_id; /* MySQL thread id from the greeting */
	uint64_t events;	 /* on close: events this connection produced */
	uint64_t undecoded_bytes; /* on close: bytes skipped after desync */
	/* ---- version 2 (a v1 record ends here: PT_CONN_V1_SIZE) ---- */
	uint64_t connect_ns; /* connect() to writable (TCP); 0 = unknown */
	uint64_t auth_ns;    /* MySQL greeting to the OK of the handshake
				(API connections: the whole
				mysql_real_connect); Redis: 0 */
	uint32_t conn_flags; /* PT_CONNF_* */
	uint32_t pad1;
};

/* Connection record flags (conn_flags, v2). */
#define PT_CONNF_INHERITED                                                     \
	(1u << 0) /* a forked child's copy of its parent's connection: opened  \
		     (and timed) by the parent, not by this process */
#define PT_CONNF_FAILED                                                        \
	(1u << 1) /* a non-blocking connect the program was told had failed    \
		     (getsockopt SO_ERROR): never connected */

#define PT_CONN_V1_SIZE 72u /* a version 1 connection record */

/*
 * v2: a call stack, interned per chunk like strings (I7: ids from 1 within
 * the chunk, written before the first event naming them).  Followed by
 * uint64_t native[n_native] (return addresses, innermost first), then
 * struct pt_py_frame python[n_python] (innermost first); padded to 8.
 */
#define PT_STACK_MAX_NATIVE 32
#define PT_STACK_MAX_PYTHON 64
#define PT_STACK_PY_UNKNOWN (1u << 0) /* CPython seen, layout not known */
#define PT_STACK_PY_FAULT   (1u << 1) /* a Python frame read failed */

struct pt_stack_record {
	uint64_t commit;
	uint16_t type; /* PT_REC_STACK */
	uint16_t n_native;
	uint32_t id; /* >= 1, unique within the chunk */
	uint16_t n_python;
	uint16_t flags; /* PT_STACK_* */
	uint32_t pad0;
};

struct pt_py_frame {
	uint32_t func_id; /* interned qualname in this chunk */
	uint32_t file_id; /* interned file name in this chunk */
	uint32_t line;
	uint32_t pad0;
};

/*
 * v2: one module (executable or shared object) mapped into the process, so
 * that native addresses can be symbolized offline.  Written before the first
 * stack of a chunk that needs it (each chunk stands alone after a wrap).
 */
struct pt_module_record {
	uint64_t commit;
	uint16_t type;	       /* PT_REC_MODULE */
	uint16_t build_id_len; /* bytes used in build_id */
	uint32_t path_id;      /* interned path in this chunk */
	uint64_t base;	       /* load address (ELF l_addr) */
	uint64_t lo, hi;       /* mapped text range [lo, hi) */
	uint8_t build_id[20];  /* NT_GNU_BUILD_ID */
	uint32_t pad0;
};

/*
 * v2: the process's resources at one instant.  Cumulative counters (CPU,
 * switches, I/O) are since process start; the report differences them.
 */
struct pt_sample_record {
	uint64_t commit;
	uint16_t type;	/* PT_REC_SAMPLE */
	uint16_t flags; /* PT_SAMPLE_* */
	int32_t pid;
	uint64_t time_ns; /* clock_id */
	uint64_t utime_ns, stime_ns;
	uint64_t rss_bytes, rss_peak_bytes;
	uint64_t vol_ctxsw, invol_ctxsw;
	uint64_t read_bytes, write_bytes; /* storage I/O (/proc/PID/io) */
	uint32_t fds, threads;
	char comm[16]; /* the process's name (/proc/PID/comm), NUL-padded */
};

#define PT_SAMPLE_SUPERVISOR (1u << 0) /* taken by `perftap record` */
#define PT_SAMPLE_HAS_IO     (1u << 1) /* read_bytes, write_bytes valid */
#define PT_SAMPLE_HAS_FDS    (1u << 2) /* fds, threads valid */
#define PT_SAMPLE_HAS_RSS    (1u << 3) /* rss_bytes valid (peak always is) */

/*
 * The samples side file, written by `perftap record` beside the dumps:
 * `samples.<supervisor pid>.pts` in PERFTAP_DIR, 0600.
 *
 *   [ struct pt_samples_header, header_size bytes ]
 *   [ struct pt_sample_record ] * n, back to back, record_size bytes each
 *
 * Each record is a whole struct pt_sample_record (commit = its size, no
 * sequence; type PT_REC_SAMPLE; flags PT_SAMPLE_SUPERVISOR | HAS_*), one
 * per process of the supervised tree per interval, appended with one
 * write() per interval.  A record cut short by the file's end (the
 * supervisor was killed mid-write) is ignored; a record whose fields are
 * impossible is skipped and counted.  Compatibility as in the dump: a
 * longer record_size appends fields, a reader takes the prefix it knows.
 */
#define PT_SAMPLES_MAGIC   "PTSAMPL\0" /* 8 bytes, NUL included */
#define PT_SAMPLES_VERSION 1

struct pt_samples_header {
	char magic[PT_DUMP_MAGIC_LEN]; /* PT_SAMPLES_MAGIC */
	uint32_t version;	       /* PT_SAMPLES_VERSION */
	uint32_t byte_order;	       /* PT_BYTE_ORDER_MARK */
	uint32_t header_size;	       /* >= sizeof(struct pt_samples_header) */
	uint32_t record_size;	       /* >= sizeof(pt_sample_record), 8k */
	uint64_t interval_ns;	       /* the sampling interval asked for */
	uint64_t realtime_anchor_ns;   /* CLOCK_REALTIME at creation ... */
	uint64_t monotonic_anchor_ns;  /* ... and CLOCK_MONOTONIC then */
	int32_t supervisor_pid;	       /* `perftap record` itself */
	int32_t root_pid;	       /* the program it started */
	uint64_t reserved[4];
};

#endif /* PERFTAP_DUMP_FORMAT_H */
