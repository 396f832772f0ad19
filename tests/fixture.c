/*
 * fixture: see fixture.h.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "fixture.h"
#include "tzdb.h"

char *fixture_read(const char *path, size_t *ret_len)
{
	char *buf = NULL;
	int r = file_read(path, SIZE_MAX - 1, &buf, ret_len);

	if (r < 0) {
		fprintf(stderr, "fixture: cannot read %s: %s\n", path, strerror(-r));
		abort();
	}
	return buf;
}

int fixture_tz_loader(const char *name, struct tz **ret, char **cause, void *arg)
{
	(void)arg;
	return tzdb_load(name, ret, cause);
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
	return tzdb_cache_new();
}
