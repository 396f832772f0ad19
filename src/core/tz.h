/*
 * tz: time zones from the system tz database, read from the TZif files
 * themselves (never through TZ/mktime, whose answers depend on earlier
 * calls), and the conversions between wall time and instants.
 *
 * The DST rule is RFC 5545's: a wall time inside a spring-forward gap is
 * read with the UTC offset in force before the gap; a wall time that occurs
 * twice at fall-back means its first occurrence.
 */
#ifndef BC_TZ_H
#define BC_TZ_H

#include <stdbool.h>
#include <stdint.h>

#include "civil.h"

/* A loaded zone (immutable once loaded; share it freely). */
struct tz;

/* Is name a syntactically acceptable IANA zone name ("Area/Location", "UTC")?
 * Refuses absolute paths, "..", and anything but [A-Za-z0-9/_+-]. */
bool tz_name_valid(const char *name);

/* Parse a TZif image held in memory (the shell's tzdb reads the files). */
int tz_parse(const char *name, const void *data, size_t len, struct tz **ret, char **cause);
void tz_free(struct tz *z);

/* UTC offset (seconds east) in force at instant t, with its abbreviation
 * (valid as long as z lives) and DST flag; any of the outputs may be NULL. */
void tz_lookup(const struct tz *z, int64_t t, int *ret_offset, const char **ret_abbr, bool *ret_isdst);

/* Wall time in zone z -> instant, by the RFC 5545 rule above.
 * *ret_kind (may be NULL) says whether the wall time was normal, in a gap or
 * in an overlap. */
enum tz_kind { TZ_NORMAL, TZ_GAP, TZ_OVERLAP };
int64_t tz_to_instant(const struct tz *z, const struct civil *local, enum tz_kind *ret_kind);
/* Instant -> wall time in zone z, with the offset in force. */
void tz_to_local(const struct tz *z, int64_t t, struct civil *ret, int *ret_offset);

/* A UTC offset in seconds as "+HH:MM" / "-HH:MM" ("+HH:MM:SS" when it
 * has seconds), into buf: the one formatter of offsets. */
void tz_format_offset(int offset, char *buf, size_t size);
/* Format an instant as local ISO 8601 with offset, "2026-12-01T09:00:00-05:00". */
void tz_format_local(const struct tz *z, int64_t t, char *buf, size_t size);
/* Format an instant as UTC ISO 8601, "2026-12-01T14:00:00Z". */
void format_utc(int64_t t, char *buf, size_t size);

/* Loads a zone by IANA name: 0, or -ENOENT (unknown zone), -EBADMSG (not
 * a TZif file), ... with *cause (may be NULL) saying why in a sentence. The
 * shell gives one that reads the tz database (tzdb.h); tests give theirs. */
typedef int (*tz_loader)(const char *name, struct tz **ret, char **cause, void *arg);
/* A cache of loaded zones keyed by name, so 10,000 jobs in 50 zones read 50
 * files. The cache owns the zones. */
struct tz_cache;
struct tz_cache *tz_cache_new(tz_loader load, void *arg);
void tz_cache_free(struct tz_cache *c);
/* The zone of name, loaded once (owned by the cache): 0, -EINVAL for a name
 * tz_name_valid refuses, or what the loader says, with *cause. */
int tz_cache_get(struct tz_cache *c, const char *name, const struct tz **ret, char **cause);

#endif
