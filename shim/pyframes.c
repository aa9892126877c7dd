/*
 * pyframes.c -- CPython frames of the calling thread (see pyframes.h).
 *
 * Sections:
 *   1. the walk (thread state -> _PyCFrame -> _PyInterpreterFrame chain)
 *   2. the code cache
 *   3. resolve
 *
 * Every load of interpreter memory goes through pyrt_read (fault-safe).
 * Identity of a frame is (code address, instruction offset).  A code
 * object freed and another allocated at the same address is caught in
 * resolve: the cache entry also keys on the qualname, filename and line
 * table pointers read from the object now, and the type is checked.
 */
#include "pyframes.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "pyrt.h"

/* ---- 1. the walk ------------------------------------------------------- */

/* PyThreadState bytes from cframe to the end of datastack_top. */
#define WALK_TS_SPAN 256

/* The newest frames of a thread live at the top of its data stack chunk:
 * one copy of that window replaces a system call per frame.  8 KiB holds
 * about 60 typical frames and is a modest use of the host's stack. */
#define WALK_WINDOW 8192

struct walk_window {
	uintptr_t lo, hi; /* [lo, hi) copied into buf */
	uint8_t buf[WALK_WINDOW];
};

/* Read the thread state's cframe and data stack fields in one copy, then
 * the current frame pointer and the top of the data stack together in a
 * second: two system calls per walk, whatever its depth (a copy costs
 * 1-2 us on a loaded two-core machine; every other step of the walk is a
 * few ns).  Returns the current frame, or 0. */
static uintptr_t walk_start(const struct pyrt_offsets *o, uintptr_t ts,
			    struct walk_window *win, int *fault)
{
	uint8_t t[WALK_TS_SPAN];
	uintptr_t cframe, frame, chunk, top;

	win->lo = win->hi = 0;
	if (pyrt_read(t, ts + o->ts_cframe, sizeof(t))) {
		*fault = 1;
		return 0;
	}
	memcpy(&cframe, t, sizeof(cframe));
	memcpy(&chunk, t + (o->ts_datastack_chunk - o->ts_cframe),
	       sizeof(chunk));
	memcpy(&top, t + (o->ts_datastack_top - o->ts_cframe), sizeof(top));
	if (!cframe)
		return 0;
	uintptr_t lo = chunk + o->chunk_data;
	size_t span = 0;
	if (chunk && top > lo && top - lo <= (1u << 30)) {
		if (top - lo > WALK_WINDOW)
			lo = top - WALK_WINDOW;
		span = top - lo;
	}
	int rc = pyrt_read2(&frame, cframe + o->cframe_current_frame,
			    sizeof(frame), win->buf, lo, span);
	if (rc < 0) {
		*fault = 1;
		return 0;
	}
	if (rc == 0 && span) {
		win->lo = lo;
		win->hi = top;
	}
	return frame;
}

static int frame_read(const struct walk_window *win, uintptr_t frame,
		      uint8_t *f, size_t len)
{
	if (frame >= win->lo && frame + len <= win->hi && frame + len > frame) {
		memcpy(f, win->buf + (frame - win->lo), len);
		return 0;
	}
	return pyrt_read(f, frame, len); /* generator, older chunk */
}

int pyframes_walk(struct pyframe_raw *out, int max, int *fault)
{
	return pyframes_walk_locals(out, NULL, 0, max, fault);
}

int pyframes_walk_locals(struct pyframe_raw *out, uintptr_t *locals,
			 int nlocals, int max, int *fault)
{
	const struct pyrt_offsets *o = pyrt_offsets();
	struct walk_window win;
	uintptr_t ts, frame;
	int n = 0;

	*fault = 0;
	if (!o || !(ts = pyrt_thread_state()))
		return 0;
	frame = walk_start(o, ts, &win, fault);
	while (frame && n < max) {
		uint8_t f[80 + PYFRAMES_LOCALS_MAX * sizeof(uintptr_t)];
		uintptr_t code, prev, instr;
		/* With locals: that many words past the specials as well. */
		if (!locals || nlocals < 0 || nlocals > PYFRAMES_LOCALS_MAX)
			nlocals = 0;
		size_t len = o->if_size + (size_t)nlocals * sizeof(uintptr_t);
		if (frame_read(&win, frame, f, len)) {
			*fault = 1;
			break;
		}
		memcpy(&code, f + o->if_code, sizeof(code));
		memcpy(&prev, f + o->if_previous, sizeof(prev));
		memcpy(&instr, f + o->if_prev_instr, sizeof(instr));
		if (!code) {
			*fault = 1;
			break;
		}
		intptr_t addr = (intptr_t)(instr - (code + o->code_code));
		/* A new frame's prev_instr may sit before the first unit. */
		if (addr < -2 || addr > (1 << 30))
			addr = -2;
		out[n].code = code;
		out[n].addr = (int32_t)addr;
		if (nlocals) /* localsplus[] follows the specials (if_size) */
			memcpy(&locals[n * nlocals], f + o->if_size,
			       (size_t)nlocals * sizeof(*locals));
		n++;
		frame = prev;
	}
	return n;
}

/* ---- 2. the code cache ------------------------------------------------- */

/* Process-wide, so that every thread shares what one has read.  Each
 * entry has a try-lock: a thread (or a signal handler) that finds it held
 * reads the object itself instead of waiting. */
#define CODE_CACHE_SLOTS 512  /* distinct hot code objects; a power of 2 */
#define CODE_CACHE_LINES 4    /* call sites remembered per code object */
#define LINETABLE_MAX	 8192 /* longer tables: the first line only */

