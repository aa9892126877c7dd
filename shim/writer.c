/*
 * writer.c -- the dump writer: appends records to a shared mmap of the dump
 * file, one chunk per thread, with no lock and no system call per event.
 *
 * Sections:
 *   1. file space and the directory/file safety checks
 *   2. the file header (built once, magic stored last)
 *   3. chunk claiming (stop and wrap modes)
 *   4. string interning and record commit
 *   5. public API
 *
 * Concurrency rules (who writes what, in which order):
 *   W1. hdr->next_chunk_seq hands out tickets with one fetch_add; a ticket
 *       is a chunk's seq and picks its slot (stop: slot = ticket; wrap:
 *       slot = ticket % chunk_slots).
 *   W2. A slot's state goes FREE/CLOSED -> CLAIMING (by the claimer, CAS in
 *       wrap mode, plain ownership in stop mode) -> OPEN (release, after the
 *       chunk header is written) -> CLOSED (release, by its owner, after
 *       its last commit).  Only the thread that moved a slot to CLAIMING
 *       writes its chunk until it stores CLOSED.
 *   W3. Inside a chunk, the 8-byte word at the owner's write offset is
 *       always zero: the claim zeroes the first one and every commit zeroes
 *       the next one before it publishes its own.  A record's bytes are
 *       stored first and its commit word last, with release ordering, so a
 *       reader (or a SIGKILL at any instant) sees either a whole record or a
 *       zero word that ends the chunk -- never stale bytes of an earlier
 *       tenant that happen to look like a commit.
 *   W4. Nothing is written to a page of the mapping before fallocate has
 *       given the file that range: writing beyond EOF would raise SIGBUS.
 *   W5. drops[] and counters[] are relaxed atomic adds: they are totals,
 *       read after the fact, and order nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "debug.h"
#include "sys.h"
#include "writer.h"

/* Tickets a wrap-mode claim may try before it gives up on a full house of
 * live owners (PT_DROP_NO_CHUNK).  Small: each try may cost a syscall. */
#define PT_WRAP_ATTEMPTS 4

/* Intern table is reset once this many slots are live, which keeps linear
 * probes short (load factor 3/4). */
#define PT_INTERN_LIMIT (PT_INTERN_SLOTS * 3 / 4)

/* Tries at <stem>.<pid>.N.ptd before giving up on a name. */
#define PT_NAME_TRIES 1000

/* Header string budgets, so that the header never exceeds
 * PT_HEADER_SIZE_DEFAULT however long argv is. */
#define PT_EXE_MAX	4095u
#define PT_HOST_MAX	255u
#define PT_SETTINGS_MAX 8192u

/* Bumped by every open (also in a forked child, which inherits the value
 * and so gets a fresh one): a cursor whose generation differs forgets its
 * chunk.  Relaxed: it only needs to be unique, not to order anything. */
static uint64_t writer_generations;

static uint32_t round8(uint32_t n)
{
	return (n + 7u) & ~7u;
}

/* ---- 1. file space and safety checks ---------------------------------- */

/* Give the file [off, off+len): fallocate first (extends the file, never
 * shrinks it, so concurrent claimers cannot race each other the way
 * ftruncate would); posix_fallocate where the filesystem lacks it. */
static int writer_alloc(int fd, uint64_t off, uint64_t len)
{
	if (pt_sys.fallocate(fd, 0, (off_t)off, (off_t)len) == 0)
		return 0;
	int err = pt_sys.posix_fallocate(fd, (off_t)off, (off_t)len);
	return err ? -err : 0;
}

/* W4, for PT_DEBUG_ASSERT: the file reaches `end`.  A system call, so
 * only debug builds call it. */
__attribute__((unused)) static int writer_file_covers(const struct pt_writer *w,
						      uint64_t end)
{
	struct stat st;
	return pt_sys.fstat(w->fd, &st) == 0 && (uint64_t)st.st_size >= end;
}

/* Fault a freshly claimed chunk's pages in, writable, with one call
 * instead of one page fault per 4 KiB inside the emit path (measured:
 * about half the cost of an event).  Only a hint: older kernels lack it,
 * and then the pages fault in as they are written. */
static void writer_prefault(uint8_t *chunk, uint32_t len)
{
#ifdef MADV_POPULATE_WRITE
	pt_sys.madvise(chunk, len, MADV_POPULATE_WRITE);
#else
	(void)chunk, (void)len;
#endif
}

