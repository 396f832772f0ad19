/*
 * store_file: the state folder backend of store.h. Every record is appended
 * to a journal, STATE_DIR/runs/journal-N.jsonl, one record a line: the
 * records of one put are one write and one fdatasync (the group commit of
 * a loop iteration), so that a state change costs no file creation and no
 * rename. A removal appends a line {"remove":{...}} (state.h) and unlinks
 * the run's own file. The journal rolls to the next N at
 * JOURNAL_ROLL_BYTES, and after a failed write (a torn last line is never
 * appended to).
 *
 * Compaction, in the background once the journals hold COMPACT_BYTES or
 * COMPACT_RECORDS runs (and at start and stop), writes each run's newest
 * record to its own file STATE_DIR/runs/NAME (state_file_name) crash-safely
 * (temp file, fdatasync, rename, fsync of the folder: OpenSMTPD's
 * queue_fs.c) and then removes the journals, oldest first. On load the
 * newest record of each run (highest gen) wins wherever it is, unless a
 * removal line follows it; a journal's last line without its newline is an
 * append a crash cut short (never acknowledged) and is skipped.
 *
 * The backend keeps its own copies of what it has still to write: nothing
 * it holds points into the engine's runs.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbuf.h"
#include "state.h"
#include "store.h"
#include "file.h"
#include "util.h"

#define STATE_MAX_BYTES (1 << 20)
#define JOURNAL_MAX_BYTES ((size_t)256 << 20)
/* The active journal is closed and the next one begun past this size. */
#define JOURNAL_ROLL_BYTES ((uint64_t)16 << 20)
/* Compaction is due when the journals hold this much, or this many runs
 * whose own file is still to be written (their text is kept in memory). */
#define COMPACT_BYTES ((uint64_t)64 << 20)
#define COMPACT_RECORDS 4096

/* A record that lives only in a journal (or under a first-version name):
 * its own file is still to be written. */
struct pending {
	char *name; /* its own file name */
	char *text; /* the record, one line */
};

struct file_store {
	struct store base;
	char *dir;
	char *runs;
	int runs_fd;
	int lock_fd;
	uint64_t next_journal; /* sequence number of the next journal file */
	bool journals;         /* journal files may exist */
	int jfd;               /* the active journal, open for appending; -1: none */
	bool jfd_new;          /* its folder entry is not synced yet */
	uint64_t jbytes;       /* bytes in the active journal */
	uint64_t jtotal;       /* bytes appended to every journal since the last clear */
	bool compacting;       /* a compaction is under way: goes on until done */
	bool pinned;           /* a removed run's own file could not go: keep
				* the journals (their removal line) */
	struct pending *pending; /* sorted by name */
	size_t n_pending, cap_pending;
	char **legacy; /* first-version file names to remove once compacted */
	size_t n_legacy, cap_legacy;
};

static struct file_store *fs_of(struct store *s)
{
	return (struct file_store *)s;
}

/* --- pending records ----------------------------------------------------- */

