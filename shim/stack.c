/*
 * stack.c -- call stacks for slow operations (see stack.h).
 *
 * Sections:
 *   1. settings and sampling
 *   2. the module table (dl_iterate_phdr; append-only)
 *   3. capture and emit
 *
 * Privacy: frames are code identity only (function, file, line, return
 * address), never locals, arguments or values.
 */
#include "stack.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "pyframes.h"
#include "pyrt.h"
#include "sys.h"

/* ---- 1. settings and sampling ------------------------------------------ */

uint64_t pt_stack_min_ns = PT_CONFIG_STACK_MIN_DEFAULT;
int pt_stack_mode = PT_STACKS_OFF;
static uint32_t stack_sample;

typedef int (*unw_backtrace_fn)(void **buf, int size);
static unw_backtrace_fn unw_bt;
/* The shim's own text: its frames (hook, decoder, writer) are dropped. */
static uintptr_t self_lo, self_hi;
/* Shim frames above the host's first one, at most (hook + decoder). */
#define SELF_FRAMES_MAX 16

static int self_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	uintptr_t me = (uintptr_t)arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && me >= lo &&
		    me < lo + ph->p_memsz) {
			self_lo = lo;
			self_hi = lo + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

static __thread uint32_t sample_tick __attribute__((tls_model("initial-exec")));

int pt_stack_sampled(void)
{
	if (!stack_sample)
		return 0;
	/* Per thread, no atomics: 1 in N of this thread's faster events. */
	if (++sample_tick < stack_sample)
		return 0;
	sample_tick = 0;
	return 1;
}

void pt_stack_setup(const struct pt_config *cfg)
{
	pt_stack_min_ns = cfg->stack_min_ns;
	stack_sample = cfg->stack_sample;
	if (cfg->stacks == PT_STACKS_OFF)
		return;
	/* RTLD_LOCAL: libunwind exports _Unwind_RaiseException & co, which
	 * must not interpose libgcc_s's for the host's C++ exceptions. */
	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
	if (h)
		unw_bt = (unw_backtrace_fn)dlsym(h, "unw_backtrace");
	dl_iterate_phdr(self_cb, (void *)(uintptr_t)pt_stack_setup);
	pt_stack_mode = cfg->stacks;
}

/* ---- 2. the module table ------------------------------------------------
 *
 * Append-only: an entry, once published by the release store of
 * mod_count, never changes, so that writers read [0, count) without a
 * lock.  Refreshes are serialised by mod_busy (a try-lock: a thread that
 * finds it taken uses the table as it is).  A module unloaded stays
 * listed (its addresses may be reused by a later one: the report then
 * may name the older module; rare, and only symbolization suffers).
 */
#define MOD_MAX	 512
#define MOD_POOL (128 * 1024) /* path bytes */

static struct pt_module_info mods[MOD_MAX];
static uint32_t mod_count; /* published entries (release/acquire) */
static char mod_pool[MOD_POOL];
static uint32_t mod_pool_used;
static unsigned long long mod_adds; /* dlpi_adds at the last refresh */
static int mod_busy;

static int adds_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	*(unsigned long long *)arg = info->dlpi_adds;
	return 1; /* the counter is the same for every entry: stop */
}

static void mod_build_id(const struct dl_phdr_info *info,
			 struct pt_module_info *m)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		/* Mapped by the loader (part of a PT_LOAD): readable. */
		const uint8_t *p =
		    (const void *)(info->dlpi_addr + ph->p_vaddr);
		const uint8_t *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *n = (const void *)p;
			size_t nsz = (n->n_namesz + 3) & ~3u;
			size_t dsz = (n->n_descsz + 3) & ~3u;
			const uint8_t *desc = p + sizeof(*n) + nsz;
			if (desc + dsz > end)
				break;
			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
			    !memcmp(p + sizeof(*n), "GNU", 4)) {
				size_t len =
				    n->n_descsz > 20 ? 20 : n->n_descsz;
				memcpy(m->build_id, desc, len);
				m->build_id_len = (uint16_t)len;
				return;
			}
			p = desc + dsz;
		}
	}
}

/* By load address: two live objects never share one. */
static int mod_known(uint64_t base)
{
	for (uint32_t i = 0; i < mod_count; i++)
		if (mods[i].base == base)
			return 1;
	return 0;
}

static const char *mod_path(const char *name, uint32_t *len)
{
	char exe[4096];
	if (!*name) {
		ssize_t n =
		    pt_sys.readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return NULL;
		exe[n] = '\0';
		name = exe;
	}
	size_t l = strlen(name);
	if (l + 1 > MOD_POOL - mod_pool_used)
		return NULL;
	char *p = mod_pool + mod_pool_used;
	memcpy(p, name, l + 1);
	mod_pool_used += (uint32_t)l + 1;
	*len = (uint32_t)l;
	return p;
}

static int mod_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	if (mod_count >= MOD_MAX || mod_known(info->dlpi_addr))
		return 0;
	struct pt_module_info *m = &mods[mod_count];
	memset(m, 0, sizeof(*m));
	m->base = info->dlpi_addr;
	m->lo = UINT64_MAX;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uint64_t lo = info->dlpi_addr + ph->p_vaddr;
		if (lo < m->lo)
			m->lo = lo;
		if (lo + ph->p_memsz > m->hi)
			m->hi = lo + ph->p_memsz;
	}
	if (m->lo == UINT64_MAX)
		return 0; /* nothing executable */
	if (!(m->path = mod_path(name, &m->path_len)))
		return 0;
	mod_build_id(info, m);
	/* Release: the entry is complete before a reader counts it. */
	__atomic_store_n(&mod_count, mod_count + 1, __ATOMIC_RELEASE);
	return 0;
}

