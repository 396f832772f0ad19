/*
 * report: the campaign results files of each occurrence, written below
 * results_dir (an engine part: see engine_int.h and report.c).
 */
#ifndef BC_REPORT_H
#define BC_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "run.h"

struct engine;
struct report;

/* A terminal detail of r's batch arrived: keep its recipients for the
 * occurrence's rows and write the occurrence's results files. */
void report_note_detail(struct engine *e, const struct run *r, const struct batch_detail *d);
/* Write (again) the results files of the occurrence (job, start). 0, or a
 * negative errno (logged). */
int report_write(struct engine *e, const char *job, int64_t start);
struct webhook_event;

/* Whether exactly this event (body) is already kept. */
bool report_event_stored(struct engine *e, const struct webhook_event *ev, const char *body, size_t len);
/* Keep a verified post-call event durably in STATE_DIR/events (body as
 * received; one per conversation and type, a later one replaces it), then
 * join it to the rows (its parts are taken). 0 once it is on stable
 * storage, with *ret_dup when exactly that event was kept before (nothing
 * changes); -EINVAL for a type or id that is not kept; or a negative
 * errno of the write (ENOSPC...). */
int report_take_event(struct engine *e, struct webhook_event *ev, const char *body, size_t len, bool *ret_dup);
/* Read what the state folder keeps for the results (the conversations
 * fetched before): 0, or a negative errno (logged by the caller). */
int report_load(struct engine *e);
/* The rows of the occurrence (job, start) as the control socket shows
 * them (start 0: the latest one submitted or decided): a JSON document
 * {job, run_start, run_start_utc, csv_file, csv, rows: [the JSON Lines
 * objects]} the caller frees; or -ENOENT with *why (static text). */
int report_render(struct engine *e, const char *job, int64_t start, char **ret, const char **why);
/* Free what the engine keeps for the results (NULL accepted). */
void report_free(struct report *r);

#endif
