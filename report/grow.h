/*
 * grow.h -- the report's one way to grow an array: capacity doubles (from
 * PT_GROW_FIRST elements) until it holds what is needed, with the byte
 * count checked for overflow, so that appending n elements costs
 * O(log n) reallocations.
 */
#ifndef PERFTAP_GROW_H
#define PERFTAP_GROW_H

#include <stddef.h>

#define PT_GROW_FIRST 16u

/* Make *pp (a pointer to an array of elem-byte elements with room for
 * *cap of them; passed as the address of any object pointer) hold at
 * least need elements.  Returns 0, or -1 with *pp and *cap unchanged
 * when out of memory or when need * elem overflows. */
int pt_grow(void *pp, size_t *cap, size_t need, size_t elem);

/* PT_GROW(arr, cap, need): pt_grow on an array and its size_t capacity. */
#define PT_GROW(arr, cap, need) pt_grow(&(arr), &(cap), (need), sizeof(*(arr)))

#endif /* PERFTAP_GROW_H */
