/*
 * task.c -- asyncio context keys (task.h).
 */
#include <dlfcn.h>
#include <string.h>

#include "pyframes.h"
#include "pyrt.h"
#include "task.h"

#define COROUTINE_DEPTH 16 /* frames looked at for a coroutine */

static int enabled; /* written once, before any thread */

static int rd(uintptr_t addr, uintptr_t *out);
static struct handoff_types {
	uintptr_t cfunc, context;
} handoff_types;

void task_enable(int on)
{
	enabled = on && pyrt_available();
	if (enabled) { /* dlsym: here in the constructor, never in a hook */
		handoff_types.cfunc =
		    (uintptr_t)dlsym(RTLD_DEFAULT, "PyCFunction_Type");
		handoff_types.context =
		    (uintptr_t)dlsym(RTLD_DEFAULT, "PyContext_Type");
	}
}

int task_enabled(void)
{
	return enabled;
}

uint64_t task_key_now(void)
{
	if (!enabled)
		return 0;
	/* Only an entered context (Context.run: a task's step, a handle, a
	 * job's ctx.run) is a key.  A thread's default context is current
	 * without being entered, and code that runs in it directly (uvloop's
	 * protocol callbacks, plain threads) belongs to no one task. */
	uintptr_t ctx = pyrt_context();
	uint8_t entered = 0;
	if (!ctx ||
	    pyrt_read(&entered, ctx + pyrt_offsets()->ctx_entered,
		      sizeof(entered)) ||
	    !entered)
		return 0;
	return ctx;
}

/* Is a coroutine executing on thread state ts (a frame owned by a
 * generator among the innermost few)?  Then the thread is inside a task's step,
 * and the entered context is the task's own. */
static int in_coroutine(uintptr_t ts)
{
	const struct pyrt_offsets *o = pyrt_offsets();
	uintptr_t cframe = 0, frame = 0;
	if (!ts || rd(ts + o->ts_cframe, &cframe) ||
	    rd(cframe + o->cframe_current_frame, &frame))
		return 0;
	for (int i = 0; frame && i < COROUTINE_DEPTH; i++) {
		uint8_t f[32];
		size_t len = (size_t)(o->if_owner - o->if_previous) + 1;
		if (len > sizeof(f) ||
		    pyrt_read(f, frame + o->if_previous, len))
			return 0;
		if (f[len - 1] == PYRT_FRAME_OWNED_BY_GENERATOR)
			return 1;
		memcpy(&frame, f, sizeof(frame));
	}
	return 0;
}

int task_in_coroutine(void)
{
	return enabled && in_coroutine(pyrt_thread_state());
}

uint64_t task_response_key(void)
{
	/* uvloop flushes every response from one long-lived handle, in one
	 * context shared by all requests, with no coroutine running: such
	 * a key would name no one request, so it is refused. */
	if (!enabled || !in_coroutine(pyrt_thread_state()))
		return 0;
	return task_key_now();
}

int task_note_send(struct pt_task_sends *s, uint64_t t, uint64_t key)
{
	uint32_t last = (s->at + PT_TASK_SENDS - 1) % PT_TASK_SENDS;
	if (s->t[last] == t) {
		/* One feed time, one op start: the same send. */
		s->key[last] = key;
		return -1;
	}
	int slot = (int)s->at;
	s->t[slot] = t;
	s->key[slot] = key;
	s->has_stack[slot] = 0;
	s->at = (s->at + 1) % PT_TASK_SENDS;
	return slot;
}

int task_send_slot(const struct pt_task_sends *s, uint64_t start_ns)
{
	if (!start_ns)
		return -1;
	for (int i = 0; i < PT_TASK_SENDS; i++)
		if (s->t[i] == start_ns)
			return i;
	return -1;
}

uint64_t task_key_at(const struct pt_task_sends *s, uint64_t start_ns)
{
	int i = task_send_slot(s, start_ns);
	return i < 0 ? 0 : s->key[i];
}

