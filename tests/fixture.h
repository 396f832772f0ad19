/*
 * fixture: what the core's check suites share. The core reads no files;
 * its tests may, and do it the shell's way: files through file_read, zones
 * through tzdb ($TZDIR, else /usr/share/zoneinfo; tz_parse makes the zone).
 * Those two shell modules are built into the fixture library, not the
 * core's (tests/layers.sh fails on a core object that calls them).
 */
#ifndef BC_FIXTURE_H
#define BC_FIXTURE_H

#include <stddef.h>

#include "tz.h"

/* The bytes of a file (NUL-terminated, the caller frees); aborts the test
 * run when it cannot be read. */
char *fixture_read(const char *path, size_t *ret_len);
/* A zone of the tz database, parsed by the core (tzdb_load as a tz_loader). */
int fixture_tz_loader(const char *name, struct tz **ret, char **cause, void *arg);
/* A zone; aborts when it cannot be loaded. The caller frees. */
struct tz *fixture_tz(const char *name);
/* A cache of zones of the tz database. */
struct tz_cache *fixture_zones(void);

#endif
