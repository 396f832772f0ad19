/*
 * ctlview: JSON of the control API, the human `status` and `show` views,
 * and the Prometheus page. See ctlview.h.
 *
 * The human views read the JSON document rather than the structs because
 * batchcallctl only ever has the document the daemon sent; rendering from
 * it keeps one source of truth for what a job looks like.
 */
#include "config.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ctlview.h"
#include "webhook.h"
#include "sbuf.h"
#include "tz.h"
#include "util.h"

/* Pad with n spaces. */
static void pad(struct sbuf *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sbuf_add(b, " ", 1);
}

/* --- JSON of a job ------------------------------------------------------------ */

/* Written by hand rather than through json-c objects: GET /v1/jobs of
 * 10,000 jobs is served on the daemon's loop, and building the object
 * tree then serialising it took 75 ms there; writing the text directly
 * takes a fraction of that. The output is the same compact JSON json-c
 * writes (no spaces, '/' not escaped), except that a string's invalid
 * UTF-8 (a name from a file, an API message) becomes \ufffd
 * (sbuf_add_json_str), so a client's strict JSON parser never refuses it. */

/* ,"key": (no comma before the first key of an object) */
static void j_key(struct sbuf *b, bool first, const char *key)
{
	sbuf_adds(b, first ? "\"" : ",\"");
	sbuf_adds(b, key);
	sbuf_add(b, "\":", 2);
}

static void j_kstr(struct sbuf *b, const char *key, const char *v)
{
	j_key(b, false, key);
	sbuf_add_json_str(b, v);
}

static void j_kint(struct sbuf *b, const char *key, int64_t v)
{
	j_key(b, false, key);
	sbuf_add_int(b, v);
}

/* 0 (never set) is written as null */
static void j_kint_or_null(struct sbuf *b, const char *key, int64_t v)
{
	j_key(b, false, key);
	if (v > 0)
		sbuf_add_int(b, v);
	else
		sbuf_adds(b, "null");
}

static void j_kbool(struct sbuf *b, const char *key, bool v)
{
	j_key(b, false, key);
	sbuf_adds(b, v ? "true" : "false");
}

static void add_double(struct sbuf *b, double v);

static void definition_write(struct sbuf *b, const struct jobspec *j)
{
	sbuf_addf(b, "{");
	j_key(b, true, "file");
	sbuf_add_json_str(b, j->file);
	j_kint(b, "line", j->line);
	j_kstr(b, "agent_id", j->agent_id);
	j_kstr(b, "phone_number_id", j->phone_number_id);
	j_kstr(b, "timezone", j->timezone);
	j_kstr(b, "start", j->has_start ? j->start_text : NULL);
	j_key(b, false, "scheduled_time_unix");
	if (j->has_start)
		sbuf_addf(b, "null");
	else
		sbuf_addf(b, "%" PRId64, j->start);
	j_kstr(b, "call_name", j->call_name);
	j_kint(b, "recipients", (int64_t)j->n_recipients);
	j_kstr(b, "recipients_csv", j->recipients_csv);
	j_kint_or_null(b, "target_concurrency_limit", j->target_concurrency_limit);
	j_kint_or_null(b, "ringing_timeout_secs", j->ringing_timeout_secs);
	j_kbool(b, "whatsapp", j->has_whatsapp);
	j_key(b, false, "retry");
	sbuf_addf(b, "{\"max_retries\":%d,\"delay\":%d,\"backoff\":", j->retry.max_retries, j->retry.delay);
	/* json-c's form: a whole number keeps one decimal ("2.0") */
	if (j->retry.backoff == (double)(int64_t)j->retry.backoff && j->retry.backoff < 1e15)
		sbuf_addf(b, "%.1f", j->retry.backoff);
	else
		add_double(b, j->retry.backoff);
	sbuf_addf(b, ",\"max_delay\":%d}", j->retry.max_delay);
	j_kint(b, "max_lateness", j->max_lateness);
	j_kint(b, "submit_ahead", j->submit_ahead);
	j_kstr(b, "on_removal", j->on_removal == ON_REMOVAL_KEEP ? "keep" : "cancel");
	j_kbool(b, "enabled", j->enabled);
	sbuf_addf(b, "}");
}