/* ---- handoff: a thread-pool job's requesting task ----
 *
 * asyncio.to_thread and loop.run_in_executor run a job on a
 * ThreadPoolExecutor worker, whose stack then holds _WorkItem.run.  From
 * that frame's `self` (the work item) the requesting task is reached by
 * the objects that will carry the job's result back to it:
 *
 *   work item .future          concurrent.futures.Future (F_c)
 *   F_c._done_callbacks[i]     _chain_future's _call_set_state closure
 *   its closure cell           the asyncio Future the task awaits (F_a)
 *   F_a's callbacks            (task wakeup, task's context) pairs
 *
 * and the task's context is the key its response is written with.  Every
 * read goes through pyrt_read, every object's type is checked against the
 * interpreter's own type objects (found by name once, through a checked
 * instance), so a stale pointer costs the key, never the host.  Layouts:
 * CPython 3.11 (Objects/dictobject.c's split tables, _asynciomodule.c's
 * FutureObj), checked by the test that runs it.
 */

/* 3.11, LP64 (values printed from the 3.11 headers). */
#define TP_NAME		    24
#define TP_FLAGS	    168
#define HT_CACHED_KEYS	    872
#define TPF_MANAGED_DICT    (1ul << 4)
#define OBJ_VALUES	    (-32) /* _PyObject_ValuesPointer: ((void **)obj)[-4] */
#define DK_LOG2_INDEX_BYTES 9
#define DK_KIND		    10
#define DK_NENTRIES	    24
#define DK_INDICES	    32
#define DK_SPLIT	    2
#define SEQ_SIZE	    16 /* PyListObject / PyTupleObject ob_size */
#define LIST_ITEMS	    24
#define TUPLE_ITEMS	    24
#define CELL_REF	    16
#define FUNC_QUALNAME	    40
#define FUNC_CODE	    48
#define FUNC_CLOSURE	    72
#define CFUNC_SELF	    24
#define LONG_DIGITS	    24 /* PyLongObject ob_digit: 30-bit digits */
#define TS_NEXT		    8
#define INTERP_THREADS_HEAD 16
#define THREADS_MAX	    256 /* thread states looked at */
#define PARTIAL_FN	    16 /* partialobject.fn (Modules/_functoolsmodule.c) */
#define FUT_LOOP	    16
#define FUT_CALLBACK0	    24
#define FUT_CONTEXT0	    32
#define FUT_CALLBACKS	    40

#define SCAN_MAX 16 /* list, tuple and key-table entries looked at */

enum { ATTR_FUTURE, ATTR_FN, ATTR_CALLBACKS, ATTR_TID, ATTR_COUNT };
static const char *const attr_name[] = {"future", "fn", "_done_callbacks",
					"_thread_id"};

/* Process-wide facts found once (races are benign: every writer stores
 * the same value). */
static struct {
	uintptr_t future_type, task_type; /* _asyncio.Future / Task */
	uintptr_t partial_type;		  /* functools.partial */
	uintptr_t workitem_code, setstate_code;
	uintptr_t attr_type[ATTR_COUNT];
	int32_t attr_index[ATTR_COUNT];
} ho;

/* Per thread: is this a pool worker (its ops ran inside _WorkItem.run)? */
enum { HO_UNKNOWN, HO_WORKER, HO_OTHER };
static __thread uint8_t ho_thread __attribute__((tls_model("initial-exec")));

static int rd(uintptr_t addr, uintptr_t *out)
{
	return addr ? pyrt_read_ptr(addr, out) : -1;
}

static uintptr_t type_of(uintptr_t obj)
{
	uintptr_t t = 0;
	return rd(obj + 8, &t) ? 0 : t;
}

static int str_is(uintptr_t str, const char *want)
{
	char buf[64];
	int n = pyrt_read_str(str, buf, sizeof(buf));
	return n >= 0 && !strcmp(buf, want);
}

