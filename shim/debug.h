/*
 * debug.h -- PT_DEBUG_ASSERT: the invariant blocks (fdtab.h F1-F5,
 * writer.c W1-W5) checked in debug builds (-DPERFTAP_DEBUG: the
 * sanitizer unit tests, `make DEBUG=1`) and compiled out of the release
 * shim, where a failed check must never take the host program down.
 *
 * A failure writes one line with a raw system call (no stdio, no hook,
 * no table entry a test may have replaced) and aborts.
 */
#ifndef PERFTAP_DEBUG_H
#define PERFTAP_DEBUG_H

#ifdef PERFTAP_DEBUG
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline void pt_debug_fail(const char *what, const char *where)
{
	static const char head[] = "perftap: invariant broken: ";
	long rc = syscall(SYS_write, 2, head, sizeof(head) - 1);
	rc = syscall(SYS_write, 2, what, strlen(what));
	rc = syscall(SYS_write, 2, " at ", 4);
	rc = syscall(SYS_write, 2, where, strlen(where));
	rc = syscall(SYS_write, 2, "\n", 1);
	(void)rc;
	abort();
}

#define PT_DEBUG_STR2(x) #x
#define PT_DEBUG_STR(x)	 PT_DEBUG_STR2(x)
#define PT_DEBUG_ASSERT(cond)                                                  \
	((cond) ? (void)0                                                      \
		: pt_debug_fail(#cond, __FILE__ ":" PT_DEBUG_STR(__LINE__)))
#else
/* sizeof: the operands stay referenced (no unused warnings), never run. */
#define PT_DEBUG_ASSERT(cond) ((void)sizeof(!(cond)))
#endif

#endif /* PERFTAP_DEBUG_H */
