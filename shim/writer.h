/*
 * writer.h -- the dump writer: appends records to a shared mmap of the dump
 * file, one chunk per thread, without locks and without a system call per
 * event.  See include/perftap/dump_format.h for the layout it produces.
 *
 * Threading: one struct pt_writer per process, shared by all threads; one
 * struct pt_writer_cursor per thread (the shim keeps it in initial-exec
 * TLS; tests keep it on the stack).  A cursor is used by one thread only.
 * Reentrancy: a record started on a cursor while another is half-written on
 * the same cursor (a signal handler) is dropped and counted
 * (PT_DROP_NESTED), never interleaved.
 *
 * Errors: functions return 0 or -errno; they never print and never exit.
 * None allocates memory after pt_writer_open().  Every system call goes
 * through pt_sys (sys.h), where tests inject failures.
 */
#ifndef PERFTAP_WRITER_H
#define PERFTAP_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "perftap/dump_format.h"

struct pt_writer_config {
	const char *dir;       /* existing directory, 0700 and ours (checked) */
	const char *name_hint; /* file name stem, e.g. the exe's basename */
	uint64_t max_size;     /* 0 = PT_MAX_SIZE_DEFAULT */
	uint32_t chunk_size;   /* 0 = PT_CHUNK_SIZE_DEFAULT */
	enum pt_limit_mode mode; /* 0 = PT_MODE_WRAP */
	uint32_t flags;		 /* PT_HDR_* */
	const char *exe;	 /* may be NULL */
	int argc;
	char *const *argv;    /* may be NULL */
	const char *settings; /* "KEY=value\n" lines; may be NULL */
};

/* Interning table for one chunk: slot -> (hash, id, offset of the string
 * record in the chunk).  Sized so that the common case (a few dozen routes,
 * fingerprints and patterns per thread) never evicts. */
#define PT_INTERN_SLOTS 256

struct pt_intern_slot {
	uint32_t hash;
	uint32_t id;	 /* 0 = empty */
	uint32_t offset; /* of the pt_string_record within the chunk */
};

/* Interned stacks of one chunk (I7): slot -> (hash of the raw frames, id,
 * offset of the stack record).  A few dozen call sites per thread. */
#define PT_STACK_SLOTS 64

struct pt_stack_slot {
	uint64_t hash;
	uint32_t id; /* 0 = empty */
	uint32_t offset;
};

struct pt_writer_cursor {
	uint8_t *chunk;	   /* NULL until the first record */
	uint64_t seq;	   /* this chunk's ticket */
	uint32_t offset;   /* next free byte in the chunk */
	uint32_t next_id;  /* next string id in this chunk */
	uint32_t interned; /* live slots in `intern` */
	uint32_t tid;
	uint32_t nesting;	    /* > 0 while a record is being written */
	uint64_t writer_generation; /* detects a reopen (fork) */
	struct pt_intern_slot intern[PT_INTERN_SLOTS];
	uint32_t next_stack_id; /* next stack id in this chunk */
	uint32_t stacks;	/* live slots in `stack` */
	uint64_t modules_gen;	/* module list written in this chunk; 0 none */
	struct pt_stack_slot stack[PT_STACK_SLOTS];
};

struct pt_writer {
	int fd;
	uint8_t *map; /* whole max_size mapping */
	struct pt_file_header *hdr;
	uint64_t map_size;
	uint32_t header_size;
	uint32_t chunk_size;
	uint32_t chunk_slots;
	enum pt_limit_mode mode;
	uint64_t generation; /* bumped by every open */
	char path[4096];
};

/* What the shim hands the writer for one event; text is not NUL-terminated
 * and is copied (interned) before the call returns. */
struct pt_event {
	uint8_t kind;	 /* enum pt_event_kind */
	uint8_t outcome; /* enum pt_outcome */
	uint64_t start_ns;
	uint64_t duration_ns;
	uint32_t conn_id;
	int32_t status;
	uint64_t rows; /* clamped to the record's field */
	uint64_t bytes_out;
	uint64_t bytes_in;
	uint32_t cache_hits;
	uint32_t cache_misses;
	uint32_t flags; /* PT_EV_* */
	const char *text;
	size_t text_len;
	/* v2 fields; zero = none (see struct pt_event_record) */
	uint64_t request_id;
	uint32_t stack_id;
	uint16_t server_status;
	uint16_t warnings;
	uint32_t scan_steps, vm_steps;
	uint32_t sorts, auto_indexes; /* clamped to 16 bits */
	uint8_t attr;		      /* enum pt_attribution */
	uint64_t task_key;
	uint32_t head_us;
};

