/*
 * report: the campaign results files of each occurrence (issue 14,
 * docs/results.md). What the rows say is decided by the core
 * (src/core/results.c: the join, the CSV, the JSON Lines, the names);
 * this part of the engine gathers its inputs (the job, the runs of the
 * occurrence, the batch details, the known conversations) and writes the
 * two files below results_dir with the state's crash-safe replace
 * (file.h), first when a batch ends and again whenever a later fact
 * arrives.
 *
 * The details are kept in memory only: they are the API's to give again
 * (GET of the batch), and a results file already written stays on disk
 * across a restart.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_int.h"
#include "file.h"
#include "report.h"
#include "results.h"
#include "util.h"

/* The last terminal detail of one batch: its recipients. */
struct report_detail {
	char *batch_id;
	struct batch_rcpt *rcpts;
	size_t n_rcpts;
};

/* One occurrence of a job that has results. */
struct report_occ {
	char *job;
	int64_t start;
	struct report_detail *details;
	size_t n_details, cap_details;
};

struct report {
	struct report_occ *occ;
	size_t n_occ, cap_occ;
	/* the conversations and failures known (polls, webhooks) */
	struct conv *convs;
	size_t n_convs, cap_convs;
	struct conv_failure *failures;
	size_t n_failures, cap_failures;
};

static void detail_clear(struct report_detail *d)
{
	free(d->batch_id);
	for (size_t i = 0; i < d->n_rcpts; i++)
		batch_rcpt_clear(&d->rcpts[i]);
	free(d->rcpts);
	*d = (struct report_detail){ 0 };
}

static void occ_clear(struct report_occ *o)
{
	free(o->job);
	for (size_t i = 0; i < o->n_details; i++)
		detail_clear(&o->details[i]);
	free(o->details);
	*o = (struct report_occ){ 0 };
}

void report_free(struct report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_occ; i++)
		occ_clear(&r->occ[i]);
	free(r->occ);
	for (size_t i = 0; i < r->n_convs; i++)
		conv_clear(&r->convs[i]);
	free(r->convs);
	for (size_t i = 0; i < r->n_failures; i++)
		conv_failure_clear(&r->failures[i]);
	free(r->failures);
	free(r);
}

static struct report *report_of(struct engine *e)
{
	if (!e->report)
		e->report = xcalloc(1, sizeof(*e->report));
	return e->report;
}

static struct report_occ *occ_find(struct report *r, const char *job, int64_t start, bool create)
{
	for (size_t i = 0; i < r->n_occ; i++)
		if (r->occ[i].start == start && strcmp(r->occ[i].job, job) == 0)
			return &r->occ[i];
	if (!create)
		return NULL;
	xgrow((void **)&r->occ, &r->cap_occ, r->n_occ + 1, sizeof(*r->occ));
	r->occ[r->n_occ] = (struct report_occ){ .job = xstrdup(job), .start = start };
	return &r->occ[r->n_occ++];
}