static size_t pending_lower(const struct file_store *f, const char *name)
{
	size_t lo = 0, hi = f->n_pending;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(f->pending[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Keep text (taken) as the newest record of name. */
static void pending_set(struct file_store *f, const char *name, char *text)
{
	size_t i = pending_lower(f, name);

	if (i < f->n_pending && strcmp(f->pending[i].name, name) == 0) {
		free(f->pending[i].text);
		f->pending[i].text = text;
		return;
	}
	xgrow((void **)&f->pending, &f->cap_pending, f->n_pending + 1, sizeof(*f->pending));
	memmove(f->pending + i + 1, f->pending + i, (f->n_pending - i) * sizeof(*f->pending));
	f->pending[i] = (struct pending){ .name = xstrdup(name), .text = text };
	f->n_pending++;
}

static void pending_drop(struct file_store *f, const char *name)
{
	size_t i = pending_lower(f, name);

	if (i >= f->n_pending || strcmp(f->pending[i].name, name) != 0)
		return;
	free(f->pending[i].name);
	free(f->pending[i].text);
	memmove(f->pending + i, f->pending + i + 1, (f->n_pending - i - 1) * sizeof(*f->pending));
	f->n_pending--;
}

/* --- writing -------------------------------------------------------------- */

/* The lines texts[0..n) as pieces, each followed by its newline. */
static struct file_piece *lines_of(char *const *texts, size_t n)
{
	struct file_piece *v = xcalloc(2 * n + 1, sizeof(*v));

	for (size_t i = 0; i < n; i++) {
		v[2 * i] = (struct file_piece){ texts[i], strlen(texts[i]) };
		v[2 * i + 1] = (struct file_piece){ "\n", 1 };
	}
	return v;
}

/* Write several own files with one sync for all (file.h). */
static int write_many(struct file_store *f, char *const *names, char *const *texts, size_t n)
{
	struct file_piece **v = xcalloc(n ? n : 1, sizeof(*v));
	size_t *nv = xcalloc(n ? n : 1, sizeof(*nv));
	int rc;

	for (size_t i = 0; i < n; i++) {
		v[i] = lines_of(&texts[i], 1);
		nv[i] = 2;
	}
	rc = file_replace_many_at(f->runs_fd, (const char *const *)names, (const struct file_piece *const *)v, nv, n,
				  0640);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	free(nv);
	return rc;
}

static bool journal_seq(const char *name, uint64_t *ret)
{
	unsigned long long v;
	int n = 0;

	if (sscanf(name, "journal-%llu.jsonl%n", &v, &n) != 1 || name[n] != '\0')
		return false;
	*ret = v;
	return true;
}

typedef void (*runs_entry_fn)(struct file_store *f, const char *name, void *arg);

/* Call fn for every entry of the runs folder, in the folder's order (fn
 * may remove the entry it is given). 0, or a negative errno when the
 * folder cannot be read. */
static int runs_scan(struct file_store *f, runs_entry_fn fn, void *arg)
{
	DIR *d;
	struct dirent *e;
	int fd;

	fd = openat(f->runs_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(d)))
		fn(f, e->d_name, arg);
	closedir(d);
	return 0;
}

struct journals_clear_ctx {
	uint64_t *seqs;
	size_t n, cap;
};

static void journal_clear_cb(struct file_store *f, const char *name, void *arg)
{
	struct journals_clear_ctx *x = arg;
	uint64_t seq;

	if (!journal_seq(name, &seq) || seq >= f->next_journal)
		return;
	xgrow((void **)&x->seqs, &x->cap, x->n + 1, sizeof(*x->seqs));
	x->seqs[x->n++] = seq;
}

static int seq_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void journal_close(struct file_store *f)
{
	if (f->jfd >= 0)
		close(f->jfd);
	f->jfd = -1;
	f->jbytes = 0;
}

/* Remove every journal file written so far, oldest first: a crash half
 * way leaves the newer ones, and a removal line only ever stands against
 * records older than itself. */
static int journals_clear(struct file_store *f)
{
	struct journals_clear_ctx x = { 0 };
	int rc;

	journal_close(f);
	rc = runs_scan(f, journal_clear_cb, &x);
	if (rc < 0)
		return rc;
	if (x.n > 1)
		qsort(x.seqs, x.n, sizeof(*x.seqs), seq_cmp);
	for (size_t i = 0; i < x.n && rc == 0; i++) {
		char *name = xasprintf("journal-%llu.jsonl", (unsigned long long)x.seqs[i]);
		if (unlinkat(f->runs_fd, name, 0) < 0 && errno != ENOENT)
			rc = -errno;
		free(name);
	}
	if (x.n > 0 && fsync(f->runs_fd) < 0 && rc == 0)
		rc = -errno;
	free(x.seqs);
	if (rc == 0) {
		f->journals = false;
		f->jtotal = 0;
	}
	return rc;
}

/* Append the lines texts[0..n) to the active journal (begun when there is
 * none) with one fdatasync. After a failure the journal is closed: the
 * next append begins a new one, never joining a torn line. */
static int journal_begin(struct file_store *f)
{
	int rc;

	for (int tries = 0; f->jfd < 0; tries++) {
		char *name = xasprintf("journal-%llu.jsonl", (unsigned long long)f->next_journal);
		f->jfd = openat(f->runs_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
		rc = -errno;
		free(name);
		f->next_journal++;
		if (f->jfd < 0 && (rc != -EEXIST || tries >= 16))
			return rc;
	}
	f->jfd_new = true;
	f->jbytes = 0;
	f->journals = true;
	return 0;
}

/* Begin the next journal now, its name synced, so that the first put of a
 * burst pays one fdatasync and not the folder's sync too. Failure is left
 * for the put to meet. */
static void journal_ready(struct file_store *f)
{
	if (f->jfd >= 0 || journal_begin(f) < 0)
		return;
	if (fsync(f->runs_fd) == 0)
		f->jfd_new = false;
}

static int journal_append(struct file_store *f, char *const *texts, size_t n)
{
	struct sbuf b = { 0 };
	int rc;

	if (f->jfd < 0 && (rc = journal_begin(f)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		sbuf_adds(&b, texts[i]);
		sbuf_add(&b, "\n", 1);
	}
	rc = file_append_sync(f->jfd, b.s, b.len);
	/* The new journal's name must survive a power cut too. */
	if (rc == 0 && f->jfd_new) {
		if (fsync(f->runs_fd) < 0)
			rc = -errno;
		else
			f->jfd_new = false;
	}
	if (rc == 0) {
		f->jbytes += b.len;
		f->jtotal += b.len;
	}
	sbuf_free(&b);
	if (rc < 0 || f->jbytes >= JOURNAL_ROLL_BYTES)
		journal_close(f);
	return rc;
}

/* Compaction is worth its file creations once the journals are large or
 * hold many runs' only copy. */
static bool compact_due(const struct file_store *f)
{
	return f->jtotal >= COMPACT_BYTES || f->n_pending >= COMPACT_RECORDS;
}

/* max == SIZE_MAX: everything now (start, stop); otherwise up to max runs'
 * own files, and only when compaction is due. */
static long fs_compact(struct store *s, size_t max)
{
	struct file_store *f = fs_of(s);
	size_t n;
	int rc;

	if (max != SIZE_MAX && !f->compacting && !compact_due(f))
		return 0;
	f->compacting = true;
	n = f->n_pending < max ? f->n_pending : max;
	if (n > 0) {
		char **names = xcalloc(n, sizeof(*names)), **texts = xcalloc(n, sizeof(*texts));
		size_t first = f->n_pending - n;
		for (size_t i = 0; i < n; i++) {
			names[i] = f->pending[first + i].name;
			texts[i] = f->pending[first + i].text;
		}
		rc = write_many(f, names, texts, n);
		free(names);
		free(texts);
		if (rc < 0)
			return rc;
		for (size_t i = first; i < f->n_pending; i++) {
			free(f->pending[i].name);
			free(f->pending[i].text);
		}
		f->n_pending = first;
	}
	if (f->n_pending > 0)
		return (long)f->n_pending;
	/* Every run's newest record is in its own file now. */
	if (f->n_legacy > 0) {
		for (size_t i = 0; i < f->n_legacy; i++) {
			unlinkat(f->runs_fd, f->legacy[i], 0);
			free(f->legacy[i]);
		}
		f->n_legacy = 0;
		if (fsync(f->runs_fd) < 0)
			return -errno;
	}
	if (f->journals && !f->pinned) {
		rc = journals_clear(f);
		if (rc < 0)
			return rc;
	}
	f->compacting = false;
	journal_ready(f);
	return 0;
}

static char *name_of(const struct run *r)
{
	return state_file_name(r->job, r->start, r->part);
}

static int fs_put(struct store *s, const struct run *const *runs, size_t n)
{
	struct file_store *f = fs_of(s);
	char **texts = xcalloc(n, sizeof(*texts));
	int rc;

	for (size_t i = 0; i < n; i++)
		texts[i] = state_format(runs[i]);
	rc = journal_append(f, texts, n);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0) {
			char *name = name_of(runs[i]);
			pending_set(f, name, texts[i]);
			free(name);
		} else {
			free(texts[i]);
		}
	}
	free(texts);
	return rc;
}

static int fs_remove(struct store *s, const struct run *const *runs, size_t n)
{
	struct file_store *f = fs_of(s);
	bool unlinked = false;
	int rc = 0;

	/* A journal may hold records of these runs: a removal line after
	 * them stands against every one. Their records to be written are
	 * dropped only once it is durable: a failed removal leaves the runs
	 * as they were. */
	if (f->journals) {
		char **texts = xcalloc(n, sizeof(*texts));
		for (size_t i = 0; i < n; i++)
			texts[i] = state_tombstone_format(runs[i]->job, runs[i]->start, runs[i]->part);
		rc = journal_append(f, texts, n);
		for (size_t i = 0; i < n; i++)
			free(texts[i]);
		free(texts);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < n; i++) {
		char *name = name_of(runs[i]);
		pending_drop(f, name);
		if (unlinkat(f->runs_fd, name, 0) == 0)
			unlinked = true;
		else if (errno != ENOENT && rc == 0)
			rc = -errno;
		free(name);
	}
	if (rc == 0 && unlinked && fsync(f->runs_fd) < 0)
		rc = -errno;
	return rc;
}

/* --- loading --------------------------------------------------------------- */

/* One record found while loading. */
struct found {
	char *name;  /* own file name of its run (the key); a unique label for
		      * a journal line that could not be read */
	char *path;  /* where it was read, for messages */
	char *file;  /* the file it was read from, relative to runs/, when it is
		      * a run's own file; NULL for a journal */
	struct run *run;
	char *text;  /* journal records: the line */
	char *cause; /* damage, when run is NULL */
	bool keyed;  /* a damaged own file: its identity is the name's */
	bool legacy; /* read under a first-version name */
	bool tomb;   /* a removal line: no record of name before pos stands */
	uint64_t pos; /* where it was written: 0 for an own file, else
		       * (journal sequence + 1) << 32 | line */
	char *job, *part;
	int64_t start;
};

static int found_cmp(const void *a, const void *b)
{
	const struct found *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	/* Newest first: a valid record before damage, then higher gen. */
	if (!x->run || !y->run)
		return x->run ? -1 : y->run ? 1 : 0;
	if (x->run->gen != y->run->gen)
		return x->run->gen > y->run->gen ? -1 : 1;
	/* the same gen twice (a record written again by compaction): the
	 * later place */
	return x->pos > y->pos ? -1 : x->pos < y->pos ? 1 : 0;
}

struct found_list {
	struct found *v;
	size_t n, cap;
};

static struct found *add_found(struct found_list *l)
{
	xgrow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v));
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	return &l->v[l->n++];
}

