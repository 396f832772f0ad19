/*
 * tzdb: the system's tz database ($TZDIR, else /usr/share/zoneinfo) as the
 * source of the core's zones: reads a zone's TZif file and hands the bytes
 * to tz_parse; an unknown name gets a "did you mean" from tzdata.zi.
 */
#ifndef BC_TZDB_H
#define BC_TZDB_H

#include "tz.h"

/* Load a zone by IANA name. 0, or -ENOENT (unknown zone), -EINVAL (bad
 * name), -EBADMSG (not a TZif file); on failure *cause (may be NULL) says
 * why in a sentence (the caller frees). */
int tzdb_load(const char *name, struct tz **ret, char **cause);
/* A zone cache that reads the tz database. */
struct tz_cache *tzdb_cache_new(void);

#endif