struct code_entry {
	atomic_flag busy;
	uintptr_t code, qual_ptr, file_ptr, table_ptr;
	int32_t firstlineno;
	uint8_t next_line;
	int32_t line_addr[CODE_CACHE_LINES], line[CODE_CACHE_LINES];
	struct pyframe_text text;
};

static struct code_entry code_cache[CODE_CACHE_SLOTS];

/* The fields of a code object resolve needs, read in one copy. */
struct code_view {
	uintptr_t qual, file, table;
	int32_t firstlineno;
};

static int code_view_read(uintptr_t code, struct code_view *v)
{
	const struct pyrt_offsets *o = pyrt_offsets();
	uint8_t buf[160];
	uintptr_t type;
	size_t len = o->code_linetable + sizeof(uintptr_t);

	if (pyrt_read(buf, code, len))
		return -EFAULT;
	memcpy(&type, buf + o->ob_type, sizeof(type));
	if (type != pyrt_types()->code)
		return -EINVAL;
	memcpy(&v->qual, buf + o->code_qualname, sizeof(v->qual));
	memcpy(&v->file, buf + o->code_filename, sizeof(v->file));
	memcpy(&v->table, buf + o->code_linetable, sizeof(v->table));
	memcpy(&v->firstlineno, buf + o->code_firstlineno,
	       sizeof(v->firstlineno));
	return 0;
}

static int line_read(const struct code_view *v, int32_t addr)
{
	const struct pyrt_offsets *o = pyrt_offsets();
	uint8_t head[40], table[LINETABLE_MAX];
	uintptr_t type;
	int64_t size;

	if (pyrt_read(head, v->table, o->bytes_sval))
		return -1;
	memcpy(&type, head + o->ob_type, sizeof(type));
	memcpy(&size, head + o->ob_size, sizeof(size));
	if (type != pyrt_types()->bytes || size < 0)
		return -1;
	if (size > LINETABLE_MAX)
		size = LINETABLE_MAX; /* the walk stops at the cut: -1 */
	if (pyrt_read(table, v->table + o->bytes_sval, (size_t)size))
		return -1;
	return pyrt_linetable_line(table, (size_t)size, v->firstlineno, addr);
}

static int text_read(const struct code_view *v, struct pyframe_text *t)
{
	int q = pyrt_read_str(v->qual, t->qual, sizeof(t->qual));
	int f = pyrt_read_str(v->file, t->file, sizeof(t->file));
	if (q < 0 || f < 0)
		return q < 0 ? q : f;
	t->qual_len = (uint16_t)q;
	t->file_len = (uint16_t)f;
	return 0;
}

static struct code_entry *cache_slot(uintptr_t code)
{
	uint64_t h = (uint64_t)code * 0x9e3779b97f4a7c15ull;
	return &code_cache[(h >> 40) & (CODE_CACHE_SLOTS - 1)];
}

static int entry_matches(const struct code_entry *e, uintptr_t code,
			 const struct code_view *v)
{
	return e->code == code && e->qual_ptr == v->qual &&
	       e->file_ptr == v->file && e->table_ptr == v->table &&
	       e->firstlineno == v->firstlineno;
}

/* ---- 3. resolve -------------------------------------------------------- */

/* Fill out from a held entry if it is for this object; 1 on a hit. */
static int cache_lookup(struct code_entry *e, const struct pyframe_raw *f,
			const struct code_view *v, struct pyframe_text *out)
{
	if (!entry_matches(e, f->code, v))
		return 0;
	memcpy(out, &e->text, sizeof(*out));
	for (int i = 0; i < CODE_CACHE_LINES; i++)
		if (e->line[i] && e->line_addr[i] == f->addr) {
			out->line = e->line[i];
			return 1;
		}
	out->line = line_read(v, f->addr);
	e->line_addr[e->next_line] = f->addr;
	e->line[e->next_line] = out->line;
	e->next_line = (uint8_t)((e->next_line + 1) % CODE_CACHE_LINES);
	return 1;
}

static void cache_store(struct code_entry *e, const struct pyframe_raw *f,
			const struct code_view *v, const struct pyframe_text *t)
{
	e->code = f->code;
	e->qual_ptr = v->qual;
	e->file_ptr = v->file;
	e->table_ptr = v->table;
	e->firstlineno = v->firstlineno;
	memcpy(&e->text, t, sizeof(*t));
	memset(e->line, 0, sizeof(e->line));
	e->line_addr[0] = f->addr;
	e->line[0] = t->line;
	e->next_line = 1;
}

int pyframes_resolve(const struct pyframe_raw *f, struct pyframe_text *out)
{
	struct code_view v;
	int rc;

	if (!pyrt_offsets())
		return -EINVAL;
	if ((rc = code_view_read(f->code, &v)) < 0)
		return rc;
	struct code_entry *e = cache_slot(f->code);
	/* Acquire/release through the flag: entry fields are written only
	 * while it is held. */
	int held =
	    !atomic_flag_test_and_set_explicit(&e->busy, memory_order_acquire);
	if (held && cache_lookup(e, f, &v, out)) {
		atomic_flag_clear_explicit(&e->busy, memory_order_release);
		return 0;
	}
	rc = text_read(&v, out);
	if (rc == 0) {
		out->line = line_read(&v, f->addr);
		if (held)
			cache_store(e, f, &v, out);
	}
	if (held)
		atomic_flag_clear_explicit(&e->busy, memory_order_release);
	return rc;
}
