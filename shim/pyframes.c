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
 * one copy of a window of it replaces a system call per frame.  8 KiB
 * holds about 60 typical frames and is a modest use of the host's stack. */
#define WALK_WINDOW 8192

/* A copy's cost is per page touched, not per byte (about 330 ns plus
 * 110 ns a page here): the guessed window spans the pages the last walk
 * touched, whole, which leaves free room for a call a little deeper than
 * the last or a frame a little older, and no more. */
#define WALK_PAGE 4096

/* Frames outside the window live elsewhere: a coroutine's or a
 * generator's frame is part of its object, and an await chain's objects
 * sit close together (pymalloc pools), a frame of an older chunk next to
 * its neighbours.  So such frames are copied a page at a time, at most
 * this many pages a walk, and the pages the last walk used are copied
 * with the guess. */
#define WALK_PAGES     4
#define FRAME_COPY_MAX (80 + PYFRAMES_LOCALS_MAX * sizeof(uintptr_t))

struct walk_window {
	uintptr_t lo, hi; /* [lo, hi) copied into buf */
	uintptr_t base;	  /* first frame byte of the current chunk */
	uintptr_t low;	  /* lowest frame this walk took from buf */
	int refilled;	  /* the window was widened once already */
	/* Pages copied for frames outside [lo, hi): page[i] in page_buf[i],
	 * used[i] when a frame of this walk was read there. */
	int n_pages;
	uintptr_t page[WALK_PAGES];
	uint8_t used[WALK_PAGES];
	uint8_t page_buf[WALK_PAGES][WALK_PAGE];
	uint8_t buf[WALK_WINDOW];
};

/*
 * Where the last walk on this thread found things.  A hot call site is
 * reached through the same C frames each time, so the thread's current
 * _PyCFrame sits at the same C stack address and its data stack has the
 * same top: the next walk can copy the thread state, the current frame
 * pointer and the frames it needs in one system call instead of two.
 * A copy costs about 100 ns per page it touches on top of 300 ns, so the
 * guessed window spans only what the last walk used.  A guess is used
 * only where the thread state, copied in that same call, confirms it;
 * the copy is consistent because all three ranges belong to this thread,
 * which runs no Python code while it is in the shim.
 */
struct walk_guess {
	uintptr_t ts, cframe; /* thread state and _PyCFrame last seen */
	uintptr_t lo, hi;     /* the window to copy: [lo, hi) */
	int n_pages;
	uintptr_t page[WALK_PAGES]; /* pages of frames outside it */
	uint64_t hits;		    /* walks that took one system call */
};

static __thread struct walk_guess walk_guess
    __attribute__((tls_model("initial-exec")));

struct walk_ts {
	uintptr_t cframe, chunk, top;
};

static void walk_ts_parse(const struct pyrt_offsets *o, const uint8_t *t,
			  struct walk_ts *w)
{
	memcpy(&w->cframe, t, sizeof(w->cframe));
	memcpy(&w->chunk, t + (o->ts_datastack_chunk - o->ts_cframe),
	       sizeof(w->chunk));
	memcpy(&w->top, t + (o->ts_datastack_top - o->ts_cframe),
	       sizeof(w->top));
}

/* The first frame byte of the thread's current chunk, or 0 when the
 * thread state names no usable chunk. */
static uintptr_t chunk_base(const struct pyrt_offsets *o,
			    const struct walk_ts *w)
{
	uintptr_t base = w->chunk + o->chunk_data;
	if (!w->chunk || w->top < base || w->top - base > (1u << 30))
		return 0;
	return base;
}

/* One system call, on a guess the thread state confirms.  Returns 1 with
 * *frame and the window set, 0 with t filled when only the thread state
 * is usable (the caller goes on from it), -1 when not even that arrived. */
