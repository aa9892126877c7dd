/*
 * task_create.c -- the task a request's head created (task_create.h).
 */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "plt_hook.h"
#include "pyframes.h"
#include "pyrt.h"
#include "task.h"
#include "task_create.h"

#if defined(__aarch64__)
#define ASYNCIO_MODULE "/_asyncio.cpython-311-aarch64-linux-gnu.so"
#else
#define ASYNCIO_MODULE "/_asyncio.cpython-311-x86_64-linux-gnu.so"
#endif
#define REINSTALLS_MAX 3  /* a lazy binding overwrote the slot */
#define PREFIX_BYTES   32 /* of the read, compared with data_received's */
#define CALLBACK_DEPTH 8  /* frames looked at for data_received */

typedef void *(*copy_current_fn)(void);

static copy_current_fn real_copy_current; /* written once, constructor */
static task_create_bind_fn bind_fn;
static int enabled;

/* The hook's state: 0 not yet tried, 1 installing, 2 installed, 3 given
 * up (no module has the import).  Heads seen while not installed count
 * down to the next try (doubling: a server that never loads _asyncio
 * pays a walk of the loader's list a few dozen times in its life). */
static int hook_state;
static uint64_t heads_until_try, try_interval = 1;
static void **hook_slot; /* _asyncio's slot, once installed */
static int reinstalls;

/* C1/C2: what the last tracked feed of this thread noted. */
struct pending_head {
	uint64_t req; /* 0: nothing noted */
	const void *conn;
	int fd;
	uint32_t len;
	uint8_t prefix[PREFIX_BYTES];
};
static __thread struct pending_head pending
    __attribute__((tls_model("initial-exec")));

static void *copy_current_hook(void);

void task_create_enable(task_create_bind_fn bind)
{
	enabled = 0;
	if (!task_enabled() || !bind)
		return;
	/* The interpreter's own function: the executable defines it, and
	 * RTLD_DEFAULT finds the executable first. */
	real_copy_current =
	    (copy_current_fn)dlsym(RTLD_DEFAULT, "PyContext_CopyCurrent");
	bind_fn = bind;
	enabled = real_copy_current != NULL;
}

int task_create_enabled(void)
{
	return enabled;
}

void task_create_note(int fd, const void *conn, uint64_t req,
		      const uint8_t *buf, size_t n)
{
	if (!req || !n || n > UINT32_MAX) {
		pending.req = 0;
		return;
	}
	pending.fd = fd;
	pending.conn = conn;
	pending.len = (uint32_t)n;
	memcpy(pending.prefix, buf, n < PREFIX_BYTES ? n : PREFIX_BYTES);
	pending.req = req;
}

void task_create_arm(void)
{
	if (!pending.req)
		return;
	int state = __atomic_load_n(&hook_state, __ATOMIC_ACQUIRE);
	if (state == 2) {
		/* The dynamic linker resolving the slot lazily, racing the
		 * store, would have put the real function back. */
		void *now = __atomic_load_n(hook_slot, __ATOMIC_RELAXED);
		if (now == (void *)copy_current_hook ||
		    __atomic_add_fetch(&reinstalls, 1, __ATOMIC_RELAXED) >
			REINSTALLS_MAX)
			return;
		__atomic_store_n(&hook_state, 0, __ATOMIC_RELEASE);
		state = 0;
	}
	if (state != 0)
		return;
	/* Relaxed: a lost decrement only moves a try by one head. */
	uint64_t left = __atomic_load_n(&heads_until_try, __ATOMIC_RELAXED);
	if (left) {
		__atomic_store_n(&heads_until_try, left - 1, __ATOMIC_RELAXED);
		return;
	}
	int idle = 0;
	if (!__atomic_compare_exchange_n(&hook_state, &idle, 1, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return; /* another thread is installing */
	int rc = plt_hook_install(ASYNCIO_MODULE, "PyContext_CopyCurrent",
				  (void *)copy_current_hook, &hook_slot);
	int next = 0;
	if (rc == 0) {
		next = 2;
	} else if (rc == -PLT_HOOK_NO_MODULE && try_interval < (1u << 20)) {
		try_interval *= 2; /* asyncio may be imported later */
		heads_until_try = try_interval;
	} else {
		next = 3; /* loaded without the import: nothing to hook */
	}
	__atomic_store_n(&hook_state, next, __ATOMIC_RELEASE);
}

/* C4: is a data_received frame parsing exactly the noted read? */
static int parsing_noted_read(const struct pending_head *p)
{
	const struct pyrt_offsets *o = pyrt_offsets();
	struct pyframe_raw f[CALLBACK_DEPTH];
	uintptr_t args[CALLBACK_DEPTH * 2];
	int fault = 0;
	int n = pyframes_walk_locals(f, args, 2, CALLBACK_DEPTH, &fault);
	for (int i = 0; i < n; i++) {
		struct pyframe_text t;
		static const char name[] = ".data_received";
		size_t k = sizeof(name) - 1;
		if (pyframes_resolve(&f[i], &t) != 0 || t.qual_len < k ||
		    strcmp(t.qual + t.qual_len - k, name) != 0)
			continue;
		uint8_t b[64 + PREFIX_BYTES];
		uintptr_t data = args[2 * i + 1], type;
		int64_t size;
		size_t want = p->len < PREFIX_BYTES ? p->len : PREFIX_BYTES;
		if (o->bytes_sval + want > sizeof(b) ||
		    pyrt_read(b, data, o->bytes_sval + want))
			return 0;
		memcpy(&type, b + o->ob_type, sizeof(type));
		memcpy(&size, b + o->ob_size, sizeof(size));
		return type == pyrt_types()->bytes && size == (int64_t)p->len &&
		       !memcmp(b + o->bytes_sval, p->prefix, want);
	}
	return 0;
}

/* In place of PyContext_CopyCurrent for _asyncio (Task.__init__,
 * Future.add_done_callback): the real copy, and maybe a binding. */
static void *copy_current_hook(void)
{
	void *ctx = real_copy_current();
	if (__builtin_expect(pending.req == 0, 1) || !ctx)
		return ctx;
	struct pending_head p = pending;
	pending.req = 0; /* C2: one shot */
	int e = errno;
	if (!task_in_coroutine() && parsing_noted_read(&p)) /* C3, C4 */
		bind_fn(p.fd, p.conn, p.req, (uint64_t)(uintptr_t)ctx);
	errno = e;
	return ctx;
}