static void found_clear(struct found *x)
{
	run_free(x->run);
	free(x->name);
	free(x->path);
	free(x->file);
	free(x->text);
	free(x->cause);
	free(x->job);
	free(x->part);
}

static bool key_matches(const struct run *r, const char *job, int64_t start, const char *part)
{
	return strcmp(r->job, job) == 0 && r->start == start &&
	       (r->part == part || (r->part && part && strcmp(r->part, part) == 0));
}

/* Every line of a journal is a run record or a removal; a line that does
 * not parse is reported with its line number and the run it belonged to
 * stays unknown (journal_damaged tells the caller to be careful with every
 * run). A last line without its newline is an append cut short by a crash:
 * never acknowledged, so skipped (counted in *torn). */
static void load_journal(struct file_store *f, const char *file, uint64_t seq, struct found_list *l, bool *damaged,
			 size_t *torn)
{
	char *path = xasprintf("%s/%s", f->runs, file), *text = NULL;
	size_t len;
	int line = 0;
	bool bad = false;
	size_t first = l->n;

	if (file_read(path, JOURNAL_MAX_BYTES, &text, &len) < 0) {
		struct found *x = add_found(l);
		x->name = xasprintf("~%s", file);
		x->path = xstrdup(path);
		x->cause = xstrdup("unreadable journal");
		*damaged = true;
		free(path);
		return;
	}
	for (char *p = text, *nl; p < text + len; p = nl + 1) {
		struct run *r = NULL;
		char *cause = NULL, *job, *part;
		int64_t start;
		struct found *x;
		bool last;

		nl = memchr(p, '\n', (size_t)(text + len - p));
		last = !nl;
		if (!nl)
			nl = text + len;
		line++;
		if (nl == p)
			continue;
		if (state_tombstone_parse(p, (size_t)(nl - p), &job, &start, &part) == 0) {
			x = add_found(l);
			x->path = xasprintf("%s:%d", path, line);
			x->name = state_file_name(job, start, part);
			x->tomb = true;
			x->pos = (seq + 1) << 32 | (uint64_t)line;
			free(job);
			free(part);
			continue;
		}
		if (state_parse(p, (size_t)(nl - p), &r, &cause) < 0) {
			if (last) {
				(*torn)++;
				free(cause);
				continue;
			}
			x = add_found(l);
			x->path = xasprintf("%s:%d", path, line);
			x->name = xasprintf("~%s:%d", file, line);
			x->cause = cause;
			bad = true;
			continue;
		}
		x = add_found(l);
		x->path = xasprintf("%s:%d", path, line);
		x->name = name_of(r);
		x->run = r;
		x->text = xstrndup(p, (size_t)(nl - p));
		x->pos = (seq + 1) << 32 | (uint64_t)line;
	}
	if (bad) {
		/* Keep the evidence: the journal itself goes at the next
		 * compaction. */
		char *keep = xasprintf("%s.damaged", file);
		unlinkat(f->runs_fd, keep, 0);
		if (linkat(f->runs_fd, file, f->runs_fd, keep, 0) < 0) {
			/* Say so with each damaged line, as a failed rename of a
			 * damaged run file is said. */
			int err = errno;
			for (size_t i = first; i < l->n; i++) {
				struct found *x = &l->v[i];
				if (x->run || !x->cause)
					continue;
				char *why = xasprintf("%s; cannot keep a copy as %s: %s", x->cause, keep, strerror(err));
				free(x->cause);
				x->cause = why;
			}
		}
		free(keep);
		*damaged = true;
	}
	free(text);
	free(path);
}

