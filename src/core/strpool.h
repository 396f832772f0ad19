/*
 * strpool: immutable strings kept once each, packed in large blocks. The
 * loader puts every string of the jobs it read here, so that 100,000 jobs
 * of one agent and one zone hold that agent and that zone once, and no
 * string pays a malloc of its own. The pool is sealed once the load is
 * done: the index used to find equal strings is dropped, the strings stay
 * until the pool is freed.
 */
#ifndef BC_STRPOOL_H
#define BC_STRPOOL_H

#include <stdbool.h>
#include <stddef.h>

struct strpool;

/* An empty pool. */
struct strpool *strpool_new(void);
/* The pool's copy of s (the same pointer for equal strings until the pool
 * is sealed; a new copy after), or NULL for NULL. */
const char *strpool_intern(struct strpool *p, const char *s);
/* Drop the index: later interns still copy, without looking for equals. */
void strpool_seal(struct strpool *p);
/* Bytes the pool holds (blocks and index), for the benchmarks and tests. */
size_t strpool_bytes(const struct strpool *p);
/* Free p and every string it holds. Accepts NULL. */
void strpool_free(struct strpool *p);

#endif