static int walk_start_guessed(const struct pyrt_offsets *o, uintptr_t ts,
			      uint8_t *t, struct walk_window *win,
			      uintptr_t *frame)
{
	const struct walk_guess g = walk_guess;
	/* A signal handler's walk on this thread may have rewritten the
	 * guess halfway through this thread's update of it: never copy more
	 * than the buffers hold. */
	if (g.hi <= g.lo || g.hi - g.lo > WALK_WINDOW || g.n_pages < 0 ||
	    g.n_pages > WALK_PAGES)
		return pyrt_read(t, ts + o->ts_cframe, WALK_TS_SPAN) ? -1 : 0;
	struct pyrt_span spans[3 + WALK_PAGES] = {
	    {t, ts + o->ts_cframe, WALK_TS_SPAN},
	    {frame, g.cframe + o->cframe_current_frame, sizeof(*frame)},
	    {win->buf, g.lo, g.hi - g.lo},
	};
	for (int i = 0; i < g.n_pages; i++)
		spans[3 + i] =
		    (struct pyrt_span){win->page_buf[i], g.page[i], WALK_PAGE};
	int whole = pyrt_readv(spans, 3 + g.n_pages);
	if (whole < 1) {
		pyrt_count_fault(); /* the thread state itself */
		return -1;
	}
	struct walk_ts w;
	walk_ts_parse(o, t, &w);
	uintptr_t base = chunk_base(o, &w);
	if (whole < 3 || w.cframe != g.cframe || !base || g.lo < base ||
	    w.top < g.lo || w.top > g.hi)
		return 0;
	win->lo = g.lo;
	win->hi = w.top;
	win->base = base;
	walk_guess.hits++;
	/* Each arrived page is what is there now; the walk uses one only
	 * if the frame chain leads there. */
	win->n_pages = whole - 3;
	memcpy(win->page, g.page, sizeof(win->page));
	return 1;
}

/* The thread state's cframe and data stack fields, then the current frame
 * pointer and the newest frames of the data stack: one system call when
 * the last walk's guess holds, two otherwise, whatever the depth.  Returns
 * the current frame, or 0. */
static uintptr_t walk_start(const struct pyrt_offsets *o, uintptr_t ts,
			    struct walk_window *win, int *fault)
{
	uint8_t t[WALK_TS_SPAN];
	uintptr_t frame = 0;
	struct walk_ts w;

	win->lo = win->hi = win->base = win->low = 0;
	win->refilled = win->n_pages = 0;
	memset(win->used, 0, sizeof(win->used));
	int rc = walk_guess.ts == ts && walk_guess.cframe
		     ? walk_start_guessed(o, ts, t, win, &frame)
		     : (pyrt_read(t, ts + o->ts_cframe, sizeof(t)) ? -1 : 0);
	if (rc == 1)
		return frame;
	walk_guess.ts = 0;
	if (rc < 0) { /* counted where it failed */
		*fault = 1;
		return 0;
	}
	walk_ts_parse(o, t, &w);
	if (!w.cframe)
		return 0;
	uintptr_t base = chunk_base(o, &w), lo = base;
	if (base && w.top - base > WALK_WINDOW)
		lo = w.top - WALK_WINDOW;
	size_t span = base ? w.top - lo : 0;
	struct pyrt_span spans[2] = {
	    {&frame, w.cframe + o->cframe_current_frame, sizeof(frame)},
	    {win->buf, lo, span},
	};
	int want = span ? 2 : 1, whole = pyrt_readv(spans, want);
	if (whole < want)
		pyrt_count_fault();
	if (whole < 1) {
		*fault = 1;
		return 0;
	}
	if (whole == 2) {
		win->lo = lo;
		win->hi = w.top;
		win->base = base;
		win->refilled = 1; /* already as wide as it gets */
	}
	walk_guess.ts = ts;
	walk_guess.cframe = w.cframe;
	walk_guess.lo = 0;
	walk_guess.hi = w.top;
	walk_guess.n_pages = 0;
	return frame;
}

