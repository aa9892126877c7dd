/*
 * pyrt.c -- CPython runtime access without the GIL (see pyrt.h).
 *
 * Sections:
 *   1. the layout table (one entry per known version)
 *   2. fault-safe reads
 *   3. str objects and the 3.11 location table
 *   4. detection and the public entry points
 *
 * Why process_vm_readv and not a plain load: the shim reads interpreter
 * memory from inside a socket hook, while the GIL is released and other
 * threads run.  A thread state or a frame chunk can be freed (and its
 * pages unmapped) under us, e.g. by Py_FinalizeEx deleting the states of
 * daemon threads that are blocked in recv().  The kernel copy reports such
 * a page as EFAULT instead of raising SIGSEGV in the host.
 */
#include "pyrt.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---- 1. the layout table ----------------------------------------------- */

/* CPython 3.11 on LP64 (values from the 3.11.2 headers; the probe's static
 * assertions keep them honest). */
static const struct pyrt_offsets pyrt_layout_311 = {
    .version_hex = 0x030b0000u,
    .ob_type = 8,
    .ob_size = 16,
    .ts_interp = 16,
    .ts_cframe = 56,
    .ts_thread_id = 152,
    .ts_native_thread_id = 160,
    .ts_context = 224,
    .ts_datastack_chunk = 296,
    .ts_datastack_top = 304,
    .chunk_data = 24,
    .cframe_current_frame = 8,
    .cframe_previous = 16,
    .if_func = 0,
    .if_code = 32,
    .if_previous = 48,
    .if_prev_instr = 56,
    .if_owner = 69,
    .if_size = 72,
    .code_flags = 48,
    .code_firstlineno = 72,
    .code_filename = 112,
    .code_name = 120,
    .code_qualname = 128,
    .code_linetable = 136,
    .code_firsttraceable = 168,
    .code_code = 184,
    .str_length = 16,
    .str_state = 32,
    .str_ascii_data = 48,
    .str_compact_data = 72,
    .bytes_sval = 32,
    .ctx_prev = 16,
    .ctx_vars = 24,
    .ctx_entered = 40,
    .hamt_root = 16,
    .hamt_count = 32,
};

static struct {
	enum pyrt_state state;
	uint32_t version;
	const struct pyrt_offsets *off;
	struct pyrt_types types;
	void *(*this_thread_state)(void); /* PyGILState_GetThisThreadState */
	pid_t pid;			  /* process_vm_readv target: us */
	int inited;
} pyrt;

static _Atomic uint64_t pyrt_fault_count;

/* ---- 2. fault-safe reads ----------------------------------------------- */

int pyrt_read(void *dst, uintptr_t src, size_t len)
{
	if (len == 0)
		return 0;
	if (src == 0 || src + len < src) {
		atomic_fetch_add_explicit(&pyrt_fault_count, 1,
					  memory_order_relaxed);
		return -EFAULT;
	}
	int saved = errno;
	struct iovec local = {dst, len};
	struct iovec remote = {(void *)src, len};
	ssize_t n = process_vm_readv(pyrt.pid, &local, 1, &remote, 1, 0);
	errno = saved;
	if (n != (ssize_t)len) {
		/* Relaxed: a statistic, ordered with nothing. */
		atomic_fetch_add_explicit(&pyrt_fault_count, 1,
					  memory_order_relaxed);
		return -EFAULT;
	}
	return 0;
}

int pyrt_readv(const struct pyrt_span *spans, int n)
{
	struct iovec local[PYRT_SPANS_MAX], remote[PYRT_SPANS_MAX];
	size_t total = 0;

	if (n < 1 || n > PYRT_SPANS_MAX)
		return -EFAULT;
	for (int i = 0; i < n; i++) {
		const struct pyrt_span *s = &spans[i];
		if (s->len == 0 || s->src == 0 || s->src + s->len < s->src) {
			n = i; /* the ranges before it can still be copied */
			break;
		}
		local[i] = (struct iovec){s->dst, s->len};
		remote[i] = (struct iovec){(void *)s->src, s->len};
		total += s->len;
	}
	if (n == 0)
		return -EFAULT;
	int saved = errno;
	/* The kernel copies the remote ranges in order and stops at the
	 * first unreadable byte, so a short count still tells how many
	 * ranges arrived whole. */
	ssize_t got = process_vm_readv(pyrt.pid, local, (unsigned long)n,
				       remote, (unsigned long)n, 0);
	errno = saved;
	if (got == (ssize_t)total)
		return n;
	int whole = 0;
	for (size_t sum = 0; got > 0 && whole < n; whole++) {
		sum += spans[whole].len;
		if ((ssize_t)sum > got)
			break;
	}
	return whole ? whole : -EFAULT;
}

void pyrt_count_fault(void)
{
	atomic_fetch_add_explicit(&pyrt_fault_count, 1, memory_order_relaxed);
}