/* Is t the type named name?  Remembered in *slot once it is. */
static int type_named(uintptr_t t, uintptr_t *slot, const char *name)
{
	if (!t)
		return 0;
	if (*slot)
		return t == *slot;
	uintptr_t np = 0;
	char buf[32];
	if (rd(t + TP_NAME, &np) || pyrt_read(buf, np, sizeof(buf)))
		return 0;
	buf[sizeof(buf) - 1] = '\0';
	if (strcmp(buf, name))
		return 0;
	*slot = t;
	return 1;
}

/* An instance attribute kept in its type's split table (3.11's managed
 * dict, values inline); 0 when not there (a materialized dict included). */
static uintptr_t attr_of(uintptr_t obj, int which)
{
	uintptr_t t = type_of(obj), flags = 0, values = 0, keys = 0;
	if (!t || rd(t + TP_FLAGS, &flags) || !(flags & TPF_MANAGED_DICT) ||
	    rd(obj + OBJ_VALUES, &values) || !values)
		return 0;
	int32_t idx = -1;
	if (ho.attr_type[which] == t) {
		idx = ho.attr_index[which];
	} else {
		uint8_t hdr[DK_INDICES];
		if (rd(t + HT_CACHED_KEYS, &keys) ||
		    pyrt_read(hdr, keys, sizeof(hdr)) ||
		    hdr[DK_KIND] != DK_SPLIT)
			return 0;
		int64_t n;
		memcpy(&n, hdr + DK_NENTRIES, sizeof(n));
		uintptr_t ent =
		    keys + DK_INDICES +
		    ((uintptr_t)1 << (hdr[DK_LOG2_INDEX_BYTES] & 31));
		for (int64_t i = 0; i < n && i < SCAN_MAX; i++) {
			uintptr_t k = 0;
			if (!rd(ent + 16 * (uintptr_t)i, &k) &&
			    str_is(k, attr_name[which])) {
				idx = (int32_t)i;
				break;
			}
		}
		if (idx < 0)
			return 0;
		ho.attr_index[which] = idx;
		ho.attr_type[which] = t;
	}
	uintptr_t v = 0;
	return rd(values + 8 * (uintptr_t)idx, &v) ? 0 : v;
}

enum seq_kind { SEQ_LIST, SEQ_TUPLE };

/* Items [0, SCAN_MAX) of a list (items behind a pointer) or a tuple
 * (items inline) into out; their count. */
static int seq_items(uintptr_t seq, enum seq_kind kind, uintptr_t *out)
{
	uintptr_t n = 0, items = 0;
	if (rd(seq + SEQ_SIZE, &n) || (intptr_t)n <= 0)
		return 0;
	if (n > SCAN_MAX)
		n = SCAN_MAX;
	if (kind == SEQ_TUPLE)
		items = seq + TUPLE_ITEMS;
	else if (rd(seq + LIST_ITEMS, &items))
		return 0;
	return pyrt_read(out, items, n * sizeof(*out)) ? 0 : (int)n;
}

/* The asyncio Future a _call_set_state closure will complete. */
static uintptr_t chained_future(uintptr_t fn)
{
	uintptr_t code = 0, clo = 0, cells[SCAN_MAX];
	if (rd(fn + FUNC_CODE, &code) || !code)
		return 0;
	if (code != ho.setstate_code) {
		uintptr_t q = 0;
		if (rd(fn + FUNC_QUALNAME, &q) ||
		    !str_is(q, "_chain_future.<locals>._call_set_state"))
			return 0;
		ho.setstate_code = code;
	}
	if (rd(fn + FUNC_CLOSURE, &clo) || !clo)
		return 0;
	int n = seq_items(clo, SEQ_TUPLE, cells);
	for (int i = 0; i < n; i++) {
		uintptr_t ref = 0;
		if (!rd(cells[i] + CELL_REF, &ref) &&
		    type_named(type_of(ref), &ho.future_type,
			       "_asyncio.Future"))
			return ref;
	}
	return 0;
}

/* A (callback, context) pair of F_a that is a task's wakeup: the
 * context, else 0. */
