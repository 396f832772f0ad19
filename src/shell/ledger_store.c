/*
 * ledger_store: the contact ledger on disk (see ledger_store.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "etcd.h"
#include "file.h"
#include "ledger_store.h"
#include "sbuf.h"
#include "shared.h"

struct ledger_store {
	int dirfd;
	int fd; /* the file, O_APPEND */
	char *path;
	struct sbuf pending; /* lines not yet written */
	size_t lines;        /* lines the file holds (since it was last written whole) */
	int64_t compacted_at; /* when it was last compacted (or that failed), unix s */
	bool last_failed;
	/* cluster mode: the ledger is in etcd, one key a contact (PREFIX
	 * "contacts/" KEY "-" TAG, its line the value: a later making of the
	 * contact replaces it); fd and dirfd -1 */
	const struct engine_shared *sh;
	char *keys;
	struct shared_item *items; /* waiting for the sync (key and value owned) */
	size_t n_items, cap_items;
};

static void items_drop(struct ledger_store *st)
{
	for (size_t i = 0; i < st->n_items; i++) {
		free((char *)st->items[i].key);
		free((char *)st->items[i].value);
	}
	st->n_items = 0;
}

/* The instant a line begins with; -1 when it does not. */
static int64_t line_at(const char *p, size_t n)
{
	int64_t v = 0;
	size_t i = 0;

	/* (digits only, as the reader wants them) */
	for (; i < n && i < 20 && p[i] >= '0' && p[i] <= '9'; i++)
		v = v <= INT64_MAX / 10 - 10 ? v * 10 + (p[i] - '0') : INT64_MAX;
	return i > 0 && i < n && p[i] == ',' ? v : -1;
}

/* The attempt a line names: its target's bytes and its tag, hashed (two
 * lines of one contact: the later is its later making). */
static uint64_t line_contact(const char *p, size_t n)
{
	const char *c1 = memchr(p, ',', n), *c2;
	uint64_t h;

	if (!c1 || !(c2 = memchr(c1 + 1, ',', n - (size_t)(c1 + 1 - p))))
		return 0;
	h = fnv1a64(FNV1A64_INIT, c1 + 1, (size_t)(c2 - c1 - 1));
	while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	return fnv1a64(h, p + (n > 16 ? n - 16 : 0), n > 16 ? 16 : n);
}

struct line_ref {
	uint64_t contact;
	size_t off, len;
};

static int line_ref_cmp(const void *a, const void *b)
{
	const struct line_ref *x = a, *y = b;

	if (x->contact != y->contact)
		return x->contact < y->contact ? -1 : 1;
	return (x->off > y->off) - (x->off < y->off);
}

static int line_off_cmp(const void *a, const void *b)
{
	const struct line_ref *x = a, *y = b;

	return (x->off > y->off) - (x->off < y->off);
}

/* Write text (len) as the file, keeping only the lines after cutoff;
 * st->fd opened anew on it. */