static void load_own(struct file_store *f, const char *file, struct found_list *l)
{
	char *path = xasprintf("%s/%s", f->runs, file), *text = NULL, *cause = NULL, *job, *part;
	struct run *r = NULL;
	int64_t start;
	bool legacy;
	size_t len;
	int rc;
	struct found *x;

	if (state_file_key(file, &job, &start, &part, &legacy) < 0) {
		free(path);
		return;
	}
	rc = file_read(path, STATE_MAX_BYTES, &text, &len);
	if (rc < 0)
		cause = xasprintf("cannot read: %s", strerror(-rc));
	else if (state_parse(text, len, &r, &cause) == 0 && !key_matches(r, job, start, part)) {
		char *want = name_of(r);
		cause = xasprintf("holds the run '%s' of another file name", want);
		free(want);
		run_free(r);
		r = NULL;
	}
	x = add_found(l);
	x->name = state_file_name(job, start, part);
	x->path = path;
	x->file = xstrdup(file);
	x->run = r;
	x->cause = cause;
	x->keyed = true;
	x->legacy = legacy;
	x->job = job;
	x->part = part;
	x->start = start;
	if (r && legacy)
		x->text = xstrndup(text, len);
	free(text);
}

struct load_ctx {
	struct found_list l;
	struct store_load_info *info;
};