static void job_write(struct sbuf *b, const struct run *r, const struct jobspec *spec,
		      const struct ctlview_results *res, bool detail)
{
	char buf[64];

	sbuf_adds(b, "{");
	j_key(b, true, "name");
	sbuf_add_json_str(b, r->job);
	j_kstr(b, "state", run_state_name(r->state));
	j_kbool(b, "defined", spec != NULL);
	j_key(b, false, "enabled");
	sbuf_adds(b, spec ? (spec->enabled ? "true" : "false") : "null");
	j_kint(b, "start_unix", r->start);
	if (spec && spec->tz) {
		const char *abbr = NULL;
		tz_format_local(spec->tz, r->start, buf, sizeof(buf));
		tz_lookup(spec->tz, r->start, NULL, &abbr, NULL);
		j_kstr(b, "start_local", buf);
		j_kstr(b, "timezone", spec->timezone);
		j_kstr(b, "zone_abbr", abbr);
	} else {
		sbuf_adds(b, ",\"start_local\":null,\"timezone\":null,\"zone_abbr\":null");
	}
	format_utc(r->start, buf, sizeof(buf));
	j_kstr(b, "start_utc", buf);
	j_kstr(b, "call_name", r->call_name);
	j_kstr(b, "batch_id", r->batch_id);
	j_kstr(b, "batch_status", r->batch_id ? batch_status_name(r->batch.status) : NULL);
	j_kint(b, "total_calls_scheduled", r->batch.total_calls_scheduled);
	j_kint(b, "total_calls_dispatched", r->batch.total_calls_dispatched);
	j_kint(b, "total_calls_finished", r->batch.total_calls_finished);
	j_kint(b, "retry_count", r->batch.retry_count);
	j_key(b, false, "outcomes");
	if (r->counts_valid) {
		sbuf_adds(b, "{");
		for (int k = 0; k < BATCH_RCPT__MAX; k++) {
			j_key(b, k == 0, batch_rcpt_status_name(k));
			sbuf_add_int(b, r->counts[k]);
		}
		sbuf_adds(b, "}");
	} else {
		sbuf_adds(b, "null");
	}
	j_key(b, false, "results");
	if (res && res->known) {
		sbuf_addf(b, "{\"rows\":%" PRId64 ",\"answered\":%" PRId64 ",\"successful\":%" PRId64 "}", res->rows,
			  res->answered, res->successful);
	} else {
		sbuf_adds(b, "null");
	}
	j_kint(b, "touch", r->touch);
	j_key(b, false, "follow_up");
	if (res && res->touch_next > 0) {
		sbuf_addf(b, "{\"touch\":%d,\"of\":%zu,\"due_unix\":", res->touch_next, spec ? spec->n_touches : 0);
		if (res->touch_due > 0)
			sbuf_add_int(b, res->touch_due);
		else
			sbuf_adds(b, "null");
		sbuf_adds(b, "}");
	} else {
		sbuf_adds(b, "null");
	}
	j_kint(b, "retries_used", r->retries);
	j_key(b, false, "retries_allowed");
	if (spec)
		sbuf_add_int(b, spec->retry.max_retries);
	else
		sbuf_adds(b, "null");
	j_kint(b, "submit_attempts", r->submit_attempts);
	j_kstr(b, "last_error", r->error);
	/* Rounded up: a step due at 10.2 s has not happened at 10. */
	j_kint_or_null(b, "next_due_unix", r->due_ms > 0 ? (r->due_ms + 999) / 1000 : 0);
	j_kint_or_null(b, "submitted_at", r->submitted_at);
	j_kint_or_null(b, "finished_at", r->finished_at);
	j_kbool(b, "uncertain", r->uncertain);
	j_kbool(b, "cancel_requested", r->cancel_wanted);
	if (detail) {
		j_key(b, false, "definition");
		if (spec)
			definition_write(b, spec);
		else
			sbuf_adds(b, "null");
	}
	sbuf_adds(b, "}");
}

char *ctlview_job_text(const struct run *r, const struct jobspec *spec, const struct ctlview_results *res)
{
	struct sbuf b = { 0 };

	job_write(&b, r, spec, res, true);
	return sbuf_steal(&b, NULL);
}

char *ctlview_jobs_text(const struct run *const *runs, const struct jobspec *const *specs,
			const struct ctlview_results *res, size_t n, int64_t now)
{
	struct sbuf b = { 0 };

	/* about 630 bytes a job: one allocation instead of twenty doublings */
	xgrow((void **)&b.s, &b.cap, 64 + n * 700, 1);
	sbuf_addf(&b, "{\"now\":%" PRId64 ",\"jobs\":[", now);
	for (size_t i = 0; i < n; i++) {
		if (i)
			sbuf_add(&b, ",", 1);
		job_write(&b, runs[i], specs[i], res ? &res[i] : NULL, false);
	}
	sbuf_addf(&b, "]}");
	return sbuf_steal(&b, NULL);
}

char *ctlview_error_text(const char *code, const char *message)
{
	struct sbuf b = { 0 };

	sbuf_adds(&b, "{\"error\":{\"code\":");
	sbuf_add_json_str(&b, code);
	sbuf_adds(&b, ",\"message\":");
	sbuf_add_json_str(&b, message);
	sbuf_adds(&b, "}}");
	return sbuf_steal(&b, NULL);
}

/* --- reading a document back ------------------------------------------------- */

static const char *jstr(const struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool jint(const struct json_object *o, const char *key, int64_t *ret)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return false;
	*ret = json_object_get_int64(v);
	return true;
}

static int64_t jint0(const struct json_object *o, const char *key)
{
	int64_t v = 0;

	jint(o, key, &v);
	return v;
}

