/*
 * store: one JSON file per run under STATE_DIR/runs/, crash-safe writes.
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

#include "state.h"
#include "store.h"
#include "util.h"

#define STATE_MAX_BYTES (1 << 20)

struct store {
	char *dir;
	char *runs;
	int runs_fd;
	int lock_fd;
	uint64_t next_journal; /* sequence number of the next journal file */
};

static int mkdir_p(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	return -errno;
}

int store_open(const char *dir, struct store **ret, char **cause)
{
	struct store *s = xcalloc(1, sizeof(*s));
	char *lock = NULL;
	int r;

	s->lock_fd = s->runs_fd = -1;
	s->dir = xstrdup(dir);
	s->runs = xasprintf("%s/runs", dir);
	r = mkdir_p(dir, 0750);
	if (r < 0) {
		*cause = xasprintf("cannot create state folder '%s': %s", dir, strerror(-r));
		goto fail;
	}
	r = mkdir_p(s->runs, 0750);
	if (r < 0) {
		*cause = xasprintf("cannot create '%s': %s", s->runs, strerror(-r));
		goto fail;
	}
	lock = xasprintf("%s/lock", dir);
	s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (s->lock_fd < 0) {
		r = -errno;
		*cause = xasprintf("cannot open lock file '%s': %s", lock, strerror(errno));
		goto fail;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		*cause = r == -EBUSY
			 ? xasprintf("another batchcalld is using the state folder '%s' (lock '%s' is held)", dir, lock)
			 : xasprintf("cannot lock '%s': %s", lock, strerror(errno));
		goto fail;
	}
	s->runs_fd = open(s->runs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->runs_fd < 0) {
		r = -errno;
		*cause = xasprintf("cannot open '%s': %s", s->runs, strerror(errno));
		goto fail;
	}
	free(lock);
	*ret = s;
	return 0;
fail:
	free(lock);
	store_close(s);
	return r;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->runs_fd >= 0)
		close(s->runs_fd);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->dir);
	free(s->runs);
	free(s);
}

const char *store_dir(const struct store *s)
{
	return s->dir;
}

/* JOB@START.json, or JOB@START@PART.json for a part of a run (a zone
 * group or a follow-up; '/' and ' ' of the part written as '~' and '_'). */
static char *run_file_name(const struct run *r)
{
	char *part, *name;

	if (!r->part)
		return xasprintf("%s@%" PRId64 ".json", r->job, r->start);
	part = xstrdup(r->part);
	for (char *p = part; *p; p++)
		if (*p == '/')
			*p = '~';
		else if (*p == ' ' || *p == '.' || (unsigned char)*p < 0x20)
			*p = '_';
	name = xasprintf("%s@%" PRId64 "@%s.json", r->job, r->start, part);
	free(part);
	return name;
}

static bool is_run_file(const char *name)
{
	size_t n = strlen(name);
	return n > 5 && strcmp(name + n - 5, ".json") == 0 && name[0] != '.' && strchr(name, '@');
}

static int write_all(int fd, const char *p, size_t n);
static int write_durably(struct store *s, const char *name, const struct run *const *runs, size_t n);

/* One record found while loading. */
struct found {
	char *name; /* run file name it belongs to */
	char *path; /* where it was read */
	struct run *run;
	char *cause; /* damage, when run is NULL */
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
	return x->run->gen > y->run->gen ? -1 : x->run->gen < y->run->gen ? 1 : 0;
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

static void add_found(struct found **v, size_t *n, size_t *cap, char *name, const char *path, struct run *r,
		      char *cause)
{
	xgrow((void **)v, cap, *n + 1, sizeof(**v));
	(*v)[*n] = (struct found){ .name = name, .path = xstrdup(path), .run = r, .cause = cause };
	(*n)++;
}

/* Every line of a journal is a run record; a line that does not parse is
 * reported with its line number and the run it belonged to stays unknown
 * (ret_damaged tells the caller to be careful with every run). */
static void load_journal(const char *path, struct found **v, size_t *n, size_t *cap, bool *ret_damaged)
{
	char *text = NULL;
	size_t len;
	int line = 0;

	if (read_file(path, 64u << 20, &text, &len) < 0) {
		*ret_damaged = true;
		add_found(v, n, cap, xstrdup(path), path, NULL, xstrdup("unreadable journal"));
		return;
	}
	for (char *p = text, *nl; p < text + len; p = nl + 1) {
		struct run *r = NULL;
		char *cause = NULL;

		nl = memchr(p, '\n', (size_t)(text + len - p));
		if (!nl)
			nl = text + len;
		line++;
		if (nl == p)
			continue;
		if (state_parse(p, (size_t)(nl - p), &r, &cause) < 0) {
			char *where = xasprintf("%s:%d", path, line);
			*ret_damaged = true;
			add_found(v, n, cap, xstrdup(where), where, NULL, cause);
			free(where);
			continue;
		}
		add_found(v, n, cap, run_file_name(r), path, r, NULL);
	}
	free(text);
}

int store_load(struct store *s, store_load_cb cb, void *arg, struct store_load_info *info)
{
	struct found *v = NULL;
	size_t n = 0, cap = 0;
	DIR *d;
	struct dirent *e;
	int fd;

	memset(info, 0, sizeof(*info));
	fd = openat(s->runs_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(d))) {
		char *path, *text = NULL, *cause = NULL;
		size_t len;
		struct run *r = NULL;
		uint64_t seq;
		int rc;

		if (journal_seq(e->d_name, &seq)) {
			path = xasprintf("%s/%s", s->runs, e->d_name);
			load_journal(path, &v, &n, &cap, &info->journal_damaged);
			info->journals++;
			if (seq >= s->next_journal)
				s->next_journal = seq + 1;
			free(path);
			continue;
		}
		if (!is_run_file(e->d_name))
			continue;
		path = xasprintf("%s/%s", s->runs, e->d_name);
		rc = read_file(path, STATE_MAX_BYTES, &text, &len);
		if (rc < 0)
			cause = xasprintf("cannot read: %s", strerror(-rc));
		else if (state_parse(text, len, &r, &cause) == 0) {
			char *want = run_file_name(r);
			if (strcmp(want, e->d_name) != 0) {
				cause = xasprintf("holds the run '%s' of another file name", want);
				run_free(r);
				r = NULL;
			}
			free(want);
		}
		add_found(&v, &n, &cap, xstrdup(e->d_name), path, r, cause);
		free(text);
		free(path);
	}
	closedir(d);

