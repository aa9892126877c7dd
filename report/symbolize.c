/*
 * symbolize.c -- native return addresses to function and file:line,
 * offline, with elfutils' libdwfl over the modules a dump recorded.
 *
 * Each recorded module is reported to libdwfl at its load address; its
 * build-id is compared with the file's when both are known, and a module
 * whose file changed since the recording is left unsymbolized (its frames
 * keep their module and offset).
 *
 * Answers are cached by address: libdwfl finds a function's name by a
 * scan of the module's symbol table, milliseconds for libpython, and a
 * report asks for the same few hundred return addresses once per event
 * (perftap events on a 100,000-operation pipeline: 2.7 ms per event
 * without the cache).
 */
#include "symbolize.h"

#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>

struct sym_cached {
	uint64_t ret_addr; /* 0: empty slot (0 is never looked up) */
	int found;
	struct pt_sym_frame frame;
};

struct pt_sym {
	Dwfl *dwfl;
	const struct pt_read_module *mods;
	uint32_t nmods;
	uint8_t *stale; /* per module: build-id differs, do not trust */
	struct sym_cached *cache; /* open addressing, power-of-2 size */
	size_t cache_cap, cache_used;
};

static char *debuginfo_path;

static const Dwfl_Callbacks sym_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

struct pt_sym *pt_sym_open(const struct pt_read_module *mods, uint32_t n)
{
	struct pt_sym *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->mods = mods;
	s->nmods = n;
	s->stale = calloc(n ? n : 1, 1);
	s->dwfl = dwfl_begin(&sym_callbacks);
	if (!s->stale || !s->dwfl) {
		pt_sym_close(s);
		return NULL;
	}
	dwfl_report_begin(s->dwfl);
	for (uint32_t i = 0; i < n; i++) {
		if (mods[i].path[0] != '/')
			continue; /* vdso and the like: no file */
		Dwfl_Module *m =
		    dwfl_report_elf(s->dwfl, base_name(mods[i].path),
				    mods[i].path, -1, mods[i].base, false);
		const unsigned char *bits;
		GElf_Addr vaddr;
		int len = m ? dwfl_module_build_id(m, &bits, &vaddr) : 0;
		if (m && len > 0 && mods[i].build_id_len &&
		    ((uint32_t)len != mods[i].build_id_len ||
		     memcmp(bits, mods[i].build_id, (size_t)len)))
			s->stale[i] = 1;
	}
	dwfl_report_end(s->dwfl, NULL, NULL);
	return s;
}

static const struct pt_read_module *sym_module(const struct pt_sym *s,
					       uint64_t a, uint32_t *idx)
{
	for (uint32_t i = 0; i < s->nmods; i++)
		if (a >= s->mods[i].lo && a < s->mods[i].hi) {
			*idx = i;
			return &s->mods[i];
		}
	return NULL;
}

static int sym_resolve(struct pt_sym *s, uint64_t ret_addr,
		       struct pt_sym_frame *out)
{
	/* A return address points after the call: look one byte back so
	 * that a call ending a function names that function and line. */
	uint64_t a = ret_addr ? ret_addr - 1 : 0;
	uint32_t idx = 0;

	memset(out, 0, sizeof(*out));
	out->func = out->file = out->module = "";
	const struct pt_read_module *m = sym_module(s, a, &idx);
	if (!m)
		return 0;
	out->module = m->path;
	out->offset = ret_addr - m->base;
	if (s->stale[idx])
		return 1;
	Dwfl_Module *dm = dwfl_addrmodule(s->dwfl, a);
	if (!dm)
		return 1;
	const char *name = dwfl_module_addrname(dm, a);
	if (name)
		out->func = name;
	Dwfl_Line *l = dwfl_module_getsrc(dm, a);
	int line = 0;
	const char *file =
	    l ? dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL) : NULL;
	if (file) {
		out->file = file;
		out->line = line > 0 ? (uint32_t)line : 0;
	}
	return 1;
}

static size_t cache_slot(const struct sym_cached *c, size_t cap, uint64_t a)
{
	size_t i = (size_t)((a * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
	while (c[i].ret_addr && c[i].ret_addr != a)
		i = (i + 1) & (cap - 1);
	return i;
}

/* Room for one more entry at most 3/4 full; 0, or -1 out of memory. */
static int cache_reserve(struct pt_sym *s)
{
	if (s->cache_cap && (s->cache_used + 1) * 4 <= s->cache_cap * 3)
		return 0;
	size_t cap = s->cache_cap ? s->cache_cap * 2 : 1024;
	struct sym_cached *n = calloc(cap, sizeof(*n));
	if (!n)
		return -1;
	for (size_t i = 0; i < s->cache_cap; i++)
		if (s->cache[i].ret_addr)
			n[cache_slot(n, cap, s->cache[i].ret_addr)] =
			    s->cache[i];
	free(s->cache);
	s->cache = n;
	s->cache_cap = cap;
	return 0;
}

int pt_sym_lookup(struct pt_sym *s, uint64_t ret_addr, struct pt_sym_frame *out)
{
	if (!ret_addr || cache_reserve(s) < 0)
		return sym_resolve(s, ret_addr, out); /* uncached */
	struct sym_cached *c = &s->cache[cache_slot(s->cache, s->cache_cap,
						    ret_addr)];
	if (!c->ret_addr) {
		c->ret_addr = ret_addr;
		c->found = sym_resolve(s, ret_addr, &c->frame);
		s->cache_used++;
	}
	*out = c->frame;
	return c->found;
}

void pt_sym_close(struct pt_sym *s)
{
	if (!s)
		return;
	free(s->cache);
	if (s->dwfl)
		dwfl_end(s->dwfl);
	free(s->stale);
	free(s);
}