/* After the walk: the next guess spans the pages of the frames this one
 * used, capped at the window and at the chunk's first frame. */
static void walk_guess_finish(const struct walk_window *win)
{
	if (!walk_guess.ts || !win->low || !win->hi) {
		walk_guess.ts = 0;
		return;
	}
	uintptr_t hi = (win->hi + WALK_PAGE - 1) & ~(uintptr_t)(WALK_PAGE - 1);
	uintptr_t lo = win->low & ~(uintptr_t)(WALK_PAGE - 1);
	if (hi - lo > WALK_WINDOW)
		lo = hi - WALK_WINDOW;
	if (lo < win->base)
		lo = win->base;
	walk_guess.lo = lo;
	walk_guess.hi = hi;
	int k = 0;
	for (int i = 0; i < win->n_pages; i++)
		if (win->used[i])
			walk_guess.page[k++] = win->page[i];
	walk_guess.n_pages = k;
}

static int in_window(const struct walk_window *win, uintptr_t frame, size_t len)
{
	return frame >= win->lo && frame + len <= win->hi &&
	       frame + len > frame;
}

/* The len bytes of the frame at address frame: a pointer into the window
 * or a copy taken with the guess when they hold it (no copy made), else
 * into spare after a read of its own.  NULL when unreadable. */
static const uint8_t *frame_at(struct walk_window *win, uintptr_t frame,
			       size_t len, uint8_t *spare)
{
	/* A frame of this chunk below a narrow guessed window: widen the
	 * window to the whole WALK_WINDOW once, rather than a system call
	 * for each older frame. */
	if (!in_window(win, frame, len) && !win->refilled && win->base &&
	    frame >= win->base && frame < win->lo) {
		uintptr_t lo = win->hi - win->base > WALK_WINDOW
				   ? win->hi - WALK_WINDOW
				   : win->base;
		win->refilled = 1;
		if (pyrt_read(win->buf, lo, win->hi - lo) == 0)
			win->lo = lo;
		else
			win->lo = win->hi = 0;
	}
	if (in_window(win, frame, len)) {
		if (!win->low || frame < win->low)
			win->low = frame;
		return win->buf + (frame - win->lo);
	}
	/* A coroutine's frame, or one in an older chunk: from a page copy
	 * (one is made if there is room), unless it straddles two pages. */
	uintptr_t pg = frame & ~(uintptr_t)(WALK_PAGE - 1);
	if (frame + len > frame && frame + len <= pg + WALK_PAGE) {
		int i = 0;
		while (i < win->n_pages && win->page[i] != pg)
			i++;
		if (i == win->n_pages && i < WALK_PAGES &&
		    pyrt_read(win->page_buf[i], pg, WALK_PAGE) == 0)
			win->page[win->n_pages++] = pg;
		if (i < win->n_pages) {
			win->used[i] = 1;
			return win->page_buf[i] + (frame - pg);
		}
	}
	return pyrt_read(spare, frame, len) ? NULL : spare;
}

uint64_t pyframes_guess_hits(void)
{
	return walk_guess.hits;
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
	/* With locals: that many words past the specials as well. */
	if (!locals || nlocals < 0 || nlocals > PYFRAMES_LOCALS_MAX)
		nlocals = 0;
	size_t len = o->if_size + (size_t)nlocals * sizeof(uintptr_t);
	while (frame && n < max) {
		uint8_t spare[FRAME_COPY_MAX];
		uintptr_t code, prev, instr;
		const uint8_t *f = frame_at(&win, frame, len, spare);
		if (!f) {
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
		out[n].gen = f[o->if_owner] == PYRT_FRAME_OWNED_BY_GENERATOR;
		if (nlocals) /* localsplus[] follows the specials (if_size) */
			memcpy(&locals[n * nlocals], f + o->if_size,
			       (size_t)nlocals * sizeof(*locals));
		n++;
		frame = prev;
	}
	walk_guess_finish(&win);
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
