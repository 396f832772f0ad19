/*
 * file: see file.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "util.h"

int file_read(const char *path, size_t max, char **ret, size_t *ret_len)
{
	return file_read_ex(path, max, 0, ret, ret_len);
}

int file_read_ex(const char *path, size_t max, unsigned flags, char **ret, size_t *ret_len)
{
	int fd, r = 0;
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (flags & FILE_READ_OWN)
		flags |= FILE_READ_REGULAR | FILE_READ_NOFOLLOW;
	fd = open(path, O_RDONLY | O_CLOEXEC | (flags & FILE_READ_REGULAR ? O_NONBLOCK : 0) |
				(flags & FILE_READ_NOFOLLOW ? O_NOFOLLOW : 0));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto out;
	}
	if ((flags & FILE_READ_REGULAR) && !S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if ((flags & FILE_READ_OWN) && st.st_uid != geteuid()) {
		r = -EPERM;
		goto out;
	}
	for (;;) {
		ssize_t n;
		xgrow((void **)&buf, &cap, len + 65536 + 1, 1);
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			r = -EFBIG;
			goto out;
		}
	}
	buf = xrealloc(buf, len + 1);
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
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

int file_write_at(int dirfd, const char *name, const struct file_piece *v, size_t n, mode_t mode, bool sync)
{
	int fd, rc = 0;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = write_all(fd, v[i].p, v[i].n);
	if (rc == 0 && sync && fdatasync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0)
		unlinkat(dirfd, name, 0);
	return rc;
}

/* How replace_sets makes the writes durable. */
enum {
	/* an fdatasync of each temporary file, else one syncfs of each file
	 * system the sets are on */
	SYNC_EACH_FILE = 1u << 0,
	/* an fsync of each folder after its renames, else one more syncfs
	 * of each file system */
	SYNC_EACH_FOLDER = 1u << 1,
};

/* One syncfs of each file system of the sets that want it (want[i]); a
 * failure is the result of each of those sets on it that had none. */
static void sync_each_fs(struct file_set *v, size_t n, const dev_t *dev, const bool *want)
{
	bool *done = xcalloc(n ? n : 1, sizeof(*done));

	for (size_t i = 0; i < n; i++) {
		int r;
		if (!want[i] || done[i])
			continue;
		r = syncfs(v[i].dirfd) < 0 ? -errno : 0;
		for (size_t j = i; j < n; j++)
			if (want[j] && !done[j] && dev[j] == dev[i]) {
				done[j] = true;
				if (v[j].result == 0)
					v[j].result = r;
			}
	}
	free(done);
}

/* The temporary files of every set first (".NAME.tmp"), made durable
 * (how), then every rename, then the renames made durable. A set that
 * fails keeps its other files' temporary files out of the way (removed)
 * and the old versions of the files not renamed yet. */
