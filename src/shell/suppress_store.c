/*
 * suppress_store: the do-not-call list files and the daemon's own list in
 * the state folder (see suppress_store.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "etcd.h"
#include "file.h"
#include "jobspec.h"
#include "sbuf.h"
#include "shared.h"
#include "suppress_store.h"
#include "tz.h"

static const char own_header[] = "phone_number,whatsapp_user_id,added_utc,peer_uid,reason\n";

struct suppress_store {
	int dirfd;
	int fd;         /* the own list, O_APPEND */
	char *path;
	uint32_t lines; /* lines it holds: the next one appended is lines + 1 */
	struct stat sb; /* the file st->fd is: a file at path that is not it replaced it */
	/* cluster mode: the list is in etcd, one key a target (PREFIX
	 * "suppressed/" TARGET, its CSV line the value); fd and dirfd -1 */
	const struct engine_shared *sh;
	char *keys;
};

int suppress_store_read(const char *path, struct suppress_set *s, struct diag *d)
{
	char *text = NULL;
	size_t len = 0;
	/* (a regular file: a FIFO named here would hold the loop) */
	int r = file_read_ex(path, SUPPRESS_STORE_MAX_FILE, FILE_READ_REGULAR, &text, &len);

	if (r < 0) {
		if (r == -EINVAL)
			diag_add(d, path, 0, "cannot read the do-not-call list: not a regular file");
		else if (r == -EFBIG)
			diag_add(d, path, 0, "do-not-call list is larger than %u MB", SUPPRESS_STORE_MAX_FILE >> 20);
		else
			diag_add(d, path, 0, "cannot read the do-not-call list: %s", strerror(-r));
		return -EINVAL;
	}
	r = suppress_parse(s, path, text, len, d);
	free(text);
	return r;
}

static uint32_t count_lines(const char *p, size_t n)
{
	uint32_t k = 0;

	for (const char *q = p; (q = memchr(q, '\n', n - (size_t)(q - p))); q++)
		k++;
	return k;
}

/* Whether line (n bytes, no newline) of the own list is whole: it reads
 * as the header when it is the first line (CRLF, a BOM and blanks are
 * fine), else as an entry under the header. A write cut short leaves a
 * quote open or a number too short, which does not read; one cut after
 * its number's cell (only the moment or reason lost) does, and is kept,
 * and so is a bare number added by hand: a line is dropped only when it
 * cannot mean a number that must not be called. (A cut inside the
 * number that leaves 8 or more digits keeps a wrong number from calls:
 * the addition it belonged to was never answered.) */
static bool whole_line(const char *line, size_t n, bool first)
{
	size_t head = first ? 0 : sizeof(own_header) - 1;
	struct suppress_set probe = { 0 };
	struct diag d = { 0 };
	char *text = xmalloc(head + n + 2);
	int r;

	memcpy(text, own_header, head);
	memcpy(text + head, line, n);
	text[head + n] = '\n';
	text[head + n + 1] = '\0';
	r = suppress_parse(&probe, "own", text, head + n + 1, &d);
	free(text);
	diag_clear(&d);
	suppress_clear(&probe);
	return r == 0;
}

/* Read the own list at st->path into own (made when absent or empty,
 * its torn last line cut, its header given back when the cut left
 * nothing), sealed, and open it for appending. */
