/*
 * fixture: see fixture.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "util.h"

char *fixture_read(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "fixture: cannot read %s\n", path);
		abort();
	}
	do {
		xgrow((void **)&buf, &cap, len + 65536 + 1, 1);
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	*ret_len = len;
	return buf;
}

int fixture_tz_loader(const char *name, struct tz **ret, char **cause, void *arg)
{
	const char *dir = getenv("TZDIR");
	char *path;
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	int r;

	(void)arg;
	path = xasprintf("%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
	f = fopen(path, "rb");
	free(path);
	if (!f) {
		if (cause)
			*cause = xasprintf("unknown time zone '%s'", name);
		return -ENOENT;
	}
	do {
		xgrow((void **)&buf, &cap, len + 65536 + 1, 1);
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	r = tz_parse(name, buf, len, ret, cause);
	free(buf);
	return r;
}

struct tz *fixture_tz(const char *name)
{
	struct tz *z = NULL;
	char *cause = NULL;

	if (fixture_tz_loader(name, &z, &cause, NULL) < 0) {
		fprintf(stderr, "fixture: zone %s: %s\n", name, cause ? cause : "?");
		abort();
	}
	return z;
}

struct tz_cache *fixture_zones(void)
{
	return tz_cache_new(fixture_tz_loader, NULL);
}
