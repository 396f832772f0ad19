/*
 * strpool: strings appended to blocks of STRPOOL_BLOCK bytes (a longer one
 * gets a block of its own), found again through an open-addressing table
 * of pointers keyed by FNV-1a, grown at half full.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strpool.h"
#include "util.h"

#define STRPOOL_BLOCK (64u << 10)

struct block {
	struct block *next;
	size_t used, size;
	char data[];
};

struct strpool {
	struct block *blocks; /* the newest first: the one being filled */
	size_t block_bytes;
	const char **index;   /* NULL when sealed */
	size_t n_index, cap_index; /* cap a power of two */
	bool sealed;
};

struct strpool *strpool_new(void)
{
	return xcalloc(1, sizeof(struct strpool));
}

/* Eight bytes a step (FNV-1a takes one): the loader hashes every string
 * of every job. Only this process sees the values. */
static uint64_t hash(const char *s, size_t len)
{
	uint64_t h = len * UINT64_C(0x9e3779b97f4a7c15), w;

	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, s, len);
	h = (h ^ w) * UINT64_C(0xc4ceb9fe1a85ec53);
	return h ^ (h >> 29);
}

static const char *store(struct strpool *p, const char *s, size_t len)
{
	struct block *b = p->blocks;
	char *at;

	if (!b || b->size - b->used < len + 1) {
		size_t size = len + 1 > STRPOOL_BLOCK / 4 ? len + 1 : STRPOOL_BLOCK;
		b = xmalloc(sizeof(*b) + size);
		b->used = 0;
		b->size = size;
		p->block_bytes += sizeof(*b) + size;
		if (size == STRPOOL_BLOCK || !p->blocks) {
			b->next = p->blocks;
			p->blocks = b;
		} else {
			/* a long string's own block goes behind the one being filled */
			b->next = p->blocks->next;
			p->blocks->next = b;
		}
	}
	at = b->data + b->used;
	memcpy(at, s, len);
	at[len] = '\0';
	b->used += len + 1;
	return at;
}

static void index_grow(struct strpool *p)
{
	size_t cap = p->cap_index ? p->cap_index * 2 : 1024;
	const char **v = xcalloc(cap, sizeof(*v));

	for (size_t i = 0; i < p->cap_index; i++) {
		const char *s = p->index[i];
		size_t k;
		if (!s)
			continue;
		for (k = hash(s, strlen(s)) & (cap - 1); v[k]; k = (k + 1) & (cap - 1))
			;
		v[k] = s;
	}
	free(p->index);
	p->index = v;
	p->cap_index = cap;
}

const char *strpool_intern(struct strpool *p, const char *s)
{
	size_t len, k;

	if (!s)
		return NULL;
	len = strlen(s);
	if (p->sealed)
		return store(p, s, len);
	if (2 * (p->n_index + 1) > p->cap_index)
		index_grow(p);
	for (k = hash(s, len) & (p->cap_index - 1); p->index[k]; k = (k + 1) & (p->cap_index - 1))
		if (strcmp(p->index[k], s) == 0)
			return p->index[k];
	p->index[k] = store(p, s, len);
	p->n_index++;
	return p->index[k];
}

void strpool_seal(struct strpool *p)
{
	free(p->index);
	p->index = NULL;
	p->n_index = p->cap_index = 0;
	p->sealed = true;
}

size_t strpool_bytes(const struct strpool *p)
{
	return p->block_bytes + p->cap_index * sizeof(*p->index);
}

void strpool_free(struct strpool *p)
{
	if (!p)
		return;
	while (p->blocks) {
		struct block *b = p->blocks;
		p->blocks = b->next;
		free(b);
	}
	free(p->index);
	free(p);
}