int pyrt_read_ptr(uintptr_t src, uintptr_t *out)
{
	return pyrt_read(out, src, sizeof(*out));
}

/* ---- 3. str objects and the location table ----------------------------- */

/* Bits of PyASCIIObject.state in 3.11: interned:2 kind:3 compact:1
 * ascii:1 ready:1 (gcc allocates bit-fields from the low bit). */
#define STR_KIND(s)    (((s) >> 2) & 7u)
#define STR_COMPACT(s) (((s) >> 5) & 1u)
#define STR_ASCII(s)   (((s) >> 6) & 1u)

/* Longest str read, in code points: qualnames and paths are shorter; a
 * longer one is cut (the caller's buffer is the real limit). */
#define STR_MAX_CHARS 512

static size_t utf8_put(char *buf, size_t pos, size_t cap, uint32_t cp)
{
	char tmp[4];
	size_t n;
	if (cp < 0x80) {
		tmp[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		tmp[0] = (char)(0xc0 | (cp >> 6));
		tmp[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		tmp[0] = (char)(0xe0 | (cp >> 12));
		tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		tmp[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		tmp[0] = (char)(0xf0 | ((cp >> 18) & 0x07));
		tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		tmp[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (pos + n >= cap)
		return 0; /* does not fit whole: cut before it */
	memcpy(buf + pos, tmp, n);
	return n;
}

/* A compact non-ASCII str: kind bytes per code point after the
 * PyCompactUnicodeObject header. */
static int str_read_wide(uintptr_t addr, unsigned kind, size_t nchars,
			 char *buf, size_t cap)
{
	uint8_t raw[STR_MAX_CHARS * 4];
	if (kind != 1 && kind != 2 && kind != 4)
		return -EINVAL;
	if (nchars > cap - 1)
		nchars = cap - 1; /* each char needs at least one byte */
	if (nchars > STR_MAX_CHARS)
		nchars = STR_MAX_CHARS;
	if (pyrt_read(raw, addr + pyrt.off->str_compact_data, nchars * kind))
		return -EFAULT;
	size_t pos = 0;
	for (size_t i = 0; i < nchars; i++) {
		uint32_t cp;
		if (kind == 1)
			cp = raw[i];
		else if (kind == 2) {
			uint16_t u;
			memcpy(&u, raw + 2 * i, 2);
			cp = u;
		} else {
			memcpy(&cp, raw + 4 * i, 4);
		}
		size_t n = utf8_put(buf, pos, cap, cp);
		if (n == 0)
			break;
		pos += n;
	}
	buf[pos] = '\0';
	return (int)pos;
}

int pyrt_read_str(uintptr_t addr, char *buf, size_t cap)
{
	uint8_t head[48];
	if (!pyrt.off || cap == 0)
		return -EINVAL;
	if (pyrt_read(head, addr, sizeof(head)))
		return -EFAULT;
	uintptr_t type;
	int64_t length;
	uint32_t state;
	memcpy(&type, head + pyrt.off->ob_type, sizeof(type));
	memcpy(&length, head + pyrt.off->str_length, sizeof(length));
	memcpy(&state, head + pyrt.off->str_state, sizeof(state));
	if (type != pyrt.types.str || length < 0 || !STR_COMPACT(state))
		return -EINVAL;
	if (!STR_ASCII(state))
		return str_read_wide(addr, STR_KIND(state), (size_t)length, buf,
				     cap);
	size_t n = (size_t)length < cap - 1 ? (size_t)length : cap - 1;
	if (pyrt_read(buf, addr + pyrt.off->str_ascii_data, n))
		return -EFAULT;
	buf[n] = '\0';
	return (int)n;
}

/* PEP 657 varints: 6 bits per byte, bit 6 says another byte follows. */
static int lt_varint(const uint8_t *t, size_t len, size_t *pos, uint32_t *out)
{
	uint32_t val = 0;
	unsigned shift = 0;
	for (;;) {
		if (*pos >= len || shift > 30)
			return -1;
		uint8_t b = t[(*pos)++];
		val |= (uint32_t)(b & 63) << shift;
		shift += 6;
		if (!(b & 64))
			break;
	}
	*out = val;
	return 0;
}

int pyrt_linetable_line(const uint8_t *t, size_t len, int firstlineno, int addr)
{
	size_t pos = 0;
	int line = firstlineno, start = 0;
	if (addr < 0)
		return firstlineno;
	while (pos < len) {
		uint8_t first = t[pos++];
		if (!(first & 0x80))
			return -1; /* lost the entry boundary: corrupt */
		unsigned code = (first >> 3) & 15;
		int end = start + ((first & 7) + 1) * 2;
		int delta = 0, has_line = 1;
		uint32_t v;
		switch (code) {
		case 15: /* no location */
			has_line = 0;
			break;
		case 14: /* long form: line delta, end line, columns */
		case 13: /* no columns: line delta only */
			if (lt_varint(t, len, &pos, &v))
				return -1;
			delta = (v & 1) ? -(int)(v >> 1) : (int)(v >> 1);
			for (int k = 0; code == 14 && k < 3; k++)
				if (lt_varint(t, len, &pos, &v))
					return -1;
			break;
		case 10:
		case 11:
		case 12: /* one line, two column bytes */
			delta = (int)code - 10;
			pos += 2;
			break;
		default: /* short form: same line, one column byte */
			pos += 1;
		}
		line += delta;
		if (addr >= start && addr < end)
			return has_line ? line : -1;
		start = end;
	}
	return -1;
}

/* ---- 4. detection and entry points ------------------------------------- */

/* "3.11.2 (main, ...)" -> 0x030b0200; 0 on anything else. */
static uint32_t version_parse(const char *s)
{
	unsigned part[3] = {0, 0, 0};
	int i = 0;
	if (!s || *s < '0' || *s > '9')
		return 0;
	for (; *s && i < 3; s++) {
		if (*s >= '0' && *s <= '9')
			part[i] = part[i] * 10 + (unsigned)(*s - '0');
		else if (*s == '.')
			i++;
		else
			break;
		if (part[i < 3 ? i : 2] > 255)
			return 0;
	}
	return part[0] << 24 | part[1] << 16 | part[2] << 8;
}

static uint32_t version_detect(void)
{
	const unsigned long *hex = dlsym(RTLD_DEFAULT, "Py_Version");
	if (hex)
		return (uint32_t)*hex;
	const char *(*get)(void) =
	    (const char *(*)(void))dlsym(RTLD_DEFAULT, "Py_GetVersion");
	return get ? version_parse(get()) : 0;
}

void pyrt_after_fork(void)
{
	pyrt.pid = getpid();
}

void pyrt_init(void)
{
	if (pyrt.inited)
		return;
	pyrt.inited = 1;
	pyrt.pid = getpid();
	pyrt.version = version_detect();
	pyrt.this_thread_state = (void *(*)(void))dlsym(
	    RTLD_DEFAULT, "PyGILState_GetThisThreadState");
	if (!pyrt.version || !pyrt.this_thread_state) {
		pyrt.state = pyrt.version ? PYRT_UNKNOWN : PYRT_NONE;
		return;
	}
	pyrt.state = PYRT_UNKNOWN;
	if ((pyrt.version & 0xffff0000u) != pyrt_layout_311.version_hex)
		return;
	pyrt.types.code = (uintptr_t)dlsym(RTLD_DEFAULT, "PyCode_Type");
	pyrt.types.str = (uintptr_t)dlsym(RTLD_DEFAULT, "PyUnicode_Type");
	pyrt.types.bytes = (uintptr_t)dlsym(RTLD_DEFAULT, "PyBytes_Type");
	if (!pyrt.types.code || !pyrt.types.str || !pyrt.types.bytes)
		return;
	/* Seccomp (old container profiles) may refuse the self-read. */
	uint64_t probe = 0x5059525450524f42ull, copy = 0;
	if (pyrt_read(&copy, (uintptr_t)&probe, sizeof(copy)) ||
	    copy != probe) {
		pyrt.state = PYRT_NOREAD;
		return;
	}
	pyrt.off = &pyrt_layout_311;
	pyrt.state = PYRT_READY;
	pthread_atfork(NULL, NULL, pyrt_after_fork);
}

enum pyrt_state pyrt_state(void)
{
	return pyrt.state;
}

int pyrt_available(void)
{
	return pyrt.state == PYRT_READY;
}

uint32_t pyrt_version(void)
{
	return pyrt.version;
}

const struct pyrt_offsets *pyrt_offsets(void)
{
	return pyrt.state == PYRT_READY ? pyrt.off : NULL;
}

const struct pyrt_types *pyrt_types(void)
{
	return &pyrt.types;
}

uintptr_t pyrt_thread_state(void)
{
	/* PyGILState_GetThisThreadState reads _PyRuntime's TSS key
	 * (pthread_getspecific): no lock, no GIL, no allocation. */
	if (pyrt.state != PYRT_READY)
		return 0;
	return (uintptr_t)pyrt.this_thread_state();
}

uintptr_t pyrt_context(void)
{
	uintptr_t ts = pyrt_thread_state(), ctx = 0;
	/* Through pyrt_read, not a load: during interpreter finalization a
	 * daemon thread's state is freed under it (zapthreads) while the
	 * thread is still in a system call. */
	if (!ts || pyrt_read_ptr(ts + pyrt.off->ts_context, &ctx))
		return 0;
	return ctx;
}

uint64_t pyrt_faults(void)
{
	return atomic_load_explicit(&pyrt_fault_count, memory_order_relaxed);
}