static int rewrite(struct ledger_store *st, const char *text, size_t len, int64_t cutoff)
{
	struct sbuf keep = { 0 };
	struct file_piece p;
	int r, fd;

	size_t kept = 0, n_refs = 0, cap_refs = 0;
	struct line_ref *refs = NULL;
	struct stat a, b;

	/* The lines within the horizon, each contact once (its last line:
	 * the latest making of its attempt), in the file's order. */
	for (size_t off = 0; off < len;) {
		const char *q = text + off, *nl = memchr(q, '\n', len - off);
		size_t n = nl ? (size_t)(nl - q) + 1 : len - off;
		if (line_at(q, n) > cutoff) {
			xgrow((void **)&refs, &cap_refs, n_refs + 1, sizeof(*refs));
			refs[n_refs++] = (struct line_ref){ line_contact(q, n), off, n };
		}
		off += n;
	}
	if (n_refs > 0) {
		qsort(refs, n_refs, sizeof(*refs), line_ref_cmp);
		for (size_t i = 0; i < n_refs; i++)
			if (i + 1 == n_refs || refs[i + 1].contact != refs[i].contact || !refs[i].contact)
				refs[kept++] = refs[i];
		qsort(refs, kept, sizeof(*refs), line_off_cmp);
		for (size_t i = 0; i < kept; i++)
			sbuf_add(&keep, text + refs[i].off, refs[i].len);
	}
	free(refs);
	p = (struct file_piece){ keep.s ? keep.s : "", keep.len };
	r = file_replace_at(st->dirfd, LEDGER_STORE_NAME, &p, 1, 0600);
	sbuf_free(&keep);
	/* Whatever file is at the path now is the one written to (a rename
	 * done before a failed sync of the folder replaced the old one):
	 * never lines into a file nobody reads again. */
	fd = open(st->path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int err = -errno;
		/* the old file still at the path (the write failed before its
		 * rename) stays the one written to */
		if (st->fd >= 0 && stat(st->path, &a) == 0 && fstat(st->fd, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			return r < 0 ? r : err;
		if (st->fd >= 0)
			close(st->fd);
		st->fd = -1; /* opened again at the next sync */
		return r < 0 ? r : err;
	}
	if (st->fd >= 0 && fstat(fd, &a) == 0 && fstat(st->fd, &b) == 0 && a.st_ino == b.st_ino &&
	    a.st_dev == b.st_dev) {
		close(fd); /* not replaced */
		return r;
	}
	if (st->fd >= 0)
		close(st->fd);
	st->fd = fd;
	if (r == 0)
		st->lines = kept;
	return r;
}

int ledger_store_open(const char *state_dir, int64_t horizon, int64_t now_s, struct ledger *l,
		      struct ledger_store **ret, size_t *ret_dropped, bool *ret_cut, char **cause)
{
	struct ledger_store *st = xcalloc(1, sizeof(*st));
	struct diag d = { 0 };
	char *text = NULL;
	size_t len = 0, torn;
	int64_t cutoff = now_s - horizon;
	int r;

	*ret_dropped = 0;
	*ret_cut = false;
	st->fd = -1;
	st->compacted_at = now_s;
	st->path = xasprintf("%s/%s", state_dir, LEDGER_STORE_NAME);
	st->dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0) {
		r = -errno;
		*cause = xasprintf("cannot open the state folder '%s': %s", state_dir, strerror(-r));
		goto fail;
	}
	r = file_read_ex(st->path, LEDGER_STORE_MAX_FILE, FILE_READ_REGULAR, &text, &len);
	if (r == -ENOENT) {
		text = xstrdup("");
		len = 0;
	} else if (r < 0) {
		*cause = xasprintf("cannot read the contact ledger '%s': %s", st->path,
				   r == -EINVAL ? "not a regular file" : strerror(-r));
		goto fail;
	}
	r = ledger_parse(l, st->path, text, len, &d, &torn);
	if (r < 0) {
		char *first = diag_format(&d, 0);
		*cause = xasprintf("the contact ledger '%s' is damaged (%zu bad line%s), e.g. %s; repair it (its "
				   "format: README, \"Contact limits\")",
				   st->path, d.n, d.n == 1 ? "" : "s", first);
		free(first);
		goto fail;
	}
	*ret_cut = torn < len;
	len = torn; /* a line cut short: its intent never went on */
	*ret_dropped = ledger_expire(l, cutoff);
	/* Written again when absent, torn or holding expired contacts. */
	if (*ret_cut || *ret_dropped > 0 || access(st->path, F_OK) < 0) {
		r = rewrite(st, text, len, cutoff);
		if (r < 0) {
			*cause = xasprintf("cannot write the contact ledger '%s': %s", st->path, strerror(-r));
			goto fail;
		}
	} else {
		for (size_t i = 0; i < len; i++)
			st->lines += text[i] == '\n';
		st->fd = open(st->path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK);
		if (st->fd < 0) {
			r = -errno;
			*cause = xasprintf("cannot open the contact ledger '%s': %s", st->path, strerror(-r));
			goto fail;
		}
	}
	free(text);
	diag_clear(&d);
	*ret = st;
	return 0;
fail:
	free(text);
	diag_clear(&d);
	ledger_store_close(st);
	return r < 0 ? r : -EINVAL;
}

void ledger_store_add(struct ledger_store *st, int64_t at, const char *target, const char *agent, uint64_t tag)
{
	char line[512];
	size_t n = ledger_format(line, sizeof(line), at, target, agent, tag);

	if (st->sh) {
		char *text = xmalloc(n + 1);
		ledger_format(text, n + 1, at, target, agent, tag);
		if (st->n_items == st->cap_items) {
			st->cap_items = st->cap_items ? 2 * st->cap_items : 16;
			st->items = xrealloc(st->items, st->cap_items * sizeof(*st->items));
		}
		st->items[st->n_items++] = (struct shared_item){
			.key = xasprintf("%s%016" PRIx64 "-%016" PRIx64, st->keys, ledger_key(target), tag),
			.value = text,
			.len = n,
		};
		return;
	}
	if (n < sizeof(line)) {
		sbuf_add(&st->pending, line, n);
	} else {
		char *big = xmalloc(n + 1);
		ledger_format(big, n + 1, at, target, agent, tag);
		sbuf_add(&st->pending, big, n);
		free(big);
	}
}

bool ledger_store_pending(const struct ledger_store *st)
{
	return st && (st->pending.len > 0 || st->n_items > 0);
}

int ledger_store_sync(struct ledger_store *st)
{
	int rc;

	if (st && st->sh) {
		char *cause = NULL;
		if (st->n_items == 0)
			return 0;
		rc = shared_write(st->sh, st->items, st->n_items, &cause);
		free(cause);
		if (rc < 0)
			return rc;
		st->lines += st->n_items;
		items_drop(st);
		return 0;
	}
	if (!st || st->pending.len == 0)
		return 0;
	if (st->fd < 0) {
		st->fd = open(st->path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK);
		if (st->fd < 0)
			return -errno;
	}
	rc = file_append_sync(st->fd, st->pending.s, st->pending.len);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < st->pending.len; i++)
		st->lines += st->pending.s[i] == '\n';
	st->pending.len = 0;
	return 0;
}

