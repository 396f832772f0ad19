/*
 * report: the campaign results files of each occurrence, written below
 * results_dir (an engine part: see engine_int.h and report.c).
 */
#ifndef BC_REPORT_H
#define BC_REPORT_H

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
/* Read what the state folder keeps for the results (the conversations
 * fetched before): 0, or a negative errno (logged by the caller). */
int report_load(struct engine *e);
/* Free what the engine keeps for the results (NULL accepted). */
void report_free(struct report *r);

#endif
