/*
 * calendar: recurring events in the systemd.time(7) calendar-event syntax
 * (the subset a calling campaign needs) and the search for the next
 * occurrence on the wall clock of a zone.
 *
 *   [WEEKDAYS] [[YYYY-]MM-DD] [HH:MM[:SS]]   or   hourly daily weekly monthly yearly annually
 *
 * WEEKDAYS are names (Mon or Monday, any case), lists "Mon,Wed" and ranges
 * "Mon..Fri". Every date and time field is "*", a number, a list "1,15", a
 * range "1..5" or a step "*\/2", "8/2", "1..10/3". A missing date is
 * "*-*-*", a missing time "00:00:00", missing seconds ":00". Not supported
 * (refused with a message): "~" (days from the end of a month), fractional
 * seconds, a zone suffix (the job's timezone applies) and "minutely".
 *
 * Wall times become instants by the RFC 5545 rule of tz.h, like `start`: an
 * occurrence inside a spring-forward gap runs at the instant tz_to_instant
 * gives (the offset before the gap), one in a fall-back overlap runs once, at
 * its first occurrence. Two wall times that give the same instant are one
 * occurrence. Pure: no clock, no I/O.
 */
#ifndef BC_CALENDAR_H
#define BC_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tz;
struct civil;

/* How far calendar_next looks ahead before it gives up with -ENOENT. */
#define CALENDAR_SEARCH_YEARS 10

/* Weekday bits as civil_weekday numbers them: bit 0 = Sunday .. bit 6 = Saturday. */
#define CALENDAR_ALL_WEEKDAYS 0x7fu

/* A parsed calendar event (immutable once parsed). */
struct calendar;

/* Parse s. 0, or -EINVAL with *cause (the caller frees) naming the offending part. */
int calendar_parse(const char *s, struct calendar **ret, char **cause);
void calendar_free(struct calendar *c);
/* The normalised text, as systemd prints it ("Mon..Fri *-*-* 09:00:00"); the caller frees. */
char *calendar_format(const struct calendar *c);
/* The first occurrence strictly after `after` on the wall clock of z.
 * 0, or -ENOENT when there is none within CALENDAR_SEARCH_YEARS. */
int calendar_next(const struct calendar *c, const struct tz *z, int64_t after, int64_t *ret);

/* Parse a weekday spec ("Mon..Fri", "Sat,Sun", "Tuesday") into weekday bits;
 * shared with the calling hours. 0, or -EINVAL with *cause (the caller frees). */
int calendar_parse_weekdays(const char *s, unsigned *ret_mask, char **cause);
/* Format weekday bits the way systemd does ("Mon..Fri", "Mon,Wed", "Sat,Sun"). */
void calendar_format_weekdays(unsigned mask, char *buf, size_t size);

#endif
