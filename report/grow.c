/*
 * grow.c -- doubling array growth with an overflow check (grow.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"

int pt_grow(void *pp, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : PT_GROW_FIRST;
	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	if (elem && n > SIZE_MAX / elem) {
		errno = ENOMEM;
		return -1;
	}
	/* The array pointer is read and written as bytes: pp may point at
	 * any object pointer type, which void * represents the same way. */
	void *old, *p;
	memcpy(&old, pp, sizeof(old));
	p = realloc(old, n * elem);
	if (!p)
		return -1;
	memcpy(pp, &p, sizeof(p));
	*cap = n;
	return 0;
}