static int load_own(struct suppress_store *st, struct suppress_set *own, bool *ret_cut, char **cause)
{
	struct diag d = { 0 };
	char *text = NULL;
	size_t len = 0;
	int r;

	/* (a regular file only, opened without blocking: a FIFO put in its
	 * place would hold the start for ever) */
	r = file_read_ex(st->path, SUPPRESS_STORE_MAX_FILE, FILE_READ_REGULAR, &text, &len);
	if (r == 0 && len == 0) {
		/* emptied (by hand, or a cut header): made again below */
		free(text);
		text = NULL;
		r = -ENOENT;
	}
	if (r == -ENOENT) {
		struct file_piece p = { own_header, sizeof(own_header) - 1 };
		r = file_replace_at(st->dirfd, SUPPRESS_STORE_NAME, &p, 1, 0600);
		if (r < 0) {
			*cause = xasprintf("cannot make the do-not-call list '%s': %s", st->path, strerror(-r));
			goto fail;
		}
		text = xstrdup(own_header);
		len = strlen(text);
	} else if (r < 0) {
		*cause = xasprintf("cannot read the do-not-call list '%s': %s", st->path,
				   r == -EINVAL ? "not a regular file" : strerror(-r));
		goto fail;
	}
	st->fd = open(st->path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK);
	if (st->fd < 0) {
		r = -errno;
		*cause = xasprintf("cannot open the do-not-call list '%s' for writing: %s", st->path, strerror(-r));
		goto fail;
	}
	if (len > 0 && text[len - 1] != '\n') {
		const char *nl = memrchr(text, '\n', len);
		size_t start = nl ? (size_t)(nl - text) + 1 : 0;
		if (whole_line(text + start, len - start, start == 0)) {
			/* a last line without its newline that is whole (a hand
			 * edit saved so): kept, its newline added */
			if (write(st->fd, "\n", 1) != 1 || fdatasync(st->fd) < 0) {
				r = errno ? -errno : -EIO;
				*cause = xasprintf("cannot end the last line of '%s': %s", st->path, strerror(-r));
				goto fail;
			}
			text = xrealloc(text, len + 2);
			text[len++] = '\n';
			text[len] = '\0';
		} else {
			/* A write cut short: its addition was never answered. */
			len = start;
			if (ftruncate(st->fd, (off_t)len) < 0 ||
			    (len == 0 && write(st->fd, own_header, sizeof(own_header) - 1) !=
						 (ssize_t)(sizeof(own_header) - 1)) ||
			    fdatasync(st->fd) < 0) {
				r = errno ? -errno : -EIO;
				*cause = xasprintf("cannot cut the torn last line of '%s': %s", st->path, strerror(-r));
				goto fail;
			}
			if (len == 0) {
				/* nothing but a torn header: the header again */
				free(text);
				text = xstrdup(own_header);
				len = strlen(text);
			}
			text[len] = '\0';
			*ret_cut = true;
		}
	}
	st->lines = count_lines(text, len);
	own->sealed = false;
	r = suppress_parse(own, st->path, text, len, &d);
	suppress_seal(own);
	if (r < 0) {
		char *first = diag_format(&d, 0);
		*cause = xasprintf("the do-not-call list '%s' is damaged (%zu bad line%s), e.g. %s; repair it (its "
				   "format: README, \"Do-not-call lists\")",
				   st->path, d.n, d.n == 1 ? "" : "s", first);
		free(first);
		goto fail;
	}
	if (fstat(st->fd, &st->sb) < 0) {
		r = -errno;
		*cause = xasprintf("cannot stat '%s': %s", st->path, strerror(-r));
		goto fail;
	}
	free(text);
	diag_clear(&d);
	return 0;
fail:
	free(text);
	diag_clear(&d);
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
	return r < 0 ? r : -EINVAL;
}

int suppress_store_open(const char *state_dir, struct suppress_set *own, struct suppress_store **ret, bool *ret_cut,
			char **cause)
{
	struct suppress_store *st = xcalloc(1, sizeof(*st));
	int r;

	*ret_cut = false;
	st->fd = st->dirfd = -1;
	st->path = xasprintf("%s/%s", state_dir, SUPPRESS_STORE_NAME);
	st->dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0) {
		r = -errno;
		*cause = xasprintf("cannot open the state folder '%s': %s", state_dir, strerror(-r));
		suppress_store_close(st);
		return r;
	}
	r = load_own(st, own, ret_cut, cause);
	if (r < 0) {
		suppress_store_close(st);
		return r;
	}
	*ret = st;
	return 0;
}

static int kv_rev_cmp(const void *a, const void *b)
{
	const struct etcd_kv *x = a, *y = b;

	return (x->create_revision > y->create_revision) - (x->create_revision < y->create_revision);
}

int suppress_store_open_etcd(const struct engine_shared *sh, struct suppress_set *own, struct suppress_store **ret,
			     char **cause)
{
	struct suppress_store *st = xcalloc(1, sizeof(*st));
	struct etcd_kv *v = NULL;
	struct diag d = { 0 };
	struct sbuf text = { 0 };
	size_t n = 0;
	int r;

	st->fd = st->dirfd = -1;
	st->sh = sh;
	st->keys = xasprintf("%ssuppressed/", sh->prefix);
	st->path = xasprintf("etcd %s", st->keys);
	r = shared_range(sh, st->keys, &v, &n, cause);
	if (r < 0) {
		char *c = *cause;
		*cause = xasprintf("cannot read the do-not-call list in %s: %s", st->path, c);
		free(c);
		suppress_store_close(st);
		return r;
	}
	/* in the order they were added: the line numbers of messages */
	if (n > 1)
		qsort(v, n, sizeof(*v), kv_rev_cmp);
	sbuf_adds(&text, own_header);
	for (size_t i = 0; i < n; i++) {
		sbuf_add(&text, v[i].value, v[i].value_len);
		if (v[i].value_len == 0 || v[i].value[v[i].value_len - 1] != '\n')
			sbuf_adds(&text, "\n");
	}
	shared_kvs_free(v, n);
	st->lines = (uint32_t)(n + 1);
	own->sealed = false;
	r = suppress_parse(own, st->path, text.s, text.len, &d);
	suppress_seal(own);
	sbuf_free(&text);
	if (r < 0) {
		char *first = diag_format(&d, 0);
		*cause = xasprintf("the do-not-call list in %s is damaged (%zu bad key%s), e.g. %s", st->path, d.n,
				   d.n == 1 ? "" : "s", first);
		free(first);
		diag_clear(&d);
		suppress_store_close(st);
		return r;
	}
	diag_clear(&d);
	*ret = st;
	return 0;
}