static uintptr_t wakeup_context(uintptr_t cb, uintptr_t ctx)
{
	uintptr_t self = 0;
	if (!cb || !ctx || type_of(cb) != handoff_types.cfunc ||
	    type_of(ctx) != handoff_types.context ||
	    rd(cb + CFUNC_SELF, &self) ||
	    !type_named(type_of(self), &ho.task_type, "_asyncio.Task"))
		return 0;
	return ctx;
}

/* The context of the task awaiting F_a: 1 with *out, 0 when no task
 * awaits it (yet), -1 when it cannot be told. */
static int awaiting_context(uintptr_t fa, uintptr_t *out)
{
	uintptr_t head[3], pairs[SCAN_MAX];
	if (pyrt_read(head, fa + FUT_CALLBACK0, sizeof(head)))
		return -1;
	uintptr_t ctx = wakeup_context(head[0], head[1]), found = ctx;
	int n = head[2] ? seq_items(head[2], SEQ_LIST, pairs) : 0;
	for (int i = 0; i < n; i++) {
		uintptr_t pair[2];
		if (pyrt_read(pair, pairs[i] + TUPLE_ITEMS, sizeof(pair)))
			return -1;
		ctx = wakeup_context(pair[0], pair[1]);
		if (ctx && found && ctx != found)
			return -1; /* two tasks await it: not ours to choose */
		if (ctx)
			found = ctx;
	}
	*out = found;
	return found != 0;
}

/* An int object's value (non-negative, at most 64 bits). */
static int long_value(uintptr_t obj, uint64_t *out)
{
	intptr_t ndig = 0;
	uint32_t dig[3] = {0};
	if (pyrt_read(&ndig, obj + SEQ_SIZE, sizeof(ndig)) || ndig < 0 ||
	    ndig > 3 ||
	    (ndig &&
	     pyrt_read(dig, obj + LONG_DIGITS, (size_t)ndig * sizeof(dig[0]))))
		return -1;
	*out = 0;
	for (intptr_t i = ndig; i-- > 0;)
		*out = (*out << 30) | dig[i];
	return 0;
}

/* An entered context of thread state ts, else 0. */
static uintptr_t entered_context(uintptr_t ts)
{
	uintptr_t ctx = 0;
	uint8_t entered = 0;
	if (rd(ts + pyrt_offsets()->ts_context, &ctx) || !ctx ||
	    type_of(ctx) != handoff_types.context ||
	    pyrt_read(&entered, ctx + pyrt_offsets()->ctx_entered, 1) ||
	    !entered)
		return 0;
	return ctx;
}

/* The first thread state of this interpreter, or 0. */
static uintptr_t first_thread(void)
{
	uintptr_t interp = 0, ts = 0;
	if (rd(pyrt_thread_state() + pyrt_offsets()->ts_interp, &interp) ||
	    rd(interp + INTERP_THREADS_HEAD, &ts))
		return 0;
	return ts;
}

/*
 * No task awaits F_a yet: the job ran before its task reached `await`
 * (on a pool thread that was just started, the loop thread is still in
 * Thread.start).  That task's step is then still running on the loop's
 * thread, in the task's context: read that thread's current context, and
 * take it only if F_a is still not awaited afterwards (so the step was
 * still running when the context was read) and no other task awaits it.
 */
static uintptr_t loop_thread_context(uintptr_t fa)
{
	const struct pyrt_offsets *o = pyrt_offsets();
	uintptr_t loop = 0, tid_obj, me = pyrt_thread_state(), ts, again = 0;
	uint64_t tid = 0;
	if (rd(fa + FUT_LOOP, &loop) || !(tid_obj = attr_of(loop, ATTR_TID)) ||
	    long_value(tid_obj, &tid) || !tid)
		return 0;
	ts = first_thread();
	for (int i = 0; ts && i < THREADS_MAX; i++) {
		uintptr_t t_id = 0;
		if (rd(ts + o->ts_thread_id, &t_id))
			return 0;
		if (t_id == tid)
			break;
		if (rd(ts + TS_NEXT, &ts))
			return 0;
	}
	uintptr_t ctx = ts && ts != me ? entered_context(ts) : 0;
	if (!ctx)
		return 0;
	int r = awaiting_context(fa, &again);
	if (r == 1)
		return again; /* awaited meanwhile: the wakeup says whose */
	return r == 0 ? ctx : 0;
}