bool ledger_store_due(const struct ledger_store *st, size_t live, int64_t now_s)
{
	if (now_s - st->compacted_at >= 86400)
		return true;
	return !(st->last_failed && now_s - st->compacted_at < 3600) && st->lines >= 100000 && st->lines >= 2 * live;
}

/* Cluster mode: delete the keys of contacts at or before cutoff; how
 * many keys are left in *ret_left. */
static int etcd_expire(struct ledger_store *st, int64_t cutoff, size_t *ret_left, char **cause)
{
	struct etcd_kv *v = NULL;
	struct shared_item *del;
	size_t n = 0, k = 0;
	int r = shared_range(st->sh, st->keys, &v, &n, cause);

	if (r < 0)
		return r;
	del = xcalloc(n ? n : 1, sizeof(*del));
	for (size_t i = 0; i < n; i++) {
		int64_t at = line_at(v[i].value, v[i].value_len);
		if (at >= 0 && at <= cutoff)
			del[k++] = (struct shared_item){ .key = v[i].key };
	}
	r = k ? shared_write(st->sh, del, k, cause) : 0;
	*ret_left = n - k;
	free(del);
	shared_kvs_free(v, n);
	return r;
}

long ledger_store_compact(struct ledger_store *st, struct ledger *l, int64_t now_s, int64_t cutoff)
{
	char *text = NULL;
	size_t len = 0, dropped;
	int r;

	st->compacted_at = now_s;
	st->last_failed = true;
	r = ledger_store_sync(st);
	if (r < 0)
		return r;
	if (st->sh) {
		char *cause = NULL;
		size_t left = 0;
		r = etcd_expire(st, cutoff, &left, &cause);
		free(cause);
		if (r < 0)
			return r;
		st->lines = left;
		st->last_failed = false;
		return (long)ledger_expire(l, cutoff);
	}
	r = file_read_ex(st->path, LEDGER_STORE_MAX_FILE, FILE_READ_REGULAR, &text, &len);
	if (r < 0)
		return r;
	r = rewrite(st, text, len, cutoff);
	free(text);
	if (r < 0)
		return r;
	st->last_failed = false;
	dropped = ledger_expire(l, cutoff);
	return (long)dropped;
}

const char *ledger_store_path(const struct ledger_store *st)
{
	return st->path;
}

int ledger_store_open_etcd(const struct engine_shared *sh, int64_t horizon, int64_t now_s, struct ledger *l,
			   struct ledger_store **ret, size_t *ret_dropped, char **cause)
{
	struct ledger_store *st = xcalloc(1, sizeof(*st));
	struct etcd_kv *v = NULL;
	struct sbuf text = { 0 };
	struct diag d = { 0 };
	size_t n = 0, torn, left = 0;
	int64_t cutoff = now_s - horizon;
	char *c = NULL;
	int r;

	*ret_dropped = 0;
	st->fd = st->dirfd = -1;
	st->sh = sh;
	st->compacted_at = now_s;
	st->keys = xasprintf("%scontacts/", sh->prefix);
	st->path = xasprintf("etcd %s", st->keys);
	r = shared_range(sh, st->keys, &v, &n, &c);
	if (r < 0) {
		*cause = xasprintf("cannot read the contact ledger in %s: %s", st->path, c);
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		sbuf_add(&text, v[i].value, v[i].value_len);
		if (v[i].value_len == 0 || v[i].value[v[i].value_len - 1] != '\n')
			sbuf_adds(&text, "\n");
	}
	shared_kvs_free(v, n);
	r = ledger_parse(l, st->path, text.s ? text.s : "", text.len, &d, &torn);
	if (r < 0) {
		char *first = diag_format(&d, 0);
		*cause = xasprintf("the contact ledger in %s is damaged (%zu bad key%s), e.g. %s", st->path, d.n,
				   d.n == 1 ? "" : "s", first);
		free(first);
		goto fail;
	}
	*ret_dropped = ledger_expire(l, cutoff);
	st->lines = n;
	if (*ret_dropped > 0) {
		r = etcd_expire(st, cutoff, &left, &c);
		if (r < 0) {
			*cause = xasprintf("cannot compact the contact ledger in %s: %s", st->path, c);
			goto fail;
		}
		st->lines = left;
	}
	sbuf_free(&text);
	diag_clear(&d);
	free(c);
	*ret = st;
	return 0;
fail:
	sbuf_free(&text);
	diag_clear(&d);
	free(c);
	ledger_store_close(st);
	return r < 0 ? r : -EINVAL;
}

void ledger_store_close(struct ledger_store *st)
{
	if (!st)
		return;
	items_drop(st);
	free(st->items);
	free(st->keys);
	if (st->fd >= 0)
		close(st->fd);
	if (st->dirfd >= 0)
		close(st->dirfd);
	sbuf_free(&st->pending);
	free(st->path);
	free(st);
}