static struct json_object *jobj(const struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

/* --- human pieces ------------------------------------------------------------ */

void ctlview_relative(int64_t t, int64_t now, char *buf, size_t size)
{
	int64_t d = t - now, a = d < 0 ? -d : d;
	char span[32];

	if (d == 0) {
		snprintf(buf, size, "now");
		return;
	}
	if (a < 60)
		snprintf(span, sizeof(span), "%" PRId64 "s", a);
	else if (a < 3600)
		snprintf(span, sizeof(span), "%" PRId64 "m", a / 60);
	else if (a < 86400)
		snprintf(span, sizeof(span), "%" PRId64 "h %" PRId64 "m", a / 3600, a % 3600 / 60);
	else
		snprintf(span, sizeof(span), "%" PRId64 "d %" PRId64 "h", a / 86400, a % 86400 / 3600);
	if (d > 0)
		snprintf(buf, size, "in %s", span);
	else
		snprintf(buf, size, "%s ago", span);
}

/* "2026-12-01 09:00 EST" from the job's start_local and zone_abbr (seconds
 * only when they are not zero), else its UTC time. */
static void local_display(const struct json_object *job, char *buf, size_t size)
{
	const char *loc = jstr(job, "start_local"), *abbr = jstr(job, "zone_abbr");
	const char *src = loc ? loc : jstr(job, "start_utc");
	char date[20];

	if (!src || strlen(src) < 19) {
		snprintf(buf, size, "-");
		return;
	}
	memcpy(date, src, 19);
	date[10] = ' ';
	date[19] = '\0';
	if (strcmp(date + 16, ":00") == 0)
		date[16] = '\0';
	snprintf(buf, size, "%s %s", date, loc ? (abbr ? abbr : "") : "UTC");
}

static void progress_display(const struct json_object *job, char *buf, size_t size)
{
	struct json_object *oc = jobj(job, "outcomes");
	int64_t fin = jint0(job, "total_calls_finished"), all = jint0(job, "total_calls_scheduled");

	if (!jstr(job, "batch_id")) {
		snprintf(buf, size, "-");
		return;
	}
	if (oc)
		snprintf(buf, size, "%" PRId64 "/%" PRId64 " finished, %" PRId64 " failed", fin, all,
			 jint0(oc, "failed"));
	else
		snprintf(buf, size, "%" PRId64 "/%" PRId64 " finished", fin, all);
}

static void retries_display(const struct json_object *job, char *buf, size_t size)
{
	int64_t allowed;

	if (jint(job, "retries_allowed", &allowed))
		snprintf(buf, size, "%" PRId64 "/%" PRId64, jint0(job, "retries_used"), allowed);
	else
		snprintf(buf, size, "%" PRId64 "/-", jint0(job, "retries_used"));
}

/* ANSI colour of a state: green done, red for attention, yellow waiting,
 * cyan running, dim for nothing to do. */
static const char *state_colour(const char *state)
{
	static const struct {
		const char *state, *sgr;
	} map[] = {
		{ "completed", "32" }, { "failed", "31" },   { "error", "31" },   { "missed", "31" },
		{ "in_progress", "36" }, { "pending", "36" }, { "submitting", "33" }, { "retry_wait", "33" },
		{ "scheduled", "0" }, { "cancelled", "2" },  { "disabled", "2" }, { "removed", "2" },
	};

	/* (the state word, before a ", follow-up ..." note) */
	size_t len = strcspn(state, ",");
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (strlen(map[i].state) == len && strncmp(map[i].state, state, len) == 0)
			return map[i].sgr;
	return "0";
}

static void add_coloured(struct sbuf *b, const struct ctlview_style *st, const char *sgr, const char *text)
{
	if (st->colour && strcmp(sgr, "0") != 0)
		sbuf_addf(b, "\033[%sm%s\033[0m", sgr, text);
	else
		sbuf_addf(b, "%s", text);
}

/* --- the status table -------------------------------------------------------- */

enum { COL_JOB, COL_STATE, COL_RUN, COL_WHEN, COL_BATCH, COL_PROGRESS, COL_RETRIES, COL__MAX };

static const char *const col_names[COL__MAX] = {
	"JOB", "STATE", "RUN", "WHEN", "BATCH", "PROGRESS", "RETRIES",
};

char *ctlview_status_text(const struct json_object *doc, int64_t now, const struct ctlview_style *st)
{
	struct json_object *jobs = NULL;
	struct sbuf b = { 0 };
	size_t n, width[COL__MAX], total;
	bool show[COL__MAX];
	char *(*cells)[COL__MAX];

	if (!doc || !json_object_object_get_ex(doc, "jobs", &jobs) || !json_object_is_type(jobs, json_type_array))
		return xstrdup("no jobs\n");
	n = json_object_array_length(jobs);
	if (n == 0)
		return xstrdup("no jobs\n");
	cells = xcalloc(n, sizeof(*cells));
	for (int c = 0; c < COL__MAX; c++) {
		width[c] = strlen(col_names[c]);
		show[c] = true;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *j = json_object_array_get_idx(jobs, i);
		const char *name = jstr(j, "name"), *state = jstr(j, "state"), *batch = jstr(j, "batch_id");
		char buf[128];

		cells[i][COL_JOB] = xstrdup(name ? name : "?");
		{
			struct json_object *fu = jobj(j, "follow_up");
			int64_t due;
			if (fu && jint(fu, "due_unix", &due)) {
				ctlview_relative(due, now, buf, sizeof(buf));
				cells[i][COL_STATE] = xasprintf("%s, follow-up %" PRId64 " %s", state ? state : "?",
								jint0(fu, "touch"), buf);
			} else if (fu) {
				cells[i][COL_STATE] = xasprintf("%s, follow-up %" PRId64 " pending", state ? state : "?",
								jint0(fu, "touch"));
			} else {
				cells[i][COL_STATE] = xstrdup(state ? state : "?");
			}
		}
		local_display(j, buf, sizeof(buf));
		cells[i][COL_RUN] = xstrdup(buf);
		ctlview_relative(jint0(j, "start_unix"), now, buf, sizeof(buf));
		cells[i][COL_WHEN] = xstrdup(buf);
		cells[i][COL_BATCH] = xstrdup(batch ? batch : "-");
		progress_display(j, buf, sizeof(buf));
		cells[i][COL_PROGRESS] = xstrdup(buf);
		retries_display(j, buf, sizeof(buf));
		cells[i][COL_RETRIES] = xstrdup(buf);
		for (int c = 0; c < COL__MAX; c++)
			if (strlen(cells[i][c]) > width[c])
				width[c] = strlen(cells[i][c]);
	}
	/* Too wide for the terminal: the batch id goes first (`show` has it),
	 * then the absolute time (the relative one stays). */
	for (int drop = 0; drop < 2 && st->width > 0; drop++) {
		total = 0;
		for (int c = 0; c < COL__MAX; c++)
			if (show[c])
				total += width[c] + 2;
		if (total - 2 <= (size_t)st->width)
			break;
		show[drop == 0 ? COL_BATCH : COL_RUN] = false;
	}
	for (size_t i = 0; i <= n; i++) {
		int last = COL__MAX - 1;
		for (int c = 0; c < COL__MAX; c++) {
			const char *text = i == 0 ? col_names[c] : cells[i - 1][c];
			if (!show[c])
				continue;
			if (i == 0)
				add_coloured(&b, st, "1", text);
			else if (c == COL_STATE)
				add_coloured(&b, st, state_colour(text), text);
			else
				sbuf_addf(&b, "%s", text);
			if (c != last)
				pad(&b, width[c] - strlen(text) + 2);
		}
		sbuf_addf(&b, "\n");
	}
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < COL__MAX; c++)
			free(cells[i][c]);
	free(cells);
	return sbuf_steal(&b, NULL);
}