static void replace_sets(struct file_set *v, size_t n, mode_t mode, unsigned how)
{
	char ***tmps = xcalloc(n ? n : 1, sizeof(*tmps));
	size_t *written = xcalloc(n ? n : 1, sizeof(*written));
	size_t *renamed = xcalloc(n ? n : 1, sizeof(*renamed));
	dev_t *dev = xcalloc(n ? n : 1, sizeof(*dev));
	bool *want = xcalloc(n ? n : 1, sizeof(*want));

	/* (one set has no file system to share a syncfs with) */
	bool by_dev = n > 1 && (how & (SYNC_EACH_FILE | SYNC_EACH_FOLDER)) != (SYNC_EACH_FILE | SYNC_EACH_FOLDER);

	for (size_t i = 0; i < n; i++) {
		struct stat st;
		v[i].result = 0;
		tmps[i] = xcalloc(v[i].n ? v[i].n : 1, sizeof(**tmps));
		if (by_dev && fstat(v[i].dirfd, &st) < 0)
			v[i].result = -errno;
		else if (by_dev)
			dev[i] = st.st_dev;
		for (size_t k = 0; k < v[i].n && v[i].result == 0; k++) {
			tmps[i][k] = xasprintf(".%s.tmp", v[i].names[k]);
			v[i].result = file_write_at(v[i].dirfd, tmps[i][k], v[i].pieces[k], v[i].n_pieces[k], mode,
						    how & SYNC_EACH_FILE);
			if (v[i].result == 0)
				written[i]++;
		}
		want[i] = v[i].result == 0;
	}
	if (!(how & SYNC_EACH_FILE))
		sync_each_fs(v, n, dev, want);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < v[i].n && v[i].result == 0; k++) {
			if (renameat(v[i].dirfd, tmps[i][k], v[i].dirfd, v[i].names[k]) < 0)
				v[i].result = -errno;
			else
				renamed[i]++;
		}
	/* (also the renames of a set that failed at a later one) */
	for (size_t i = 0; i < n; i++)
		want[i] = renamed[i] > 0;
	if (how & SYNC_EACH_FOLDER) {
		for (size_t i = 0; i < n; i++)
			if (want[i] && fsync(v[i].dirfd) < 0 && v[i].result == 0)
				v[i].result = -errno;
	} else {
		sync_each_fs(v, n, dev, want);
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < v[i].n; k++) {
			if (v[i].result < 0 && k >= renamed[i] && k < written[i])
				unlinkat(v[i].dirfd, tmps[i][k], 0);
			free(tmps[i][k]);
		}
		free(tmps[i]);
	}
	free(tmps);
	free(written);
	free(renamed);
	free(dev);
	free(want);
}

static int replace_one_set(int dirfd, const char *const *names, const struct file_piece *const *pieces,
			   const size_t *n_pieces, size_t n, mode_t mode, unsigned how)
{
	struct file_set set = { dirfd, names, pieces, n_pieces, n, 0 };

	replace_sets(&set, 1, mode, how);
	return set.result;
}

int file_replace_at(int dirfd, const char *name, const struct file_piece *v, size_t n, mode_t mode)
{
	return replace_one_set(dirfd, &name, &v, &n, 1, mode, SYNC_EACH_FILE | SYNC_EACH_FOLDER);
}

int file_replace_many_at(int dirfd, const char *const *names, const struct file_piece *const *pieces,
			 const size_t *n_pieces, size_t n, mode_t mode)
{
	return replace_one_set(dirfd, names, pieces, n_pieces, n, mode, SYNC_EACH_FOLDER);
}

void file_replace_sets(struct file_set *v, size_t n, mode_t mode)
{
	replace_sets(v, n, mode, 0);
}

static int append_at(int fd, off_t was, const char *p, size_t n, bool sync)
{
	size_t off = 0;
	int rc = 0;

	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = -errno;
			break;
		}
		off += (size_t)w;
	}
	if (rc == 0 && sync && fdatasync(fd) < 0)
		rc = -errno;
	if (rc < 0 && off > 0 && was >= 0 && ftruncate(fd, was) == 0 && sync)
		fdatasync(fd);
	return rc;
}

int file_append_sync(int fd, const char *p, size_t n)
{
	struct stat sb;

	return append_at(fd, fstat(fd, &sb) == 0 ? sb.st_size : -1, p, n, true);
}

int file_append(int fd, off_t was, const char *p, size_t n)
{
	return append_at(fd, was, p, n, false);
}

int file_lock_dir(const char *dir, int *ret_fd, char **cause)
{
	char *lock;
	int fd, r;

	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		r = -errno;
		*cause = xasprintf("cannot create state folder '%s': %s", dir, strerror(errno));
		return r;
	}
	lock = xasprintf("%s/lock", dir);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		r = -errno;
		*cause = xasprintf("cannot open lock file '%s': %s", lock, strerror(errno));
		free(lock);
		return r;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		*cause = r == -EBUSY ? xasprintf("another batchcalld is using the state folder '%s' (lock '%s' is held)",
						 dir, lock)
				     : xasprintf("cannot lock '%s': %s", lock, strerror(errno));
		close(fd);
		free(lock);
		return r;
	}
	free(lock);
	*ret_fd = fd;
	return 0;
}