/* The _WorkItem.run frame's self among this thread's frames; 0 none. */
static uintptr_t work_item(void)
{
	struct pyframe_raw f[64];
	uintptr_t self[64];
	int fault = 0;
	int n = pyframes_walk_locals(f, self, 1, 64, &fault);
	for (int i = 0; i < n; i++) {
		if (f[i].code == ho.workitem_code)
			return self[i];
		if (ho.workitem_code)
			continue;
		struct pyframe_text t;
		if (pyframes_resolve(&f[i], &t) == 0 &&
		    !strcmp(t.qual, "_WorkItem.run") && t.file_len >= 28 &&
		    !strcmp(t.file + t.file_len - 28,
			    "concurrent/futures/thread.py")) {
			ho.workitem_code = f[i].code;
			return self[i];
		}
	}
	if (!fault && n < 64)
		ho_thread = HO_OTHER; /* a whole stack without a job */
	return 0;
}

/* F_c._done_callbacks is empty: 1, else 0 (or -1 unreadable). */
static int no_callbacks(uintptr_t fc)
{
	uintptr_t cbs = attr_of(fc, ATTR_CALLBACKS), n = 0;
	if (!cbs || rd(cbs + SEQ_SIZE, &n))
		return -1;
	return n == 0;
}

/*
 * F_c has no callback yet: the job ran before run_in_executor chained
 * its future, so the submitting task's step is still inside submit()
 * (it was starting this very pool thread).  Taken only when: the job is
 * to_thread's `partial(ctx.run, ...)` over the context this thread runs
 * in; exactly one other thread of the interpreter runs a coroutine in an
 * entered context (the loop's thread, in that step); and F_c still has no
 * callback once that context is read (the step had not moved on).
 */
static uintptr_t submitter_context(uintptr_t item, uintptr_t fc)
{
	uintptr_t me = pyrt_thread_state(), mine = entered_context(me);
	uintptr_t part = attr_of(item, ATTR_FN), bound = 0, self = 0;
	if (!mine || !part ||
	    !type_named(type_of(part), &ho.partial_type, "functools.partial") ||
	    rd(part + PARTIAL_FN, &bound) ||
	    type_of(bound) != handoff_types.cfunc ||
	    rd(bound + CFUNC_SELF, &self) || self != mine)
		return 0;
	uintptr_t ts = first_thread(), found = 0;
	for (int i = 0; ts && i < THREADS_MAX; i++) {
		uintptr_t ctx = ts != me ? entered_context(ts) : 0;
		if (ctx && in_coroutine(ts)) {
			if (found)
				return 0; /* two loops: not ours to choose */
			found = ctx;
		}
		if (rd(ts + TS_NEXT, &ts))
			return 0;
	}
	return found && no_callbacks(fc) == 1 ? found : 0;
}

uint64_t task_handoff_key(void)
{
	if (!enabled || ho_thread == HO_OTHER || !handoff_types.cfunc ||
	    !handoff_types.context)
		return 0;
	uintptr_t item = work_item();
	if (!item)
		return 0;
	ho_thread = HO_WORKER;
	uintptr_t fc = attr_of(item, ATTR_FUTURE);
	uintptr_t cbs = fc ? attr_of(fc, ATTR_CALLBACKS) : 0, fns[SCAN_MAX];
	int n = cbs ? seq_items(cbs, SEQ_LIST, fns) : 0;
	if (cbs && n == 0 && no_callbacks(fc) == 1)
		return submitter_context(item, fc);
	for (int i = 0; i < n; i++) {
		uintptr_t fa = chained_future(fns[i]), ctx = 0;
		if (!fa)
			continue;
		int r = awaiting_context(fa, &ctx);
		return r == 1 ? ctx : r == 0 ? loop_thread_context(fa) : 0;
	}
	return 0;
}
