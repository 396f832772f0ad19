/*
 * resfiles: the results files read back. See resfiles.h.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "resfiles.h"
#include "results.h"
#include "util.h"

/* The daemon's own write caps nothing; this keeps a reader's memory
 * bounded all the same (a 10,000-recipient CSV is a few MiB). */
#define MAX_RESULTS_FILE ((size_t)256 << 20)

char *resfiles_folder(const char *dir, const char *job)
{
	char *probe = results_file_name(job, 1, NULL, RESULTS_CSV), *path;

	*strchr(probe, '/') = '\0';
	path = xasprintf("%s/%s", dir, probe);
	free(probe);
	return path;
}

int resfiles_find(const char *dir, const char *job, int64_t start, char **ret_name, int64_t *ret_start)
{
	char *folder = resfiles_folder(dir, job), *best = NULL, *name;
	const char *base;
	int64_t best_start = 0;
	struct dirent *de;
	/* the job's folder itself, not a link planted in its place */
	int fd = open(folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	int r;

	if (!d) {
		int err = errno;
		r = err > 0 ? -err : -EIO;
		if (fd >= 0)
			close(fd);
		free(folder);
		return r;
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		int64_t t;
		/* a name the daemon writes: a STAMP first, ".csv" last (its
		 * temporary files begin with '.') */
		if (n <= 4 || strcmp(de->d_name + n - 4, ".csv") != 0 || results_file_start(de->d_name, &t) < 0)
			continue;
		if (start ? t != start : t < best_start)
			continue;
		if (!best || t > best_start || strcmp(de->d_name, best) > 0) {
			free(best);
			best = xstrdup(de->d_name);
			best_start = t;
		}
	}
	closedir(d);
	free(folder);
	if (!best)
		return -ENOENT;
	/* "JOB/" as results_file_name writes it, then the name found */
	name = results_file_name(job, best_start, NULL, RESULTS_CSV);
	base = strchr(name, '/') + 1;
	*ret_name = xasprintf("%.*s%s", (int)(base - name), name, best);
	*ret_start = best_start;
	free(name);
	free(best);
	return 0;
}

/* Read dir/name into *ret; negative errno with *cause. A regular file
 * only, never through a link (results_dir may be writable by a group). */
static int read_one(const char *dir, const char *name, unsigned flags, char **ret, size_t *ret_len, char **cause)
{
	char *path = xasprintf("%s/%s", dir, name);
	int r = file_read_ex(path, MAX_RESULTS_FILE, flags | FILE_READ_REGULAR | FILE_READ_NOFOLLOW, ret, ret_len);

	if (r < 0)
		*cause = xasprintf("cannot read '%s': %s", path,
				   r == -EINVAL ? "not a regular file" : r == -ELOOP ? "a symbolic link" :
				   r == -EPERM ? "not written by this daemon" : strerror(-r));
	free(path);
	return r;
}

int resfiles_load(const char *dir, const char *job, int64_t start, bool json, unsigned flags, char **ret,
		  size_t *ret_len, char **cause)
{
	char *name = NULL, *jname = NULL, *csv = NULL, *jsonl = NULL, *why = NULL;
	size_t csv_len = 0, jsonl_len = 0;
	int64_t t;
	int r = resfiles_find(dir, job, start, &name, &t);

	if (r == -ENOENT) {
		*cause = xstrdup(start ? RESFILES_NO_START : RESFILES_NONE);
		return r;
	}
	if (r < 0 || !name) {
		char *folder = resfiles_folder(dir, job);
		r = r < 0 ? r : -EIO;
		*cause = xasprintf("cannot read the folder '%s': %s", folder, strerror(-r));
		free(folder);
		free(name);
		return r;
	}
	r = read_one(dir, name, flags, &csv, &csv_len, cause);
	if (r < 0)
		goto out;
	if (!json) {
		*ret = csv;
		*ret_len = csv_len;
		csv = NULL;
		goto out;
	}
	jname = xasprintf("%.*s.jsonl", (int)(strlen(name) - 4), name);
	r = read_one(dir, jname, flags, &jsonl, &jsonl_len, cause);
	if (r < 0)
		goto out;
	r = results_document(job, t, name, csv, csv_len, jsonl, jsonl_len, true, ret, ret_len, &why);
	if (r < 0)
		*cause = xasprintf("'%s/%s': %s", dir, jname, why);
out:
	free(why);
	free(jsonl);
	free(csv);
	free(jname);
	free(name);
	return r;
}