static const struct report_detail *occ_detail(const struct report_occ *o, const char *batch_id)
{
	for (size_t i = 0; o && batch_id && i < o->n_details; i++)
		if (strcmp(o->details[i].batch_id, batch_id) == 0)
			return &o->details[i];
	return NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* --- writing --------------------------------------------------------------- */

/* The group the results are for (control_group), or -1: the daemon's. */
static gid_t results_gid(const struct daemonconf *c)
{
	struct group gr, *res = NULL;
	char buf[4096];

	if (!c->control_group || getgrnam_r(c->control_group, &gr, buf, sizeof(buf), &res) != 0 || !res)
		return (gid_t)-1;
	return gr.gr_gid;
}

/* Open the folder path (made if missing: mode 2750, so that what is made
 * inside takes its group, and given the results' group). */
static int open_folder(const char *path, gid_t gid)
{
	int fd;

	if (mkdir(path, 02750) < 0 && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (gid != (gid_t)-1) {
		struct stat st;
		if (fstat(fd, &st) == 0 && st.st_gid != gid) {
			/* best effort: a folder the operator made stays his */
			if (fchown(fd, (uid_t)-1, gid) == 0)
				(void)fchmod(fd, 02750);
		}
	}
	return fd;
}

/* Write text into results_dir/name (name "JOB/FILE") crash-safely. */
static int write_file(const struct daemonconf *c, const char *name, const char *text, size_t len)
{
	const char *slash = strrchr(name, '/');
	gid_t gid = results_gid(c);
	char *sub;
	int top, fd, rc;
	struct file_piece piece = { text, len };

	if (!slash)
		return -EINVAL;
	top = open_folder(c->results_dir, gid);
	if (top < 0)
		return top;
	sub = xasprintf("%s/%.*s", c->results_dir, (int)(slash - name), name);
	fd = open_folder(sub, gid);
	free(sub);
	if (fd < 0) {
		close(top);
		return fd;
	}
	rc = file_replace_at(fd, slash + 1, &piece, 1, 0640);
	close(fd);
	close(top);
	return rc;
}

int report_write(struct engine *e, const char *job, int64_t start)
{
	struct report *rep = report_of(e);
	const struct jobspec *spec = daemonconf_find(e->conf, job);
	const struct report_occ *o = occ_find(rep, job, start, false);
	const struct run **all = NULL;
	struct results_run *runs;
	struct results res = { 0 };
	struct results_input in = { 0 };
	const char *call_name = NULL;
	size_t n_all, n = 0;
	int rc = 0;

	if (!spec)
		return 0; /* the rows are the job file's recipients: none to write */
	n_all = slot_job_runs(e, job, &all, NULL);
	runs = xcalloc(n_all ? n_all : 1, sizeof(*runs));
	for (size_t i = 0; i < n_all; i++) {
		const struct run *r = all[i];
		const struct report_detail *d;
		if (r->start != start)
			continue;
		d = occ_detail(o, r->batch_id);
		runs[n] = (struct results_run){
			.part = r->part,
			.call_name = r->call_name,
			.state = r->state,
			.batch_id = r->batch_id,
			.keys = (const char *const *)r->rcpts,
			.n_keys = r->n_rcpts,
			.has_detail = d != NULL,
			.rcpts = d ? d->rcpts : NULL,
			.n_rcpts = d ? d->n_rcpts : 0,
		};
		if (!r->part || !call_name)
			call_name = r->call_name;
		n++;
	}
	if (n == 0)
		goto out;
	in = (struct results_input){
		.job = spec,
		.start = start,
		.call_name = call_name,
		.runs = runs,
		.n_runs = n,
		.convs = rep->convs,
		.n_convs = rep->n_convs,
		.failures = rep->failures,
		.n_failures = rep->n_failures,
	};
	results_build(&in, &res);
	for (int f = RESULTS_CSV; f <= RESULTS_JSONL; f++) {
		size_t len;
		char *text = f == RESULTS_CSV ? results_csv(&res, &len) : results_jsonl(&res, &len);
		char *name = results_file_name(job, start, call_name, (enum results_format)f);
		int w = write_file(e->conf, name, text, len);
		struct log_fields lf = { .job = job, .run_start = start };
		if (w < 0) {
			log_event(LOG_ERR, EV_RESULTS_WRITTEN, &lf, "job '%s': cannot write the results file '%s/%s': %s",
				  job, e->conf->results_dir, name, strerror(-w));
			e->stats.results_files_failed++;
			rc = w;
		} else {
			log_event(LOG_INFO, EV_RESULTS_WRITTEN, &lf, "job '%s': results file '%s/%s' written (%zu rows)",
				  job, e->conf->results_dir, name, res.n_rows);
			e->stats.results_files_written++;
		}
		free(name);
		free(text);
	}
	results_clear(&res);
out:
	free(runs);
	free(all);
	return rc;
}

void report_note_detail(struct engine *e, const struct run *r, const struct batch_detail *d)
{
	struct report *rep = report_of(e);
	struct report_occ *o;
	struct report_detail *x = NULL;

	if (!r->batch_id)
		return;
	o = occ_find(rep, r->job, r->start, true);
	for (size_t i = 0; i < o->n_details; i++)
		if (strcmp(o->details[i].batch_id, r->batch_id) == 0) {
			x = &o->details[i];
			detail_clear(x);
			break;
		}
	if (!x) {
		xgrow((void **)&o->details, &o->cap_details, o->n_details + 1, sizeof(*o->details));
		x = &o->details[o->n_details++];
	}
	x->batch_id = xstrdup(r->batch_id);
	x->rcpts = xcalloc(d->n_rcpts ? d->n_rcpts : 1, sizeof(*x->rcpts));
	x->n_rcpts = d->n_rcpts;
	for (size_t i = 0; i < d->n_rcpts; i++) {
		const struct batch_rcpt *s = &d->rcpts[i];
		x->rcpts[i] = (struct batch_rcpt){
			.id = dup_or_null(s->id),
			.phone_number = dup_or_null(s->phone_number),
			.whatsapp_user_id = dup_or_null(s->whatsapp_user_id),
			.status = s->status,
			.conversation_id = dup_or_null(s->conversation_id),
		};
	}
	(void)report_write(e, r->job, r->start);
}