static void load_entry_cb(struct file_store *f, const char *name, void *arg)
{
	struct load_ctx *x = arg;
	uint64_t seq;

	if (journal_seq(name, &seq)) {
		load_journal(f, name, seq, &x->l, &x->info->journal_damaged, &x->info->torn);
		x->info->journals++;
		f->journals = true;
		if (seq >= f->next_journal)
			f->next_journal = seq + 1;
		return;
	}
	load_own(f, name, &x->l);
}

static int fs_load(struct store *s, store_load_cb cb, void *arg, struct store_load_info *info)
{
	struct file_store *f = fs_of(s);
	struct load_ctx ctx = { .info = info };
	struct found_list l;
	bool unlinked = false;
	int rc;

	memset(info, 0, sizeof(*info));
	rc = runs_scan(f, load_entry_cb, &ctx);
	if (rc < 0)
		return rc;
	l = ctx.l;

	/* The newest record of each run wins; damage is only reported when
	 * no valid record of that run exists anywhere. */
	if (l.n > 1) /* l.v is NULL in an empty folder: qsort's arguments are nonnull */
		qsort(l.v, l.n, sizeof(*l.v), found_cmp);
	for (size_t g = 0, end; g < l.n; g = end) {
		uint64_t gone = 0; /* the last removal of this run */
		bool first = true;

		for (end = g; end < l.n && strcmp(l.v[end].name, l.v[g].name) == 0; end++)
			if (l.v[end].tomb && l.v[end].pos > gone)
				gone = l.v[end].pos;
		for (size_t i = g; i < end; i++) {
			struct found *x = &l.v[i];

			if (x->tomb)
				continue;
			/* Removed after it was written: not the run's any more.
			 * Its own file (a crash came between the removal line and
			 * the unlink) goes now, while the removal line still
			 * stands: compaction removes that line, and a run made
			 * again under the name gets a file of its own. */
			if (gone && x->pos < gone) {
				if (x->file && unlinkat(f->runs_fd, x->file, 0) == 0)
					unlinked = true;
				else if (x->file && errno != ENOENT)
					f->pinned = true; /* the line must stay */
				continue;
			}
			/* A first-version name goes once the run's record is
			 * written under its own name. */
			if (x->legacy && x->run) {
				xgrow((void **)&f->legacy, &f->cap_legacy, f->n_legacy + 1, sizeof(*f->legacy));
				f->legacy[f->n_legacy++] = xstrdup(x->file);
			}
			if (!first)
				continue;
			first = false;
			if (x->run) {
				/* Newest only in a journal or under an old name: its
				 * own file is written at the next compaction. */
				if (x->text) {
					pending_set(f, x->name, x->text);
					x->text = NULL;
				}
				cb(&(struct run_key){ .job = x->run->job, .start = x->run->start, .part = x->run->part },
				   x->run, NULL, x->path, arg);
				x->run = NULL; /* the callback owns it */
			} else if (x->keyed) {
				/* Keep the evidence; the run's identity is its name's. */
				char *damaged = xasprintf("%s.damaged", x->file);
				if (renameat(f->runs_fd, x->file, f->runs_fd, damaged) < 0 && errno != ENOENT) {
					char *why = xasprintf("%s; cannot rename it: %s", x->cause, strerror(errno));
					free(x->cause);
					x->cause = why;
				}
				free(damaged);
				cb(&(struct run_key){ .job = x->job, .start = x->start, .part = x->part }, NULL, x->cause,
				   x->path, arg);
			} else {
				cb(NULL, NULL, x->cause, x->path, arg);
			}
		}
	}
	for (size_t i = 0; i < l.n; i++)
		found_clear(&l.v[i]);
	free(l.v);
	if (f->n_legacy > 0 || f->n_pending > 0 || unlinked)
		fsync(f->runs_fd);
	return 0;
}

