/*
 * tzdb: see tzdb.h.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "tzdb.h"
#include "util.h"

/* A TZif file is a few KiB; tzdata.zi about 100 KiB. */
#define TZIF_MAX (1 << 20)

static const char *tz_dir(void)
{
	const char *d = getenv("TZDIR");
	return d && *d ? d : "/usr/share/zoneinfo";
}

/* The zone names tzdata lists ("Z name ..." and "L target name" lines of
 * tzdata.zi), for "did you mean" hints; NULL-free, possibly empty. */
static char **known_zone_names(const char *dir, size_t *ret_n)
{
	char *path = xasprintf("%s/tzdata.zi", dir), *text = NULL, *line, *save = NULL;
	char **v = NULL;
	size_t n = 0, cap = 0, len;

	if (file_read(path, TZIF_MAX, &text, &len) < 0)
		goto out;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f1, *f2, *f3, *s2 = NULL;

		if ((line[0] != 'Z' && line[0] != 'L') || line[1] != ' ')
			continue;
		f1 = strtok_r(line, " \t", &s2);
		f2 = strtok_r(NULL, " \t", &s2);
		f3 = strtok_r(NULL, " \t", &s2);
		if (!f1 || !f2)
			continue;
		if (f1[0] == 'L' && !f3)
			continue;
		xgrow((void **)&v, &cap, n + 1, sizeof(*v));
		v[n++] = xstrdup(f1[0] == 'Z' ? f2 : f3);
	}
out:
	free(path);
	free(text);
	*ret_n = n;
	return v;
}

static char *unknown_zone_cause(const char *dir, const char *name)
{
	size_t n;
	char **names = known_zone_names(dir, &n);
	const char *hint = closest_word(name, (const char *const *)names, n);
	char *cause;

	if (hint)
		cause = xasprintf("unknown time zone '%s' (did you mean '%s'?)", name, hint);
	else
		cause = xasprintf("unknown time zone '%s'", name);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return cause;
}

int tzdb_load(const char *name, struct tz **ret, char **cause)
{
	const char *dir = tz_dir();
	char *path = NULL, *data = NULL, *why = NULL;
	size_t len;
	int r;

	if (!tz_name_valid(name)) {
		if (cause)
			*cause = xasprintf("invalid time zone name '%s' (expected an IANA name such as 'Europe/Berlin')",
					   name ? name : "");
		return -EINVAL;
	}
	path = xasprintf("%s/%s", dir, name);
	r = file_read(path, TZIF_MAX, &data, &len);
	if (r == -ENOENT || r == -ENOTDIR || r == -EISDIR) {
		if (cause)
			*cause = unknown_zone_cause(dir, name);
		r = -ENOENT;
		goto out;
	}
	if (r < 0) {
		if (cause)
			*cause = xasprintf("time zone '%s': cannot read %s: %s", name, path, strerror(-r));
		goto out;
	}
	r = tz_parse(name, data, len, ret, &why);
	if (r < 0 && cause) {
		*cause = xasprintf("%s, read from %s", why, path);
	}
out:
	free(why);
	free(data);
	free(path);
	return r;
}

/* tzdb_load as a tz_loader (arg unused). */
static int tzdb_loader(const char *name, struct tz **ret, char **cause, void *arg)
{
	(void)arg;
	return tzdb_load(name, ret, cause);
}

struct tz_cache *tzdb_cache_new(void)
{
	return tz_cache_new(tzdb_loader, NULL);
}
