/*
 * plt_hook.h -- make one loaded module call a function of ours in place of
 * one function it imports, by rewriting that import's GOT slot (the
 * technique of uftrace's PLT hooks and of plthook).
 *
 * LD_PRELOAD cannot do this when the imported function is defined by the
 * executable itself: the executable comes first in the global lookup
 * scope.  CPython's C API is such a case (Debian's python3.11 links
 * libpython statically and exports it), and the asyncio hooks (task.h)
 * need to see one C-API call made by one extension module, _asyncio.
 *
 * Only the named module's slot changes: every other caller of the function
 * (the interpreter itself, other modules) still reaches it directly.  The
 * slot is found in the module's own relocation tables, as the dynamic
 * linker left them in memory (<link.h>, <elf.h>): the module file on disk
 * is never read.  A slot in the module's RELRO segment (full RELRO, -z
 * now) is made writable for the one store and read-only again.
 *
 * Contract: call outside any lock of the shim (dl_iterate_phdr takes the
 * loader's lock); the store is one aligned pointer write, so a thread
 * calling through the slot at that moment reaches either function.
 */
#ifndef PERFTAP_PLT_HOOK_H
#define PERFTAP_PLT_HOOK_H

/* Why an install did not happen (returned negated). */
enum plt_hook_error {
	PLT_HOOK_NO_MODULE = 1, /* no loaded module's path ends in suffix */
	PLT_HOOK_NO_IMPORT,	/* the module imports no such symbol */
	PLT_HOOK_PROTECT,	/* its RELRO page could not be made writable */
};

/* In the first loaded module whose path ends with module_suffix, point the
 * GOT slot of the imported function `symbol` at hook.  Returns 0, or
 * -enum plt_hook_error.  *slot (when not NULL) receives the slot's
 * address, so that a caller can check later that the store still holds
 * (a lazy binding racing the store could overwrite it). */
int plt_hook_install(const char *module_suffix, const char *symbol, void *hook,
		     void ***slot);

#endif /* PERFTAP_PLT_HOOK_H */