	/* The newest record of each run wins; damage is only reported when
	 * no valid record of that run exists anywhere. */
	if (n > 1) /* v is NULL in an empty folder: qsort's arguments are nonnull */
		qsort(v, n, sizeof(*v), found_cmp);
	for (size_t i = 0; i < n; i++) {
		bool first = i == 0 || strcmp(v[i].name, v[i - 1].name) != 0;
		if (first) {
			cb(v[i].path, v[i].run, v[i].cause, arg);
			v[i].run = NULL; /* the callback owns it */
		}
		run_free(v[i].run);
		free(v[i].path);
		free(v[i].cause);
	}
	/* names last: each one is compared with the one before it */
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return 0;
}

int store_journal(struct store *s, const struct run *const *runs, size_t n)
{
	char *name = xasprintf("journal-%llu.jsonl", (unsigned long long)s->next_journal);
	int rc = write_durably(s, name, runs, n);

	if (rc == 0)
		s->next_journal++;
	free(name);
	return rc;
}

int store_journal_clear(struct store *s)
{
	DIR *d;
	struct dirent *e;
	int fd, rc = 0;
	bool removed = false;

	fd = openat(s->runs_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(d))) {
		uint64_t seq;
		if (!journal_seq(e->d_name, &seq) || seq >= s->next_journal)
			continue;
		if (unlinkat(s->runs_fd, e->d_name, 0) < 0 && errno != ENOENT)
			rc = -errno;
		removed = true;
	}
	closedir(d);
	if (removed && fsync(s->runs_fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Replace the file `name` with the records of runs, one a line, crash-safely:
 * temp file, fdatasync, rename, fsync of the folder. */
static int write_durably(struct store *s, const char *name, const struct run *const *runs, size_t n)
{
	char *tmp = xasprintf(".%s.tmp", name);
	int fd, rc = 0;

	fd = openat(s->runs_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *text = state_format(runs[i]);
		rc = write_all(fd, text, strlen(text));
		if (rc == 0)
			rc = write_all(fd, "\n", 1);
		free(text);
	}
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(s->runs_fd, tmp, s->runs_fd, name) < 0)
		rc = -errno;
	if (rc == 0 && fsync(s->runs_fd) < 0)
		rc = -errno;
	if (rc < 0)
		unlinkat(s->runs_fd, tmp, 0);
out:
	free(tmp);
	return rc;
}

int store_put(struct store *s, const struct run *r)
{
	char *name = run_file_name(r);
	int rc = write_durably(s, name, &r, 1);

	free(name);
	return rc;
}

int store_put_many(struct store *s, const struct run *const *runs, size_t n)
{
	char **names, **tmps;
	size_t written = 0;
	int rc = 0;

	if (n == 1)
		return store_put(s, runs[0]);
	names = xcalloc(n, sizeof(*names));
	tmps = xcalloc(n, sizeof(*tmps));
	/* Group commit: write every file, make them all durable with one
	 * syncfs (one journal commit instead of one per file), then rename
	 * them all and sync the folder once. */
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *text = state_format(runs[i]);
		int fd;

		names[i] = run_file_name(runs[i]);
		tmps[i] = xasprintf(".%s.tmp", names[i]);
		fd = openat(s->runs_fd, tmps[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
		if (fd < 0) {
			rc = -errno;
		} else {
			written++;
			rc = write_all(fd, text, strlen(text));
			if (rc == 0)
				rc = write_all(fd, "\n", 1);
			if (close(fd) < 0 && rc == 0)
				rc = -errno;
		}
		free(text);
	}
	if (rc == 0 && syncfs(s->runs_fd) < 0)
		rc = -errno;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (renameat(s->runs_fd, tmps[i], s->runs_fd, names[i]) < 0)
			rc = -errno;
	if (rc == 0 && fsync(s->runs_fd) < 0)
		rc = -errno;
	for (size_t i = 0; i < n; i++) {
		if (rc < 0 && i < written)
			unlinkat(s->runs_fd, tmps[i], 0);
		free(names[i]);
		free(tmps[i]);
	}
	free(names);
	free(tmps);
	return rc;
}

int store_remove(struct store *s, const struct run *r)
{
	char *name = run_file_name(r);
	int rc = 0;

	if (unlinkat(s->runs_fd, name, 0) < 0 && errno != ENOENT)
		rc = -errno;
	else if (fsync(s->runs_fd) < 0)
		rc = -errno;
	free(name);
	return rc;
}
