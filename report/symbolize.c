/*
 * symbolize.c -- native return addresses to function and file:line,
 * offline, with elfutils' libdwfl over the modules a dump recorded.
 *
 * Each recorded module is reported to libdwfl at its load address; its
 * build-id is compared with the file's when both are known, and a module
 * whose file changed since the recording is left unsymbolized (its frames
 * keep their module and offset).
 */
#include "symbolize.h"

#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>

struct pt_sym {
	Dwfl *dwfl;
	const struct pt_read_module *mods;
	uint32_t nmods;
	uint8_t *stale; /* per module: build-id differs, do not trust */
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

int pt_sym_lookup(struct pt_sym *s, uint64_t ret_addr, struct pt_sym_frame *out)
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

void pt_sym_close(struct pt_sym *s)
{
	if (!s)
		return;
	if (s->dwfl)
		dwfl_end(s->dwfl);
	free(s->stale);
	free(s);
}