/* The table, refreshed when the loader added objects since last time.
 * Returns the count; the generation is the count (append-only). */
static uint32_t mod_table(void)
{
	unsigned long long adds = 0;
	dl_iterate_phdr(adds_cb, &adds);
	/* Relaxed: a hint; the refresh itself runs under mod_busy. */
	if (adds != __atomic_load_n(&mod_adds, __ATOMIC_RELAXED) &&
	    !__atomic_exchange_n(&mod_busy, 1, __ATOMIC_ACQUIRE)) {
		dl_iterate_phdr(mod_cb, NULL);
		__atomic_store_n(&mod_adds, adds, __ATOMIC_RELAXED);
		__atomic_store_n(&mod_busy, 0, __ATOMIC_RELEASE);
	}
	return __atomic_load_n(&mod_count, __ATOMIC_ACQUIRE);
}

/* ---- 3. capture and emit ------------------------------------------------ */

/* A capture and the scratch its frames resolve into. */
struct capture {
	const struct pt_stack_capture *raw;
	struct pyframe_text text;
};

static int capture_resolve(void *arg, uint32_t i, struct pt_frame_text *out)
{
	struct capture *cap = arg;
	if (pyframes_resolve(&cap->raw->py[i], &cap->text) < 0)
		return -1;
	out->func = cap->text.qual;
	out->func_len = cap->text.qual_len;
	out->file = cap->text.file;
	out->file_len = cap->text.file_len;
	out->line = cap->text.line < 0 ? 0 : (uint32_t)cap->text.line;
	return 0;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	const uint64_t mul = 0x9e3779b97f4a7c15ull; /* 2^64 / golden ratio */
	h = (h ^ v) * mul;
	return h ^ (h >> 29);
}

static void capture(struct pt_stack_capture *cap, int native, int python)
{
	cap->n_native = cap->n_python = cap->fault = 0;
	if (native && unw_bt) {
		void *buf[PT_STACK_MAX_NATIVE + SELF_FRAMES_MAX];
		int n = unw_bt(buf, PT_STACK_MAX_NATIVE + SELF_FRAMES_MAX);
		int i = 0, k = 0;
		while (i < n && (uintptr_t)buf[i] >= self_lo &&
		       (uintptr_t)buf[i] < self_hi)
			i++;
		for (; i < n && k < PT_STACK_MAX_NATIVE; i++)
			cap->native[k++] = (uint64_t)(uintptr_t)buf[i];
		cap->n_native = k;
	}
	if (python)
		cap->n_python =
		    pyframes_walk(cap->py, PT_STACK_MAX_PYTHON, &cap->fault);
	uint64_t h =
	    mix(0, (uint64_t)cap->n_native << 32 | (uint32_t)cap->n_python);
	for (int i = 0; i < cap->n_native; i++)
		h = mix(h, cap->native[i]);
	cap->coroutine = 0;
	for (int i = 0; i < cap->n_python; i++) {
		h = mix(mix(h, cap->py[i].code),
			(uint64_t)(uint32_t)cap->py[i].addr);
		cap->coroutine |= cap->py[i].gen;
	}
	cap->hash = h;
}

int pt_stack_at_send_on(void)
{
	return pt_stack_mode != PT_STACKS_OFF && pyrt_available();
}

int pt_stack_capture_send(struct pt_stack_capture *cap)
{
	capture(cap, 0, 1);
	return cap->n_python > 0;
}

int pt_stack_capture_only(int native, int python)
{
	struct pt_stack_capture cap;
	capture(&cap, native, python);
	return cap.n_native + cap.n_python;
}

/* Emit ev with raw, a capture made now or at the operation's send. */
static int emit_with(struct pt_writer *w, struct pt_writer_cursor *c,
		     const struct pt_event *ev,
		     const struct pt_stack_capture *raw)
{
	struct capture cap = {.raw = raw};
	struct pt_stack st = {0};

	st.hash = raw->hash;
	st.native = raw->native;
	st.n_native = (uint32_t)raw->n_native;
	st.n_python = (uint32_t)raw->n_python;
	st.flags = raw->fault ? PT_STACK_PY_FAULT : 0;
	enum pyrt_state ps = pyrt_state();
	if (ps == PYRT_UNKNOWN || ps == PYRT_NOREAD)
		st.flags |= PT_STACK_PY_UNKNOWN; /* native frames only */
	st.resolve = capture_resolve;
	st.arg = &cap;
	if (raw->n_native) {
		st.n_modules = mod_table();
		st.modules = mods;
		st.modules_gen = st.n_modules;
	}
	return pt_writer_emit_event_stack(w, c, ev, &st);
}

int pt_stack_emit_in(struct pt_writer *w, struct pt_writer_cursor *c,
		     const struct pt_event *ev, struct pt_stack_batch *batch)
{
	struct pt_stack_capture own;

	if (batch && batch->have)
		return emit_with(w, c, ev, &batch->cap);
	struct pt_stack_capture *raw = batch ? &batch->cap : &own;
	capture(raw, 1, 1);
	if (batch)
		batch->have = 1;
	return emit_with(w, c, ev, raw);
}

int pt_stack_emit_op(struct pt_writer *w, struct pt_writer_cursor *c,
		     const struct pt_event *ev, const struct pt_op_stack *how)
{
	if (how->sent)
		return emit_with(w, c, ev, how->sent);
	if (how->unsent) {
		pt_writer_count(w, PT_CNT_STACK_UNSENT);
		return pt_writer_emit_event(w, c, ev);
	}
	return pt_stack_emit_in(w, c, ev, how->batch);
}