/* --- the show page ----------------------------------------------------------- */

static void kv(struct sbuf *b, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void kv(struct sbuf *b, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *v;

	va_start(ap, fmt);
	v = xvasprintf(fmt, ap);
	va_end(ap);
	sbuf_addf(b, "  %-14s%s\n", key, v);
	free(v);
}

static void heading(struct sbuf *b, const struct ctlview_style *st, const char *text)
{
	add_coloured(b, st, "1", text);
	sbuf_addf(b, "\n");
}

static void show_definition(struct sbuf *b, const struct json_object *def)
{
	struct json_object *retry = jobj(def, "retry"), *bo;
	int64_t v;
	const char *s;

	kv(b, "file", "%s:%" PRId64, jstr(def, "file") ? jstr(def, "file") : "?", jint0(def, "line"));
	kv(b, "agent", "%s", jstr(def, "agent_id") ? jstr(def, "agent_id") : "-");
	kv(b, "phone number", "%s", jstr(def, "phone_number_id") ? jstr(def, "phone_number_id") : "-");
	if ((s = jstr(def, "start")))
		kv(b, "start", "%s (%s)", s, jstr(def, "timezone") ? jstr(def, "timezone") : "?");
	else
		kv(b, "start", "unix %" PRId64 " (timezone %s)", jint0(def, "scheduled_time_unix"),
		   jstr(def, "timezone") ? jstr(def, "timezone") : "?");
	if ((s = jstr(def, "call_name")))
		kv(b, "call name", "%s", s);
	if ((s = jstr(def, "recipients_csv")))
		kv(b, "recipients", "%" PRId64 " (CSV %s)", jint0(def, "recipients"), s);
	else
		kv(b, "recipients", "%" PRId64, jint0(def, "recipients"));
	if (jint(def, "target_concurrency_limit", &v))
		kv(b, "concurrency", "%" PRId64, v);
	if (retry) {
		double backoff = 1.0;
		if (json_object_object_get_ex(retry, "backoff", &bo))
			backoff = json_object_get_double(bo);
		kv(b, "retry", "up to %" PRId64 ", first after %" PRId64 "s, x%.1f, at most %" PRId64 "s",
		   jint0(retry, "max_retries"), jint0(retry, "delay"), backoff, jint0(retry, "max_delay"));
	}
	kv(b, "max lateness", "%" PRId64 "s", jint0(def, "max_lateness"));
	if (jint0(def, "submit_ahead") > 0)
		kv(b, "submit ahead", "%" PRId64 "s", jint0(def, "submit_ahead"));
	kv(b, "on removal", "%s", jstr(def, "on_removal") ? jstr(def, "on_removal") : "?");
	bo = NULL;
	kv(b, "enabled", "%s",
	   json_object_object_get_ex(def, "enabled", &bo) && json_object_get_boolean(bo) ? "yes" : "no");
}

char *ctlview_show_text(const struct json_object *job, int64_t now, const struct ctlview_style *st)
{
	struct sbuf b = { 0 };
	struct json_object *def = jobj(job, "definition"), *oc = jobj(job, "outcomes");
	const char *name = jstr(job, "name"), *state = jstr(job, "state"), *s;
	char buf[128], rel[64];
	int64_t v;

	sbuf_addf(&b, "Job %s: ", name ? name : "?");
	add_coloured(&b, st, state_colour(state ? state : ""), state ? state : "?");
	sbuf_addf(&b, "\n");
	if (def)
		show_definition(&b, def);
	else
		kv(&b, "definition", "none: the job left the files");

	sbuf_addf(&b, "\n");
	heading(&b, st, "Run");
	local_display(job, buf, sizeof(buf));
	ctlview_relative(jint0(job, "start_unix"), now, rel, sizeof(rel));
	kv(&b, "start", "%s, %s", buf, rel);
	kv(&b, "utc", "%s (unix %" PRId64 ")", jstr(job, "start_utc") ? jstr(job, "start_utc") : "?",
	   jint0(job, "start_unix"));
	if ((s = jstr(job, "call_name")))
		kv(&b, "call name", "%s", s);
	kv(&b, "submits", "%" PRId64 " attempt%s", jint0(job, "submit_attempts"),
	   jint0(job, "submit_attempts") == 1 ? "" : "s");
	retries_display(job, buf, sizeof(buf));
	kv(&b, "retries", "%s", buf);
	if (jint(job, "submitted_at", &v)) {
		ctlview_relative(v, now, rel, sizeof(rel));
		format_utc(v, buf, sizeof(buf));
		kv(&b, "submitted", "%s, %s", buf, rel);
	}
	if (jint(job, "finished_at", &v)) {
		ctlview_relative(v, now, rel, sizeof(rel));
		format_utc(v, buf, sizeof(buf));
		kv(&b, "finished", "%s, %s", buf, rel);
	}
	if (jint(job, "next_due_unix", &v)) {
		ctlview_relative(v, now, rel, sizeof(rel));
		kv(&b, "next step", "%s", rel);
	}
	if (jint(job, "touch", &v) && v > 0)
		kv(&b, "touch", "follow-up %" PRId64, v);
	{
		struct json_object *fu = jobj(job, "follow_up");
		if (fu && jint(fu, "due_unix", &v)) {
			ctlview_relative(v, now, rel, sizeof(rel));
			format_utc(v, buf, sizeof(buf));
			kv(&b, "follow-up", "%" PRId64 " of %" PRId64 " due %s, %s", jint0(fu, "touch"), jint0(fu, "of"),
			   buf, rel);
		} else if (fu) {
			kv(&b, "follow-up", "%" PRId64 " of %" PRId64 ", once the touch before it ended",
			   jint0(fu, "touch"), jint0(fu, "of"));
		}
	}

	sbuf_addf(&b, "\n");
	if ((s = jstr(job, "batch_id"))) {
		sbuf_addf(&b, "%sBatch %s%s\n", st->colour ? "\033[1m" : "", s, st->colour ? "\033[0m" : "");
		kv(&b, "status", "%s", jstr(job, "batch_status") ? jstr(job, "batch_status") : "?");
		progress_display(job, buf, sizeof(buf));
		kv(&b, "progress", "%s", buf);
		kv(&b, "dispatched", "%" PRId64, jint0(job, "total_calls_dispatched"));
		kv(&b, "retry count", "%" PRId64, jint0(job, "retry_count"));
	} else {
		heading(&b, st, "Batch");
		kv(&b, "status", "not submitted");
	}
	if (oc) {
		sbuf_addf(&b, "\n");
		heading(&b, st, "Outcomes");
		json_object_object_foreach(oc, key, val) {
			if (json_object_get_int64(val) != 0)
				kv(&b, key, "%" PRId64, json_object_get_int64(val));
		}
	}
	{
		struct json_object *res = jobj(job, "results");
		if (res) {
			sbuf_addf(&b, "\n");
			heading(&b, st, "Results");
			kv(&b, "rows", "%" PRId64, jint0(res, "rows"));
			kv(&b, "answered", "%" PRId64, jint0(res, "answered"));
			kv(&b, "successful", "%" PRId64, jint0(res, "successful"));
		}
	}
	if ((s = jstr(job, "last_error"))) {
		sbuf_addf(&b, "\n");
		heading(&b, st, "Last error");
		sbuf_addf(&b, "  %s\n", s);
	}
	return sbuf_steal(&b, NULL);
}

/* --- metrics ----------------------------------------------------------------- */

/* A label value with \, " and newline escaped as the text format wants. */
static void label_value(struct sbuf *b, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\')
			sbuf_addf(b, "\\\\");
		else if (*s == '"')
			sbuf_addf(b, "\\\"");
		else if (*s == '\n')
			sbuf_addf(b, "\\n");
		else
			sbuf_addf(b, "%c", *s);
	}
}