int suppress_store_follow(struct suppress_store *st, struct suppress_set *own, bool *ret_replaced, char **cause)
{
	struct stat now;
	bool cut = false;

	*ret_replaced = false;
	if (st->sh)
		return 0; /* (only this leader writes it) */
	if (st->fd >= 0 && stat(st->path, &now) == 0 && now.st_ino == st->sb.st_ino && now.st_dev == st->sb.st_dev)
		return 0;
	/* Replaced (sed -i, an editor that saves by rename, a restore) or
	 * removed: appending to the old file would answer "added" into a
	 * file nobody reads again. The file there now is read and joins the
	 * list in force (what left it stays in force until the next start). */
	*ret_replaced = true;
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
	return load_own(st, own, &cut, cause);
}

/* A CSV cell of reason: quoted, control characters as blanks, cut at
 * SUPPRESS_STORE_REASON_MAX bytes (not inside a UTF-8 sequence). */
static char *reason_cell(const char *reason)
{
	size_t n = reason ? strlen(reason) : 0, k = 0;
	char *out;

	if (n > SUPPRESS_STORE_REASON_MAX) {
		n = SUPPRESS_STORE_REASON_MAX;
		while (n > 0 && ((unsigned char)reason[n] & 0xc0) == 0x80)
			n--;
	}
	out = xmalloc(2 * n + 3);
	out[k++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)reason[i];
		if (c == '"')
			out[k++] = '"';
		out[k++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	out[k++] = '"';
	out[k] = '\0';
	return out;
}

int suppress_store_append(struct suppress_store *st, const char *normal, int64_t now_s, uint32_t peer_uid,
			  const char *reason, uint32_t *ret_line)
{
	static const char wa[] = SUPPRESS_WA_PREFIX;
	bool is_wa = strncmp(normal, wa, sizeof(wa) - 1) == 0;
	char when[32], *cell = reason_cell(reason), *line;
	int rc;

	format_utc(now_s, when, sizeof(when));
	line = xasprintf("%s,%s,%s,%u,%s\n", is_wa ? "" : normal, is_wa ? normal + sizeof(wa) - 1 : "", when,
			 (unsigned)peer_uid, cell);
	free(cell);
	if (st->sh) {
		char *key = xasprintf("%s%s", st->keys, normal), *cause = NULL;
		struct shared_item it = { .key = key, .value = line, .len = strlen(line) };
		rc = shared_write(st->sh, &it, 1, &cause);
		free(cause);
		free(key);
	} else {
		rc = file_append_sync(st->fd, line, strlen(line));
	}
	free(line);
	if (rc < 0)
		return rc;
	st->lines++;
	*ret_line = st->lines;
	return 0;
}

size_t suppress_store_check(const struct daemonconf *c, FILE *out)
{
	struct suppress_set own = { 0 };
	struct suppress_rules rules = { .sets = { c->suppress, &own }, .n_sets = 2 };
	struct diag d = { 0 }, w = { 0 };
	char *path = xasprintf("%s/%s", c->state_dir, SUPPRESS_STORE_NAME);
	size_t n;

	/* (only a list that is certainly not there is skipped silently: a
	 * state folder this user cannot search hides one that may be) */
	if (access(path, F_OK) < 0 && errno != ENOENT)
		fprintf(out, "note: the daemon's own do-not-call list was not consulted: '%s': %s (check as the "
			     "daemon's user, or as root, to include it)\n", path, strerror(errno));
	else if (access(path, F_OK) == 0 && suppress_store_read(path, &own, &d) < 0) {
		char *first = diag_format(&d, 0);
		fprintf(out, "note: the daemon's own do-not-call list was not consulted: %s\n", first);
		free(first);
	}
	suppress_seal(&own);
	n = suppress_warn_jobs(&rules, c->jobs, c->n_jobs, &w);
	/* (an empty list is taken as one, but it is more often a failed
	 * export than an intent: said, not refused) */
	for (size_t i = 0; i < c->n_suppression; i++)
		if (suppress_source_size(c->suppress, c->suppression[i]) == 0) {
			fprintf(out, "%s: warning: the do-not-call list has no numbers\n", c->suppression[i]);
			n++;
		}
	for (size_t i = 0; i < w.n; i++) {
		char *line = diag_format(&w, i);
		/* "FILE:LINE: message" -> "FILE:LINE: warning: message" */
		const char *msg = w.v[i].msg;
		size_t head = strlen(line) - strlen(msg);
		fprintf(out, "%.*swarning: %s\n", (int)head, line, msg);
		free(line);
	}
	diag_clear(&w);
	diag_clear(&d);
	suppress_clear(&own);
	free(path);
	return n;
}

const char *suppress_store_path(const struct suppress_store *st)
{
	return st->path;
}

void suppress_store_close(struct suppress_store *st)
{
	if (!st)
		return;
	if (st->fd >= 0)
		close(st->fd);
	if (st->dirfd >= 0)
		close(st->dirfd);
	free(st->path);
	free(st->keys);
	free(st);
}