/* dirfd must be a directory of ours that nobody else can write to. */
static int writer_check_dirfd(int dirfd)
{
	struct stat st;

	if (pt_sys.fstat(dirfd, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != geteuid() || (st.st_mode & 077))
		return -EACCES;
	return 0;
}

/* Open dir without following a symlink in its last component, so that the
 * checked directory is the one the file is created in (no lstat/open
 * race).  Returns the fd or -errno. */
static int writer_open_dir(const char *dir)
{
	int fd = pt_sys.open(
	    dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	int rc = writer_check_dirfd(fd);
	if (rc < 0) {
		pt_sys.close(fd);
		return rc;
	}
	return fd;
}

/* The stem: name_hint's last component, '/'-free, short, never empty. */
static void writer_stem(const char *hint, char *out, size_t cap)
{
	const char *s = hint && *hint ? hint : "perftap";
	const char *slash = strrchr(s, '/');
	if (slash && slash[1])
		s = slash + 1;
	size_t n = 0;
	for (; s[n] && n + 1 < cap; n++)
		out[n] = (s[n] == '/' || s[n] == '.') ? '_' : s[n];
	out[n] = '\0';
}

/* Create <stem>.<pid>.ptd, or .1, .2 ... on a collision: never open an
 * existing file, never follow a symlink planted at the name. */
static int writer_create(int dirfd, const char *stem, char *name, size_t cap)
{
	int pid = (int)getpid();

	for (int i = 0; i < PT_NAME_TRIES; i++) {
		if (i == 0)
			snprintf(name, cap, "%s.%d.ptd", stem, pid);
		else
			snprintf(name, cap, "%s.%d.%d.ptd", stem, pid, i);
		int fd = pt_sys.openat(
		    dirfd, name,
		    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

/* ---- 2. the file header ------------------------------------------------ */

struct header_strings {
	const char *exe, *host, *settings;
	uint32_t exe_len, host_len, settings_len;
	uint32_t argc, argv_len; /* the argv prefix that fits */
};

static uint32_t cap_len(const char *s, uint32_t max)
{
	size_t n = s ? strlen(s) : 0;
	return n > max ? max : (uint32_t)n;
}

/* Decide which strings go in and how big the header is: the smallest
 * multiple of 4096 that holds them, argv cut (whole arguments) so the
 * total stays within PT_HEADER_SIZE_DEFAULT. */
static uint32_t header_plan(const struct pt_writer_config *cfg,
			    const char *host, struct header_strings *hs)
{
	hs->exe = cfg->exe ? cfg->exe : "";
	hs->host = host;
	hs->settings = cfg->settings ? cfg->settings : "";
	hs->exe_len = cap_len(hs->exe, PT_EXE_MAX);
	hs->host_len = cap_len(hs->host, PT_HOST_MAX);
	hs->settings_len = cap_len(hs->settings, PT_SETTINGS_MAX);
	uint32_t used = (uint32_t)sizeof(struct pt_file_header) + hs->exe_len +
			1 + hs->host_len + 1 + hs->settings_len + 1 + 1;
	hs->argc = 0;
	hs->argv_len = 0;
	for (int i = 0; cfg->argv && i < cfg->argc && cfg->argv[i]; i++) {
		size_t n = strlen(cfg->argv[i]) + 1;
		if (used + hs->argv_len + n > PT_HEADER_SIZE_DEFAULT)
			break;
		hs->argv_len += (uint32_t)n;
		hs->argc++;
	}
	used += hs->argv_len;
	return (used + 4095u) & ~4095u;
}

/* Copy one string into the header area at *pos; returns its offset. */
static uint32_t header_put(uint8_t *map, uint32_t *pos, const char *s,
			   uint32_t len)
{
	uint32_t off = *pos;
	memcpy(map + off, s, len);
	map[off + len] = '\0';
	*pos += len + 1;
	return off;
}

static void header_fill(struct pt_writer *w, const struct pt_writer_config *cfg,
			const struct header_strings *hs)
{
	struct pt_file_header *h = w->hdr;
	struct timespec rt, mono;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	h->version = PT_DUMP_VERSION;
	h->byte_order = PT_BYTE_ORDER_MARK;
	h->header_size = w->header_size;
	h->chunk_size = w->chunk_size;
	h->max_size = w->map_size;
	h->chunk_slots = w->chunk_slots;
	h->mode = (uint32_t)w->mode;
	h->flags = cfg->flags;
	h->clock_id = CLOCK_MONOTONIC;
	h->pid = (int32_t)getpid();
	h->ppid = (int32_t)getppid();
	h->realtime_anchor_ns = (uint64_t)rt.tv_sec * 1000000000u + rt.tv_nsec;
	h->monotonic_anchor_ns =
	    (uint64_t)mono.tv_sec * 1000000000u + mono.tv_nsec;

	uint32_t pos = (uint32_t)sizeof(*h);
	h->exe_off = header_put(w->map, &pos, hs->exe, hs->exe_len);
	h->exe_len = hs->exe_len;
	h->host_off = header_put(w->map, &pos, hs->host, hs->host_len);
	h->host_len = hs->host_len;
	h->settings_off =
	    header_put(w->map, &pos, hs->settings, hs->settings_len);
	h->settings_len = hs->settings_len;
	h->argv_off = pos;
	for (uint32_t i = 0; i < hs->argc; i++)
		header_put(w->map, &pos, cfg->argv[i],
			   (uint32_t)strlen(cfg->argv[i]));
	h->argv_len = hs->argv_len;
	h->argc = hs->argc;
	/* Release: every header byte above is stored before the magic, so a
	 * writer killed mid-header leaves a file that reads as incomplete. */
	atomic_thread_fence(memory_order_release);
	memcpy(h->magic, PT_DUMP_MAGIC, PT_DUMP_MAGIC_LEN);
}

/* Sizes from the config; -EINVAL when they cannot make a dump. */
static int writer_sizes(struct pt_writer *w, const struct pt_writer_config *cfg,
			uint32_t header_size)
{
	uint64_t max = cfg->max_size ? cfg->max_size : PT_MAX_SIZE_DEFAULT;
	uint32_t chunk =
	    cfg->chunk_size ? cfg->chunk_size : PT_CHUNK_SIZE_DEFAULT;

	if (chunk < PT_CHUNK_MIN_SIZE || chunk % 4096u ||
	    max < (uint64_t)header_size + chunk)
		return -EINVAL;
	uint64_t slots = (max - header_size) / chunk;
	if (slots > UINT32_MAX)
		slots = UINT32_MAX;
	w->mode = cfg->mode ? cfg->mode : PT_MODE_WRAP;
	if (w->mode != PT_MODE_WRAP && w->mode != PT_MODE_STOP)
		return -EINVAL;
	w->header_size = header_size;
	w->chunk_size = chunk;
	w->chunk_slots = (uint32_t)slots;
	w->map_size = header_size + slots * chunk;
	return 0;
}

/* ---- 3. chunk claiming ------------------------------------------------- */

static struct pt_chunk_header *chunk_at(struct pt_writer *w, uint64_t slot)
{
	return (struct pt_chunk_header *)(w->map + w->header_size +
					  slot * w->chunk_size);
}

static void count_drop(struct pt_writer *w, enum pt_drop_cause cause,
		       uint64_t n)
{
	PT_DEBUG_ASSERT((unsigned)cause < PT_DROP_CAUSE_COUNT); /* W5 */
	/* Relaxed (W5): a total, read after the fact. */
	__atomic_fetch_add(&w->hdr->drops[cause], n, __ATOMIC_RELAXED);
}

static void cursor_close_chunk(struct pt_writer_cursor *c)
{
	if (!c->chunk)
		return;
	struct pt_chunk_header *ch = (struct pt_chunk_header *)c->chunk;
	/* W2: only the owner closes, and only an OPEN chunk. */
	PT_DEBUG_ASSERT(__atomic_load_n(&ch->state, __ATOMIC_RELAXED) ==
			PT_CHUNK_OPEN);
	/* Release (W2): our last commit and nevents are visible to whoever
	 * claims the slot next (its CAS acquires this store). */
	__atomic_store_n(&ch->state, PT_CHUNK_CLOSED, __ATOMIC_RELEASE);
	c->chunk = NULL;
}

/* We own the slot (state CLAIMING or a fresh FREE slot in stop mode):
 * write its header and publish it. */
static void chunk_init(struct pt_writer *w, struct pt_writer_cursor *c,
		       struct pt_chunk_header *ch, uint64_t seq)
{
	/* W2: we moved the slot to CLAIMING; W4: its pages are in the file. */
	PT_DEBUG_ASSERT(__atomic_load_n(&ch->state, __ATOMIC_RELAXED) ==
			PT_CHUNK_CLAIMING);
	PT_DEBUG_ASSERT(writer_file_covers(
	    w, (uint64_t)((uint8_t *)ch - w->map) + w->chunk_size));
	writer_prefault((uint8_t *)ch, w->chunk_size);
	ch->magic = PT_CHUNK_MAGIC;
	ch->seq = seq;
	ch->tid = c->tid;
	ch->pad0 = 0;
	ch->nevents = 0;
	memset(ch->reserved, 0, sizeof(ch->reserved));
	/* W3: the first commit word is zero before anyone may read past the
	 * header; earlier tenants' records are then unreachable. */
	memset(ch + 1, 0, sizeof(uint64_t));
	/* Release (W2): the header above is complete before state says OPEN. */
	__atomic_store_n(&ch->state, PT_CHUNK_OPEN, __ATOMIC_RELEASE);
	c->chunk = (uint8_t *)ch;
	c->seq = seq;
	c->offset = (uint32_t)sizeof(*ch);
	c->next_id = 1;
	c->interned = 0;
	memset(c->intern, 0, sizeof(c->intern));
	c->next_stack_id = 1;
	c->stacks = 0;
	c->modules_gen = 0;
	memset(c->stack, 0, sizeof(c->stack));
}

static int claim_stop(struct pt_writer *w, struct pt_writer_cursor *c)
{
	uint64_t *next = &w->hdr->next_chunk_seq;

	/* Relaxed hint: once full, stop taking tickets, so a full dump costs
	 * a load per dropped event instead of a contended atomic add. */
	if (__atomic_load_n(next, __ATOMIC_RELAXED) >= w->chunk_slots)
		goto full;
	/* Relaxed (W1): the ticket only has to be unique; the slot's contents
	 * are published by the release store of its state. */
	uint64_t t = __atomic_fetch_add(next, 1, __ATOMIC_RELAXED);
	if (t >= w->chunk_slots)
		goto full;
	int rc = writer_alloc(w->fd, w->header_size + t * w->chunk_size,
			      w->chunk_size);
	if (rc < 0) {
		count_drop(w, PT_DROP_DISK, 1);
		return rc;
	}
	struct pt_chunk_header *ch = chunk_at(w, t);
	/* W1 (stop): the ticket is the slot, so nobody has used it yet. */
	PT_DEBUG_ASSERT(ch->state == PT_CHUNK_FREE);
	/* The ticket makes the slot ours; CLAIMING is still stored first so
	 * that a kill mid-init leaves a slot readers skip, not a FREE one
	 * with a magic (which they count as damaged).  The release fence
	 * keeps the header stores below after it. */
	__atomic_store_n(&ch->state, PT_CHUNK_CLAIMING, __ATOMIC_RELAXED);
	atomic_thread_fence(memory_order_release);
	chunk_init(w, c, ch, t);
	return 0;
full:
	count_drop(w, PT_DROP_FULL, 1);
	return -ENOSPC;
}

/*
 * Wrap mode: slot = ticket % slots.  The ticket alone does not make us the
 * slot's only claimer -- a slow holder of an older ticket for the same slot
 * may still be on its way -- so the slot is taken with one CAS on its
 * state (FREE or CLOSED -> CLAIMING).  A slot that is OPEN (live owner) or
 * CLAIMING is skipped for the next ticket, a bounded number of times.
 * Every slot range is fallocated before its state is even read (W4): the
 * slow older claimer may not have extended the file yet.
 */
static int claim_wrap(struct pt_writer *w, struct pt_writer_cursor *c)
{
	for (int i = 0; i < PT_WRAP_ATTEMPTS; i++) {
		/* Relaxed (W1): see claim_stop; the CAS below orders. */
		uint64_t t = __atomic_fetch_add(&w->hdr->next_chunk_seq, 1,
						__ATOMIC_RELAXED);
		uint64_t slot = t % w->chunk_slots;
		int rc =
		    writer_alloc(w->fd, w->header_size + slot * w->chunk_size,
				 w->chunk_size);
		if (rc < 0) {
			count_drop(w, PT_DROP_DISK, 1);
			return rc;
		}
		struct pt_chunk_header *ch = chunk_at(w, slot);
		uint32_t st = __atomic_load_n(&ch->state, __ATOMIC_RELAXED);
		if (st != PT_CHUNK_FREE && st != PT_CHUNK_CLOSED)
			continue;
		/* Acquire: pairs with the old owner's release of CLOSED, so
		 * its final nevents is what we count as overwritten. */
		if (!__atomic_compare_exchange_n(
			&ch->state, &st, PT_CHUNK_CLAIMING, 0, __ATOMIC_ACQUIRE,
			__ATOMIC_RELAXED))
			continue;
		if (st == PT_CHUNK_CLOSED && ch->magic == PT_CHUNK_MAGIC)
			count_drop(w, PT_DROP_WRAPPED, ch->nevents);
		chunk_init(w, c, ch, t);
		return 0;
	}
	count_drop(w, PT_DROP_NO_CHUNK, 1);
	return -EBUSY;
}

/* Move the cursor to a fresh chunk.  errno is the host program's: the
 * syscalls here must not change it. */
static int writer_claim(struct pt_writer *w, struct pt_writer_cursor *c)
{
	int saved = errno;
	cursor_close_chunk(c);
	int rc = w->mode == PT_MODE_STOP ? claim_stop(w, c) : claim_wrap(w, c);
	errno = saved;
	return rc;
}

/* ---- 4. interning and commit ------------------------------------------- */

/* Eight bytes per step (a multiply-xorshift mix): texts are tens to
 * hundreds of bytes and hashed once per event.  In memory only (the
 * cursor's table), never in the dump; a collision costs a memcmp. */
static uint32_t intern_hash(const char *s, size_t n)
{
	const uint64_t mul = 0x9e3779b97f4a7c15ull; /* 2^64 / golden ratio */
	uint64_t h = n * mul, w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * mul;
		h ^= h >> 29;
	}
	w = 0;
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)(uint8_t)s[i] << (8 * i);
	h = (h ^ w) * mul;
	h ^= h >> 32;
	return (uint32_t)h;
}

static uint32_t string_rec_size(uint32_t len)
{
	return round8((uint32_t)sizeof(struct pt_string_record) + len + 1);
}

/* Publish the record of `size` bytes at the cursor (W3): zero the next
 * commit word, then store this one with release ordering. */
static void record_commit(struct pt_writer_cursor *c, uint32_t size,
			  uint32_t chunk_size)
{
	uint8_t *at = c->chunk + c->offset;
	/* W3: the record fits, and its commit word was zero until now. */
	PT_DEBUG_ASSERT(c->offset + size <= chunk_size);
	PT_DEBUG_ASSERT(__atomic_load_n((uint64_t *)at, __ATOMIC_RELAXED) == 0);
	if (c->offset + size < chunk_size)
		memset(at + size, 0, sizeof(uint64_t));
	/* Release: the record's bytes (and the zeroed next word) are visible
	 * before the commit word that makes them count. */
	__atomic_store_n((uint64_t *)at, pt_commit_word(size, c->seq),
			 __ATOMIC_RELEASE);
	c->offset += size;
}

/* The id of text in this chunk, or 0; *slot gets the free table slot. */
static uint32_t intern_find(const struct pt_writer_cursor *c, const char *text,
			    uint32_t len, uint32_t h, uint32_t *slot)
{
	uint32_t i = h & (PT_INTERN_SLOTS - 1);

	for (;; i = (i + 1) & (PT_INTERN_SLOTS - 1)) {
		const struct pt_intern_slot *s = &c->intern[i];
		if (!s->id)
			break;
		if (s->hash != h)
			continue;
		/* Bytes, not hash: a collision must never alias two texts. */
		const struct pt_string_record *r =
		    (const void *)(c->chunk + s->offset);
		if (r->len == len && !memcmp(r + 1, text, len))
			return s->id;
	}
	*slot = i;
	return 0;
}

/* Intern text in the cursor's chunk, writing a PT_REC_STRING when it is
 * new.  The caller has checked that the string record fits. */
static uint32_t intern_put(struct pt_writer *w, struct pt_writer_cursor *c,
			   const char *text, uint32_t len)
{
	uint32_t h = intern_hash(text, len), slot = 0;
	uint32_t id = intern_find(c, text, len, h, &slot);
	if (id)
		return id;
	if (c->interned >= PT_INTERN_LIMIT) {
		/* Full: forget the table, not the chunk.  Ids keep counting,
		 * so a re-interned text gets a new id and old ones stay valid.
		 */
		memset(c->intern, 0, sizeof(c->intern));
		c->interned = 0;
		slot = h & (PT_INTERN_SLOTS - 1);
	}
	uint32_t size = string_rec_size(len);
	struct pt_string_record *r = (void *)(c->chunk + c->offset);
	r->type = PT_REC_STRING;
	r->len = (uint16_t)len;
	r->id = c->next_id++;
	memcpy(r + 1, text, len);
	memset((uint8_t *)(r + 1) + len, 0, size - sizeof(*r) - len);
	c->intern[slot] = (struct pt_intern_slot){h, r->id, c->offset};
	c->interned++;
	record_commit(c, size, w->chunk_size);
	return r->id;
}

/* Cut text to PT_TEXT_MAX on a UTF-8 character boundary. */
static uint32_t text_cut(const char *text, size_t len, uint32_t *flags)
{
	if (len <= PT_TEXT_MAX)
		return (uint32_t)len;
	uint32_t n = PT_TEXT_MAX;
	while (n > PT_TEXT_MAX - 3 && ((uint8_t)text[n] & 0xc0) == 0x80)
		n--;
	*flags |= PT_EV_TRUNCATED;
	return n;
}

/*
 * Make room for a record of rec_size bytes preceded, when text is not yet
 * interned in the current chunk, by its string record; intern it.  Returns
 * the text id (0 for no text) through *id, or -errno (drop counted).
 */
static int writer_reserve(struct pt_writer *w, struct pt_writer_cursor *c,
			  const char *text, uint32_t len, uint32_t rec_size,
			  uint32_t *id)
{
	uint32_t room =
	    w->chunk_size - (uint32_t)sizeof(struct pt_chunk_header);
	uint32_t str = text ? string_rec_size(len) : 0;

	*id = 0;
	if (str + rec_size > room) {
		count_drop(w, PT_DROP_TOO_BIG, 1);
		return -E2BIG;
	}
	if (c->chunk && text) {
		uint32_t slot;
		*id = intern_find(c, text, len, intern_hash(text, len), &slot);
		if (*id)
			str = 0;
	}
	if (!c->chunk || c->offset + str + rec_size > w->chunk_size) {
		int rc = writer_claim(w, c);
		if (rc < 0)
			return rc;
		*id = 0;
	}
	if (text && !*id)
		*id = intern_put(w, c, text, len);
	return 0;
}

static uint32_t clamp32(uint64_t v, uint32_t *flags)
{
	if (v <= UINT32_MAX)
		return (uint32_t)v;
	*flags |= PT_EV_SATURATED;
	return UINT32_MAX;
}

static uint16_t clamp16(uint32_t v, uint32_t *flags)
{
	if (v <= UINT16_MAX)
		return (uint16_t)v;
	*flags |= PT_EV_SATURATED;
	return UINT16_MAX;
}

/* ---- 4b. stacks (I7) ---------------------------------------------------- */

static uint32_t stack_rec_size(uint32_t n_native, uint32_t n_python)
{
	return round8((uint32_t)sizeof(struct pt_stack_record) + 8 * n_native +
		      (uint32_t)sizeof(struct pt_py_frame) * n_python);
}

/* Worst case bytes a new stack costs in a chunk: its record, two strings
 * per Python frame, and the module list with its paths. */
static uint32_t stack_worst(const struct pt_writer_cursor *c,
			    const struct pt_stack *st, int fresh_chunk)
{
	uint64_t n = stack_rec_size(st->n_native, st->n_python);
	n += (uint64_t)st->n_python * (string_rec_size(PT_FRAME_FUNC_MAX) +
				       string_rec_size(PT_FRAME_FILE_MAX));
	if (st->n_native && (fresh_chunk || c->modules_gen != st->modules_gen))
		for (uint32_t i = 0; i < st->n_modules; i++)
			n += sizeof(struct pt_module_record) +
			     string_rec_size(st->modules[i].path_len);
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* The id of st in this chunk, or 0; *slot gets the free table slot. */
static uint32_t stack_find(const struct pt_writer_cursor *c,
			   const struct pt_stack *st, uint32_t *slot)
{
	uint32_t i = (uint32_t)st->hash & (PT_STACK_SLOTS - 1);

	for (;; i = (i + 1) & (PT_STACK_SLOTS - 1)) {
		const struct pt_stack_slot *s = &c->stack[i];
		if (!s->id)
			break;
		if (s->hash != st->hash)
			continue;
		const struct pt_stack_record *r =
		    (const void *)(c->chunk + s->offset);
		if (r->n_native == st->n_native &&
		    r->n_python == st->n_python &&
		    !memcmp(r + 1, st->native, 8 * (size_t)st->n_native))
			return s->id;
	}
	*slot = i;
	return 0;
}

static void put_modules(struct pt_writer *w, struct pt_writer_cursor *c,
			const struct pt_stack *st)
{
	for (uint32_t i = 0; i < st->n_modules; i++) {
		const struct pt_module_info *m = &st->modules[i];
		uint32_t len =
		    m->path_len > PT_TEXT_MAX ? PT_TEXT_MAX : m->path_len;
		struct pt_module_record r = {.type = PT_REC_MODULE};
		r.path_id = len ? intern_put(w, c, m->path, len) : 0;
		r.build_id_len = m->build_id_len > 20 ? 20 : m->build_id_len;
		memcpy(r.build_id, m->build_id, r.build_id_len);
		r.base = m->base;
		r.lo = m->lo;
		r.hi = m->hi;
		memcpy(c->chunk + c->offset, &r, sizeof(r));
		record_commit(c, sizeof(r), w->chunk_size);
	}
	c->modules_gen = st->modules_gen;
}

/* Resolve and intern st's Python frames into py[], then write the stack
 * record.  The caller reserved stack_worst() bytes. */
static uint32_t put_stack(struct pt_writer *w, struct pt_writer_cursor *c,
			  const struct pt_stack *st, uint32_t slot)
{
	struct pt_py_frame py[PT_STACK_MAX_PYTHON];
	uint16_t flags = st->flags;

	if (st->n_native && c->modules_gen != st->modules_gen)
		put_modules(w, c, st);
	for (uint32_t i = 0; i < st->n_python; i++) {
		struct pt_frame_text t = {0};
		py[i] = (struct pt_py_frame){0};
		if (st->resolve(st->arg, i, &t) < 0) {
			flags |= PT_STACK_PY_FAULT;
			continue;
		}
		uint32_t fl = t.func_len > PT_FRAME_FUNC_MAX ? PT_FRAME_FUNC_MAX
							     : t.func_len;
		uint32_t pl = t.file_len > PT_FRAME_FILE_MAX ? PT_FRAME_FILE_MAX
							     : t.file_len;
		py[i].func_id = fl ? intern_put(w, c, t.func, fl) : 0;
		py[i].file_id = pl ? intern_put(w, c, t.file, pl) : 0;
		py[i].line = t.line;
	}
	if (c->stacks >= PT_STACK_SLOTS * 3 / 4) {
		/* Full: forget the table (ids keep counting, as for text). */
		memset(c->stack, 0, sizeof(c->stack));
		c->stacks = 0;
		slot = (uint32_t)st->hash & (PT_STACK_SLOTS - 1);
	}
	uint32_t size = stack_rec_size(st->n_native, st->n_python);
	uint8_t *at = c->chunk + c->offset;
	struct pt_stack_record r = {.type = PT_REC_STACK};
	r.n_native = (uint16_t)st->n_native;
	r.n_python = (uint16_t)st->n_python;
	r.flags = flags;
	r.id = c->next_stack_id++;
	memset(at + sizeof(r), 0, size - sizeof(r));
	memcpy(at + sizeof(r), st->native, 8 * (size_t)st->n_native);
	memcpy(at + sizeof(r) + 8 * st->n_native, py,
	       sizeof(py[0]) * st->n_python);
	memcpy(at, &r, sizeof(r));
	c->stack[slot] = (struct pt_stack_slot){st->hash, r.id, c->offset};
	c->stacks++;
	record_commit(c, size, w->chunk_size);
	return r.id;
}

/*
 * Before an event: find st in the chunk, or make room (a fresh chunk if
 * needed) for it and the event (rec_size, text of len bytes), then write
 * it.  *sid = 0 when the stack cannot fit in any chunk; the event goes on.
 */
static int stack_reserve(struct pt_writer *w, struct pt_writer_cursor *c,
			 const struct pt_stack *st, const char *text,
			 uint32_t len, uint32_t rec_size, uint32_t *sid)
{
	uint32_t room =
	    w->chunk_size - (uint32_t)sizeof(struct pt_chunk_header);
	uint32_t ev = (text ? string_rec_size(len) : 0) + rec_size, slot = 0;

	*sid = 0;
	if (st->n_native > PT_STACK_MAX_NATIVE ||
	    st->n_python > PT_STACK_MAX_PYTHON ||
	    (!st->n_native && !st->n_python))
		return 0;
	if (c->chunk && (*sid = stack_find(c, st, &slot)) &&
	    c->offset + ev <= w->chunk_size)
		return 0;
	*sid = 0;
	if ((uint64_t)stack_worst(c, st, 1) + ev > room)
		return 0;
	if (!c->chunk ||
	    (uint64_t)c->offset + stack_worst(c, st, 0) + ev > w->chunk_size) {
		int rc = writer_claim(w, c);
		if (rc < 0)
			return rc;
	}
	if ((*sid = stack_find(c, st, &slot)))
		return 0;
	*sid = put_stack(w, c, st, slot);
	return 0;
}

static int put_event(struct pt_writer *w, struct pt_writer_cursor *c,
		     const struct pt_event *ev, const struct pt_stack *st)
{
	struct pt_event_record r = {.type = PT_REC_EVENT};
	uint32_t flags = ev->flags, len = 0, id, sid = 0;

	const char *text = ev->text && ev->text_len ? ev->text : NULL;
	if (text)
		len = text_cut(text, ev->text_len, &flags);
	int rc = st ? stack_reserve(w, c, st, text, len, sizeof(r), &sid) : 0;
	if (rc < 0)
		return rc;
	rc = writer_reserve(w, c, text, len, sizeof(r), &id);
	if (rc < 0)
		return rc;
	r.kind = ev->kind;
	r.outcome = ev->outcome;
	r.text_id = id;
	r.start_ns = ev->start_ns;
	r.duration_ns = ev->duration_ns;
	r.tid = c->tid;
	r.conn_id = ev->conn_id;
	r.status = ev->status;
	r.rows = clamp32(ev->rows, &flags);
	r.bytes_out = clamp32(ev->bytes_out, &flags);
	r.bytes_in = clamp32(ev->bytes_in, &flags);
	r.cache_hits = clamp16(ev->cache_hits, &flags);
	r.cache_misses = clamp16(ev->cache_misses, &flags);
	r.request_id = ev->request_id;
	r.stack_id = sid ? sid : ev->stack_id;
	r.server_status = ev->server_status;
	r.warnings = ev->warnings;
	r.scan_steps = ev->scan_steps;
	r.vm_steps = ev->vm_steps;
	r.sorts = clamp16(ev->sorts, &flags);
	r.auto_indexes = clamp16(ev->auto_indexes, &flags);
	r.attr = ev->attr;
	r.task_key = ev->task_key;
	r.head_us = ev->head_us;
	r.flags = flags;
	/* commit is 0 in r, and the word in the chunk is already 0 (W3). */
	memcpy(c->chunk + c->offset, &r, sizeof(r));
	record_commit(c, sizeof(r), w->chunk_size);
	struct pt_chunk_header *ch = (struct pt_chunk_header *)c->chunk;
	/* Relaxed: only the owner writes it; a reclaimer reads it after the
	 * CLOSED release / CAS acquire pair. */
	__atomic_store_n(&ch->nevents, ch->nevents + 1, __ATOMIC_RELAXED);
	return 0;
}

static int put_conn(struct pt_writer *w, struct pt_writer_cursor *c,
		    const struct pt_conn_info *ci)
{
	struct pt_conn_record r = {.type = PT_REC_CONN};
	uint32_t flags = 0, len = 0, id;

	const char *text = ci->text && ci->text_len ? ci->text : NULL;
	if (text)
		len = text_cut(text, ci->text_len, &flags);
	int rc = writer_reserve(w, c, text, len, sizeof(r), &id);
	if (rc < 0)
		return rc;
	r.event = ci->event;
	r.role = ci->role;
	r.conn_id = ci->conn_id;
	r.time_ns = ci->time_ns;
	r.tid = c->tid;
	r.proto = ci->proto;
	r.family = ci->family;
	r.port = ci->port;
	memcpy(r.addr, ci->addr, sizeof(r.addr));
	r.text_id = id;
	r.server_conn_id = ci->server_conn_id;
	r.events = ci->events;
	r.undecoded_bytes = ci->undecoded_bytes;
	r.connect_ns = ci->connect_ns;
	r.auth_ns = ci->auth_ns;
	r.conn_flags = ci->conn_flags;
	memcpy(c->chunk + c->offset, &r, sizeof(r));
	record_commit(c, sizeof(r), w->chunk_size);
	return 0;
}

static int put_sample(struct pt_writer *w, struct pt_writer_cursor *c,
		      const struct pt_sample_record *sr)
{
	struct pt_sample_record r = *sr;
	uint32_t id;
	int rc = writer_reserve(w, c, NULL, 0, sizeof(r), &id);
	if (rc < 0)
		return rc;
	r.commit = 0;
	r.type = PT_REC_SAMPLE;
	memcpy(c->chunk + c->offset, &r, sizeof(r));
	record_commit(c, sizeof(r), w->chunk_size);
	return 0;
}

/* Common entry of both emitters: the nesting guard and the fork check.
 * Returns 0 when the caller may write. */
static int emit_enter(struct pt_writer *w, struct pt_writer_cursor *c)
{
	if (!w->map)
		return -EBADF;
	/* Relaxed + signal fence: only a signal handler on this same thread
	 * can observe nesting, and the fence keeps the compiler from moving
	 * chunk writes across the flag. */
	if (__atomic_load_n(&c->nesting, __ATOMIC_RELAXED)) {
		count_drop(w, PT_DROP_NESTED, 1);
		return -EDEADLK;
	}
	__atomic_store_n(&c->nesting, 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (c->writer_generation != w->generation) {
		/* Reopened (fork): the chunk belongs to another file. */
		c->chunk = NULL;
		c->writer_generation = w->generation;
	}
	return 0;
}

static void emit_leave(struct pt_writer_cursor *c)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&c->nesting, 0, __ATOMIC_RELAXED);
}

/* ---- 5. public API ------------------------------------------------------ */

int pt_writer_prepare_dir(const char *dir)
{
	if (pt_sys.mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	int fd = writer_open_dir(dir);
	if (fd < 0)
		return fd;
	pt_sys.close(fd);
	return 0;
}

/* Create, size and map the file; fills w->fd, w->map, w->path. */
static int writer_create_file(struct pt_writer *w,
			      const struct pt_writer_config *cfg)
{
	char stem[64], name[128];
	int dirfd = writer_open_dir(cfg->dir);
	if (dirfd < 0)
		return dirfd;
	writer_stem(cfg->name_hint, stem, sizeof(stem));
	int fd = writer_create(dirfd, stem, name, sizeof(name));
	if (fd < 0) {
		pt_sys.close(dirfd);
		return fd;
	}
	int rc = writer_alloc(fd, 0, w->header_size);
	void *map = MAP_FAILED;
	if (rc == 0) {
		map = pt_sys.mmap(NULL, w->map_size, PROT_READ | PROT_WRITE,
				  MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			rc = -errno;
	}
	if (rc < 0) {
		pt_sys.unlinkat(dirfd, name, 0);
		pt_sys.close(fd);
		pt_sys.close(dirfd);
		return rc;
	}
	pt_sys.close(dirfd);
	w->fd = fd;
	w->map = map;
	w->hdr = map;
	snprintf(w->path, sizeof(w->path), "%s/%s", cfg->dir, name);
	return 0;
}

int pt_writer_open(struct pt_writer *w, const struct pt_writer_config *cfg)
{
	char host[PT_HOST_MAX + 1] = "";
	struct header_strings hs;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	if (!cfg || !cfg->dir)
		return -EINVAL;
	gethostname(host, sizeof(host) - 1);
	int rc = writer_sizes(w, cfg, header_plan(cfg, host, &hs));
	if (rc == 0)
		rc = writer_create_file(w, cfg);
	if (rc < 0) {
		w->fd = -1;
		w->map = NULL;
		w->hdr = NULL;
		return rc;
	}
	header_fill(w, cfg, &hs);
	/* Relaxed: uniqueness is all a generation needs. */
	w->generation =
	    __atomic_add_fetch(&writer_generations, 1, __ATOMIC_RELAXED);
	return 0;
}

int pt_writer_emit_event(struct pt_writer *w, struct pt_writer_cursor *c,
			 const struct pt_event *ev)
{
	int rc = emit_enter(w, c);
	if (rc < 0)
		return rc;
	rc = put_event(w, c, ev, NULL);
	emit_leave(c);
	return rc;
}

int pt_writer_emit_event_stack(struct pt_writer *w, struct pt_writer_cursor *c,
			       const struct pt_event *ev,
			       const struct pt_stack *st)
{
	int rc = emit_enter(w, c);
	if (rc < 0)
		return rc;
	rc = put_event(w, c, ev, st);
	emit_leave(c);
	return rc;
}

int pt_writer_emit_conn(struct pt_writer *w, struct pt_writer_cursor *c,
			const struct pt_conn_info *ci)
{
	int rc = emit_enter(w, c);
	if (rc < 0)
		return rc;
	rc = put_conn(w, c, ci);
	emit_leave(c);
	return rc;
}

int pt_writer_emit_sample(struct pt_writer *w, struct pt_writer_cursor *c,
			  const struct pt_sample_record *s)
{
	int rc = emit_enter(w, c);
	if (rc < 0)
		return rc;
	rc = put_sample(w, c, s);
	emit_leave(c);
	return rc;
}

void pt_writer_count_drop(struct pt_writer *w, enum pt_drop_cause cause)
{
	if (w->hdr && (unsigned)cause < PT_DROP_CAUSE_COUNT)
		count_drop(w, cause, 1);
}

void pt_writer_count(struct pt_writer *w, enum pt_counter counter)
{
	/* Relaxed (W5). */
	if (w->hdr && (unsigned)counter < PT_CNT_COUNT)
		__atomic_fetch_add(&w->hdr->counters[counter], 1,
				   __ATOMIC_RELAXED);
}

void pt_writer_cursor_init(struct pt_writer_cursor *c, uint32_t tid)
{
	memset(c, 0, sizeof(*c));
	c->tid = tid;
}

void pt_writer_cursor_release(struct pt_writer *w, struct pt_writer_cursor *c)
{
	if (w->map && c->writer_generation == w->generation)
		cursor_close_chunk(c);
	c->chunk = NULL;
}

void pt_writer_close(struct pt_writer *w)
{
	if (w->map)
		pt_sys.munmap(w->map, w->map_size);
	if (w->fd >= 0)
		pt_sys.close(w->fd);
	w->map = NULL;
	w->hdr = NULL;
	w->fd = -1;
	w->generation = 0;
}

void pt_writer_forget_after_fork(struct pt_writer *w)
{
	/* Same as close: neither touches the file's bytes, and the child's
	 * cursors notice the new generation of its next open. */
	pt_writer_close(w);
}
