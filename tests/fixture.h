/*
 * fixture: what the core's check suites share. The core reads no files;
 * its tests may: a zone is read here from the system's tz database
 * ($TZDIR, else /usr/share/zoneinfo) and handed to tz_parse.
 */
#ifndef BC_FIXTURE_H
#define BC_FIXTURE_H

#include <stddef.h>

#include "tz.h"

/* The bytes of a file (NUL-terminated, the caller frees); aborts the test
 * run when it cannot be read. */
char *fixture_read(const char *path, size_t *ret_len);
/* A zone of the tz database, parsed by the core; NULL when unknown. */
int fixture_tz_loader(const char *name, struct tz **ret, char **cause, void *arg);
/* A zone; aborts when it cannot be loaded. The caller frees. */
struct tz *fixture_tz(const char *name);
/* A cache of zones of the tz database. */
struct tz_cache *fixture_zones(void);

#endif