/* --- opening and closing --------------------------------------------------- */

static const char *fs_where(const struct store *s)
{
	return ((const struct file_store *)s)->dir;
}

static void fs_close(struct store *s)
{
	struct file_store *f = fs_of(s);

	if (!f)
		return;
	journal_close(f);
	if (f->runs_fd >= 0)
		close(f->runs_fd);
	if (f->lock_fd >= 0)
		close(f->lock_fd);
	for (size_t i = 0; i < f->n_pending; i++) {
		free(f->pending[i].name);
		free(f->pending[i].text);
	}
	free(f->pending);
	for (size_t i = 0; i < f->n_legacy; i++)
		free(f->legacy[i]);
	free(f->legacy);
	free(f->dir);
	free(f->runs);
	free(f);
}

static const struct store_ops file_ops = {
	.name = "files",
	.load = fs_load,
	.put = fs_put,
	.remove = fs_remove,
	.compact = fs_compact,
	.where = fs_where,
	.close = fs_close,
};

static int mkdir_p(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	return -errno;
}

int store_file_open(const char *dir, struct store **ret, char **cause)
{
	struct file_store *f = xcalloc(1, sizeof(*f));
	char *lock = NULL;
	int r;

	f->base.ops = &file_ops;
	f->lock_fd = f->runs_fd = f->jfd = -1;
	f->dir = xstrdup(dir);
	f->runs = xasprintf("%s/runs", dir);
	r = mkdir_p(dir, 0750);
	if (r < 0) {
		*cause = xasprintf("cannot create state folder '%s': %s", dir, strerror(-r));
		goto fail;
	}
	r = mkdir_p(f->runs, 0750);
	if (r < 0) {
		*cause = xasprintf("cannot create '%s': %s", f->runs, strerror(-r));
		goto fail;
	}
	lock = xasprintf("%s/lock", dir);
	f->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (f->lock_fd < 0) {
		r = -errno;
		*cause = xasprintf("cannot open lock file '%s': %s", lock, strerror(errno));
		goto fail;
	}
	if (flock(f->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		*cause = r == -EBUSY
			 ? xasprintf("another batchcalld is using the state folder '%s' (lock '%s' is held)", dir, lock)
			 : xasprintf("cannot lock '%s': %s", lock, strerror(errno));
		goto fail;
	}
	f->runs_fd = open(f->runs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->runs_fd < 0) {
		r = -errno;
		*cause = xasprintf("cannot open '%s': %s", f->runs, strerror(errno));
		goto fail;
	}
	free(lock);
	*ret = &f->base;
	return 0;
fail:
	free(lock);
	fs_close(&f->base);
	return r;
}