static void family(struct sbuf *b, const char *name, const char *type, const char *help)
{
	sbuf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A float as the text format wants it: shortest round-trip form. */
static void add_double(struct sbuf *b, double v)
{
	char buf[40];

	snprintf(buf, sizeof(buf), "%.17g", v);
	for (int prec = 1; prec < 17; prec++) {
		char t[40];
		snprintf(t, sizeof(t), "%.*g", prec, v);
		if (strtod(t, NULL) == v) {
			snprintf(buf, sizeof(buf), "%s", t);
			break;
		}
	}
	sbuf_addf(b, "%s", buf);
}

/* One histogram's series: labels is "" or "name=\"value\"," (the le
 * label follows it). */
static void add_hist(struct sbuf *b, const char *name, const char *labels, const struct stats_hist *h,
		     const double *bounds, size_t n_bounds)
{
	for (size_t i = 0; i < n_bounds; i++) {
		sbuf_addf(b, "%s_bucket{%sle=\"", name, labels);
		add_double(b, bounds[i]);
		sbuf_addf(b, "\"} %" PRIu64 "\n", h->buckets[i]);
	}
	sbuf_addf(b, "%s_bucket{%sle=\"+Inf\"} %" PRIu64 "\n", name, labels, h->buckets[n_bounds]);
	if (*labels) {
		int n = (int)strlen(labels) - 1; /* without the trailing comma */
		sbuf_addf(b, "%s_sum{%.*s} ", name, n, labels);
		add_double(b, h->sum);
		sbuf_addf(b, "\n%s_count{%.*s} %" PRIu64 "\n", name, n, labels, h->count);
	} else {
		sbuf_addf(b, "%s_sum ", name);
		add_double(b, h->sum);
		sbuf_addf(b, "\n%s_count %" PRIu64 "\n", name, h->count);
	}
}

char *ctlview_metrics_text(const struct ctlview_metrics *m)
{
	static const char *const classes[6] = { "none", "1xx", "2xx", "3xx", "4xx", "5xx" };
	const struct stats *s = m->stats;
	struct sbuf b = { 0 };
	uint64_t by_state[RUN__MAX] = { 0 }, active = 0;
	int64_t outcomes[BATCH_RCPT__MAX] = { 0 }, next = 0;

	for (size_t i = 0; i < m->n_runs; i++) {
		const struct run *r = m->runs[i];
		by_state[r->state]++;
		if (run_state_active(r->state))
			active++;
		if (r->state == RUN_SCHEDULED && (next == 0 || r->start < next))
			next = r->start;
		if (r->counts_valid)
			for (int k = 0; k < BATCH_RCPT__MAX; k++)
				outcomes[k] += r->counts[k];
	}

	family(&b, "batchcalld_build_info", "gauge", "Version of the running daemon.");
	sbuf_addf(&b, "batchcalld_build_info{version=\"");
	label_value(&b, m->version);
	sbuf_addf(&b, "\"} 1\n");
	family(&b, "batchcalld_start_time_seconds", "gauge", "When the daemon started, unix seconds.");
	sbuf_addf(&b, "batchcalld_start_time_seconds %" PRId64 "\n", s->started_unix);

	family(&b, "batchcalld_jobs", "gauge", "Jobs by the state of their run.");
	for (int k = 0; k < RUN__MAX; k++)
		sbuf_addf(&b, "batchcalld_jobs{state=\"%s\"} %" PRIu64 "\n", run_state_name(k), by_state[k]);
	family(&b, "batchcalld_active_batches", "gauge", "Batches that are pending or in progress.");
	sbuf_addf(&b, "batchcalld_active_batches %" PRIu64 "\n", active);
	family(&b, "batchcalld_next_run_timestamp_seconds", "gauge",
	       "Instant of the earliest scheduled run, unix seconds (absent when none is scheduled).");
	if (next > 0)
		sbuf_addf(&b, "batchcalld_next_run_timestamp_seconds %" PRId64 "\n", next);

	family(&b, "batchcalld_submits_total", "counter", "Submit requests by result.");
	sbuf_addf(&b, "batchcalld_submits_total{result=\"ok\"} %" PRIu64 "\n", s->submits_ok);
	sbuf_addf(&b, "batchcalld_submits_total{result=\"failed\"} %" PRIu64 "\n", s->submits_failed);
	sbuf_addf(&b, "batchcalld_submits_total{result=\"rejected\"} %" PRIu64 "\n", s->submits_rejected);
	family(&b, "batchcalld_adopted_total", "counter",
	       "Runs whose uncertain submit was found in the batch list and adopted.");
	sbuf_addf(&b, "batchcalld_adopted_total %" PRIu64 "\n", s->adopted);
	family(&b, "batchcalld_api_requests_total", "counter",
	       "ElevenLabs API requests by endpoint and HTTP status class (none: no answer).");
	for (size_t op = 0; op < m->n_ops && op < ARRAY_SIZE(s->api_requests); op++)
		for (int c = 0; c < 6; c++)
			sbuf_addf(&b, "batchcalld_api_requests_total{endpoint=\"%s\",status_class=\"%s\"} %" PRIu64 "\n",
			       m->op_names[op], classes[c], s->api_requests[op][c]);
	family(&b, "batchcalld_api_clock_offset_seconds", "gauge",
	       "The API's clock minus this host's, from its latest answer (absent before the first).");
	if (s->api_clock.known)
		sbuf_addf(&b, "batchcalld_api_clock_offset_seconds %.3f\n", (double)s->api_clock.offset_ms / 1000.0);
	family(&b, "batchcalld_lookup_margin_seconds", "gauge",
	       "How far before a run's first intent a lookup of its uncertain submit looks: 300 s and the "
	       "most the API's clock was seen behind.");
	sbuf_addf(&b, "batchcalld_lookup_margin_seconds %" PRId64 "\n", api_clock_lookup_margin_s(&s->api_clock));
	family(&b, "batchcalld_retries_total", "counter", "Retries of finished batches that took effect.");
	sbuf_addf(&b, "batchcalld_retries_total %" PRIu64 "\n", s->retries);
	family(&b, "batchcalld_webhooks_received_total", "counter", "Post-call webhook requests received.");
	sbuf_addf(&b, "batchcalld_webhooks_received_total %" PRIu64 "\n", s->webhooks_received);
	family(&b, "batchcalld_webhooks_verified_total", "counter", "Post-call webhooks whose signature verified.");
	sbuf_addf(&b, "batchcalld_webhooks_verified_total %" PRIu64 "\n", s->webhooks_verified);
	family(&b, "batchcalld_webhooks_refused_total", "counter", "Post-call webhooks refused, by reason.");
	for (int v = 1; v < WEBHOOK_VERDICT__MAX && v < (int)ARRAY_SIZE(s->webhooks_refused); v++)
		sbuf_addf(&b, "batchcalld_webhooks_refused_total{reason=\"%s\"} %" PRIu64 "\n",
			  webhook_verdict_name((enum webhook_verdict)v), s->webhooks_refused[v]);
	sbuf_addf(&b, "batchcalld_webhooks_refused_total{reason=\"malformed_body\"} %" PRIu64 "\n",
		  s->webhooks_malformed);
	family(&b, "batchcalld_webhooks_events_total", "counter",
	       "Verified post-call events by what became of them.");
	sbuf_addf(&b, "batchcalld_webhooks_events_total{result=\"stored\"} %" PRIu64 "\n", s->webhooks_stored);
	sbuf_addf(&b, "batchcalld_webhooks_events_total{result=\"duplicate\"} %" PRIu64 "\n", s->webhooks_duplicate);
	sbuf_addf(&b, "batchcalld_webhooks_events_total{result=\"dropped\"} %" PRIu64 "\n", s->webhooks_dropped);
	sbuf_addf(&b, "batchcalld_webhooks_events_total{result=\"failed\"} %" PRIu64 "\n", s->webhooks_failed);
	family(&b, "batchcalld_webhook_connections", "gauge", "Open connections to the webhook receiver.");
	sbuf_addf(&b, "batchcalld_webhook_connections %" PRIu64 "\n", s->webhook_conns.open);
	family(&b, "batchcalld_webhook_connections_refused_total", "counter",
	       "Webhook connections closed at once (503) because too many were open.");
	sbuf_addf(&b, "batchcalld_webhook_connections_refused_total %" PRIu64 "\n", s->webhook_conns.refused);
	family(&b, "batchcalld_webhook_accept_errors_total", "counter",
	       "Failed accepts on the webhook receiver (each pauses it briefly).");
	sbuf_addf(&b, "batchcalld_webhook_accept_errors_total %" PRIu64 "\n", s->webhook_conns.accept_errors);
	family(&b, "batchcalld_results_files_total", "counter", "Results files written, by result.");
	sbuf_addf(&b, "batchcalld_results_files_total{result=\"ok\"} %" PRIu64 "\n", s->results_files_written);
	sbuf_addf(&b, "batchcalld_results_files_total{result=\"failed\"} %" PRIu64 "\n", s->results_files_failed);
	family(&b, "batchcalld_cancels_total", "counter", "Batches cancelled.");
	sbuf_addf(&b, "batchcalld_cancels_total %" PRIu64 "\n", s->cancels);
	family(&b, "batchcalld_runs_missed_total", "counter", "Runs later than max_lateness, never submitted.");
	sbuf_addf(&b, "batchcalld_runs_missed_total %" PRIu64 "\n", s->missed);
	family(&b, "batchcalld_runs_late_total", "counter", "Runs submitted late, within max_lateness.");
	sbuf_addf(&b, "batchcalld_runs_late_total %" PRIu64 "\n", s->late);

	family(&b, "batchcalld_submit_lateness_seconds", "histogram",
	       "How long after its due instant a first submit was handed to the HTTP layer.");
	for (size_t i = 0; i < m->n_lateness_bounds; i++) {
		sbuf_addf(&b, "batchcalld_submit_lateness_seconds_bucket{le=\"");
		add_double(&b, m->lateness_bounds[i]);
		sbuf_addf(&b, "\"} %" PRIu64 "\n", s->lateness_buckets[i]);
	}
	sbuf_addf(&b, "batchcalld_submit_lateness_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n",
	       s->lateness_buckets[m->n_lateness_bounds]);
	sbuf_addf(&b, "batchcalld_submit_lateness_seconds_sum ");
	add_double(&b, s->lateness_sum);
	sbuf_addf(&b, "\nbatchcalld_submit_lateness_seconds_count %" PRIu64 "\n", s->lateness_count);

	family(&b, "batchcalld_submit_stage_seconds", "histogram",
	       "When each stage of a first submit was reached, from its due instant: timer fired, intent durable, "
	       "handed to the HTTP layer, connection up, first byte written, answer read.");
	for (int st = 0; st < STATS_STAGE__MAX; st++) {
		char label[64];
		snprintf(label, sizeof(label), "stage=\"%s\",", stats_stage_name((enum stats_stage)st));
		add_hist(&b, "batchcalld_submit_stage_seconds", label, &s->stage[st], stats_stage_bounds,
			 STATS_STAGE_BOUNDS);
	}
	family(&b, "batchcalld_submit_added_latency_seconds", "histogram",
	       "The latency the daemon added to a first submit: its first byte written minus the later of its due "
	       "instant and the moment a concurrency slot became free for it.");
	add_hist(&b, "batchcalld_submit_added_latency_seconds", "", &s->added, stats_added_bounds, STATS_ADDED_BOUNDS);
	family(&b, "batchcalld_submit_added_latency_max_seconds", "gauge",
	       "The largest latency the daemon added to a first submit since it started.");
	sbuf_addf(&b, "batchcalld_submit_added_latency_max_seconds ");
	add_double(&b, s->added.max);
	sbuf_addf(&b, "\n");

	family(&b, "batchcalld_recipients", "gauge", "Recipients of the current runs' batches by outcome.");
	for (int k = 0; k < BATCH_RCPT__MAX; k++)
		sbuf_addf(&b, "batchcalld_recipients{outcome=\"%s\"} %" PRId64 "\n", batch_rcpt_status_name(k), outcomes[k]);

	family(&b, "batchcalld_suppressed_recipients_total", "counter",
	       "Recipients a do-not-call list left out, at a submit or a retry.");
	sbuf_addf(&b, "batchcalld_suppressed_recipients_total{at=\"submit\"} %" PRIu64 "\n", s->suppressed_submit);
	sbuf_addf(&b, "batchcalld_suppressed_recipients_total{at=\"retry\"} %" PRIu64 "\n", s->suppressed_retry);
	family(&b, "batchcalld_suppression_entries", "gauge",
	       "Numbers and WhatsApp ids on the do-not-call lists: the files of suppression, and the daemon's own.");
	sbuf_addf(&b, "batchcalld_suppression_entries{list=\"files\"} %" PRIu64 "\n", s->suppress_entries_files);
	sbuf_addf(&b, "batchcalld_suppression_entries{list=\"own\"} %" PRIu64 "\n", s->suppress_entries_own);
	family(&b, "batchcalld_contact_limited_recipients_total", "counter",
	       "Recipients the contact limits left out of a submit body, or of a retry.");
	sbuf_addf(&b, "batchcalld_contact_limited_recipients_total{at=\"submit\"} %" PRIu64 "\n",
		  s->contact_limited_submit);
	sbuf_addf(&b, "batchcalld_contact_limited_recipients_total{at=\"retry\"} %" PRIu64 "\n",
		  s->contact_limited_retry);
	family(&b, "batchcalld_contact_ledger_entries", "gauge",
	       "Contacts the ledger of the contact limits holds (within the longest window).");
	sbuf_addf(&b, "batchcalld_contact_ledger_entries %" PRIu64 "\n", s->ledger_entries);
	family(&b, "batchcalld_reloads_total", "counter", "Configuration reloads (SIGHUP) by result.");
	sbuf_addf(&b, "batchcalld_reloads_total{result=\"ok\"} %" PRIu64 "\n", s->reloads_ok);
	sbuf_addf(&b, "batchcalld_reloads_total{result=\"failed\"} %" PRIu64 "\n", s->reloads_failed);
	family(&b, "batchcalld_last_reload_timestamp_seconds", "gauge",
	       "When the configuration was last reloaded, unix seconds (0: never).");
	sbuf_addf(&b, "batchcalld_last_reload_timestamp_seconds %" PRId64 "\n", s->last_reload_unix);
	family(&b, "batchcalld_last_reload_success", "gauge", "1 when the last reload was applied, 0 when refused.");
	sbuf_addf(&b, "batchcalld_last_reload_success %d\n", s->last_reload_ok ? 1 : 0);

	family(&b, "batchcalld_control_connections", "gauge", "Open connections to the control socket.");
	sbuf_addf(&b, "batchcalld_control_connections %" PRIu64 "\n", m->control_connections);
	family(&b, "batchcalld_control_connections_refused_total", "counter",
	       "Control connections closed at once because too many were open.");
	sbuf_addf(&b, "batchcalld_control_connections_refused_total %" PRIu64 "\n", m->control_refused);
	family(&b, "batchcalld_control_accept_errors_total", "counter",
	       "Failed accepts on the control socket or the metrics listener (each pauses it briefly).");
	sbuf_addf(&b, "batchcalld_control_accept_errors_total %" PRIu64 "\n", m->control_accept_errors);
	family(&b, "batchcalld_control_requests_total", "counter", "Control API requests by status class.");
	for (int c = 2; c <= 5; c++)
		sbuf_addf(&b, "batchcalld_control_requests_total{status_class=\"%s\"} %" PRIu64 "\n", classes[c],
		       m->control_requests[c]);
	return sbuf_steal(&b, NULL);
}