/* Longest frame texts a stack record names (longer ones are cut). */
#define PT_FRAME_FUNC_MAX 128
#define PT_FRAME_FILE_MAX 256

/* One Python frame's identity as text, filled by pt_stack.resolve. */
struct pt_frame_text {
	const char *func, *file;
	uint32_t func_len, file_len;
	uint32_t line;
};

/* One mapped module (executable or shared object). */
struct pt_module_info {
	const char *path;
	uint32_t path_len;
	uint16_t build_id_len;
	uint8_t build_id[20];
	uint64_t base, lo, hi;
};

/*
 * A call stack to attach to an event.  `hash` covers the raw identities
 * (native return addresses, Python code object + instruction offset); the
 * writer reuses a stack already interned in the chunk when the hash, the
 * frame counts and the native addresses match, and otherwise calls
 * resolve(arg, i, out) for each Python frame i (innermost first), once.
 * Note: Python frames are matched by the 64-bit hash only.
 * When n_native > 0, the modules (n_modules of them, generation
 * modules_gen != 0) are written first once per chunk and generation.
 */
struct pt_stack {
	uint64_t hash;
	const uint64_t *native;
	uint32_t n_native; /* <= PT_STACK_MAX_NATIVE */
	uint32_t n_python; /* <= PT_STACK_MAX_PYTHON */
	uint16_t flags;	   /* PT_STACK_* */
	int (*resolve)(void *arg, uint32_t i, struct pt_frame_text *out);
	void *arg;
	const struct pt_module_info *modules;
	uint32_t n_modules;
	uint64_t modules_gen;
};

struct pt_conn_info {
	uint8_t event; /* PT_CONN_OPEN / PT_CONN_CLOSE */
	uint8_t role;
	uint8_t proto;
	uint8_t family;
	uint16_t port;
	uint8_t addr[16];
	uint32_t conn_id;
	uint32_t server_conn_id;
	uint64_t time_ns;
	uint64_t events;
	uint64_t undecoded_bytes;
	uint64_t connect_ns; /* v2: connect to writable; 0 = unknown */
	uint64_t auth_ns;    /* v2: MySQL handshake time; 0 = unknown */
	uint32_t conn_flags; /* v2: PT_CONNF_* */
	const char *text;    /* server version or socket path; may be NULL */
	size_t text_len;
};

/* Make sure dir is fit to hold dumps: create it (mode 0700, one level, no
 * recursion) when missing, then check it is a directory, not a symlink,
 * owned by geteuid() and closed to group and others.  Returns 0, -ENOTDIR
 * or -EACCES (unfit), or another -errno. */
int pt_writer_prepare_dir(const char *dir);

/* Create a new dump file in cfg->dir (0600, O_EXCL|O_NOFOLLOW|O_CLOEXEC,
 * never overwriting: a collision picks the next free name) and map it. */
int pt_writer_open(struct pt_writer *w, const struct pt_writer_config *cfg);

/* Append one event; tid is the caller's thread id.  Returns 0, or -errno
 * when the event was dropped (the drop is already counted in the file). */
int pt_writer_emit_event(struct pt_writer *w, struct pt_writer_cursor *c,
			 const struct pt_event *ev);

/* The same with a call stack (NULL = none); a stack that cannot fit in a
 * chunk is left out, the event is still written. */
int pt_writer_emit_event_stack(struct pt_writer *w, struct pt_writer_cursor *c,
			       const struct pt_event *ev,
			       const struct pt_stack *st);

int pt_writer_emit_conn(struct pt_writer *w, struct pt_writer_cursor *c,
			const struct pt_conn_info *ci);

/* Append a resource sample (its commit and type are set here). */
int pt_writer_emit_sample(struct pt_writer *w, struct pt_writer_cursor *c,
			  const struct pt_sample_record *s);
/* Count a drop or a connection-level counter in the file header. */
void pt_writer_count_drop(struct pt_writer *w, enum pt_drop_cause cause);
void pt_writer_count(struct pt_writer *w, enum pt_counter counter);

/* Prepare a cursor for thread tid (zeroes it). */
void pt_writer_cursor_init(struct pt_writer_cursor *c, uint32_t tid);

/* The thread is done with its chunk (thread exit): close it so wrap mode
 * may reuse it. */
void pt_writer_cursor_release(struct pt_writer *w, struct pt_writer_cursor *c);

/* Unmap and close.  Committed records stay in the file. */
void pt_writer_close(struct pt_writer *w);

/* In a forked child: forget the parent's mapping without touching the
 * parent's file (unmap only), so that a new pt_writer_open() can start the
 * child's own dump.  Cursors notice through writer_generation. */
void pt_writer_forget_after_fork(struct pt_writer *w);

#endif /* PERFTAP_WRITER_H */
