/*
 * plt_hook.c -- rewrite one module's GOT slot for one import (plt_hook.h).
 *
 * Everything read here is the dynamic linker's view of a loaded module:
 * its program headers (dl_phdr_info), its dynamic section, symbol and
 * string tables and relocations, all mapped for as long as the module is
 * loaded; dl_iterate_phdr holds the loader's lock while the callback runs,
 * so the module cannot go away under it.
 */
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "plt_hook.h"

#if defined(__x86_64__)
#define RELOC_JUMP_SLOT R_X86_64_JUMP_SLOT
#define RELOC_GLOB_DAT	R_X86_64_GLOB_DAT
#elif defined(__aarch64__)
#define RELOC_JUMP_SLOT R_AARCH64_JUMP_SLOT
#define RELOC_GLOB_DAT	R_AARCH64_GLOB_DAT
#else
#define RELOC_JUMP_SLOT (-1)
#define RELOC_GLOB_DAT	(-1)
#endif

struct install {
	const char *suffix, *symbol;
	void *hook;
	void **slot;
	int rc; /* -enum plt_hook_error until found */
};

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

/* glibc relocates the dynamic section's addresses in place on most
 * targets; where it does not, they are offsets from the load address. */
static uintptr_t dyn_addr(ElfW(Addr) base, ElfW(Addr) ptr)
{
	return ptr < base ? base + ptr : ptr;
}

/* The slot of `symbol` among n relocations at rel, or NULL. */
static void **find_slot(ElfW(Addr) base, const ElfW(Rela) * rel, size_t n,
			const ElfW(Sym) * symtab, const char *strtab,
			const char *symbol)
{
	for (size_t i = 0; i < n; i++) {
		long type = (long)ELF64_R_TYPE(rel[i].r_info);
		if (type != RELOC_JUMP_SLOT && type != RELOC_GLOB_DAT)
			continue;
		const ElfW(Sym) *s = &symtab[ELF64_R_SYM(rel[i].r_info)];
		if (s->st_name && !strcmp(strtab + s->st_name, symbol))
			return (void **)(base + rel[i].r_offset);
	}
	return NULL;
}

/* Is [slot, slot + 8) inside a segment of type `type` (and, for PT_LOAD,
 * a writable one)? */
static int slot_in(const struct dl_phdr_info *info, void **slot, uint32_t type)
{
	uintptr_t a = (uintptr_t)slot;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + p->p_vaddr;
		if (p->p_type != type || a < lo ||
		    a + sizeof(*slot) > lo + p->p_memsz)
			continue;
		if (type != PT_LOAD || (p->p_flags & PF_W))
			return 1;
	}
	return 0;
}

static int store(void **slot, void *hook, int relro)
{
	if (!relro) {
		__atomic_store_n(slot, hook, __ATOMIC_RELEASE);
		return 0;
	}
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t lo = (uintptr_t)slot & ~((uintptr_t)page - 1);
	size_t len = (uintptr_t)(slot + 1) - lo;
	if (mprotect((void *)lo, len, PROT_READ | PROT_WRITE) != 0)
		return -PLT_HOOK_PROTECT;
	__atomic_store_n(slot, hook, __ATOMIC_RELEASE);
	mprotect((void *)lo, len, PROT_READ);
	return 0;
}

static int module_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct install *in = arg;
	(void)size;
	if (!info->dlpi_name || !ends_with(info->dlpi_name, in->suffix))
		return 0;
	in->rc = -PLT_HOOK_NO_IMPORT;
	const ElfW(Dyn) *dyn = NULL;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(info->dlpi_addr +
						  info->dlpi_phdr[i].p_vaddr);
	if (!dyn)
		return 1;
	uintptr_t symtab = 0, strtab = 0, jmprel = 0, rela = 0;
	size_t jmprel_sz = 0, rela_sz = 0;
	int pltrel_is_rela = 1;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		ElfW(Addr) b = info->dlpi_addr;
		switch (dyn->d_tag) {
		case DT_SYMTAB:
			symtab = dyn_addr(b, dyn->d_un.d_ptr);
			break;
		case DT_STRTAB:
			strtab = dyn_addr(b, dyn->d_un.d_ptr);
			break;
		case DT_JMPREL:
			jmprel = dyn_addr(b, dyn->d_un.d_ptr);
			break;
		case DT_RELA:
			rela = dyn_addr(b, dyn->d_un.d_ptr);
			break;
		case DT_PLTRELSZ:
			jmprel_sz = dyn->d_un.d_val;
			break;
		case DT_RELASZ:
			rela_sz = dyn->d_un.d_val;
			break;
		case DT_PLTREL:
			pltrel_is_rela = dyn->d_un.d_val == DT_RELA;
			break;
		}
	}
	if (!symtab || !strtab)
		return 1;
	/* The PLT's relocations first; then the others, where a module
	 * built with -fno-plt calls through a GLOB_DAT slot. */
	const struct {
		uintptr_t at;
		size_t size;
	} tables[] = {{pltrel_is_rela ? jmprel : 0, jmprel_sz}, {rela, rela_sz}};
	void **slot = NULL;
	for (size_t i = 0; i < 2 && !slot; i++)
		if (tables[i].at)
			slot = find_slot(info->dlpi_addr,
					 (const ElfW(Rela) *)tables[i].at,
					 tables[i].size / sizeof(ElfW(Rela)),
					 (const ElfW(Sym) *)symtab,
					 (const char *)strtab, in->symbol);
	if (!slot || !slot_in(info, slot, PT_LOAD))
		return 1;
	in->rc = store(slot, in->hook, slot_in(info, slot, PT_GNU_RELRO));
	if (in->rc == 0)
		in->slot = slot;
	return 1;
}

int plt_hook_install(const char *module_suffix, const char *symbol, void *hook,
		     void ***slot)
{
	struct install in = {module_suffix, symbol, hook, NULL,
			     -PLT_HOOK_NO_MODULE};
	dl_iterate_phdr(module_cb, &in);
	if (slot)
		*slot = in.slot;
	return in.rc;
}
