/*
 * plan: every job's runs relative to an instant the caller gives, with the
 * time each really starts after calling hours, rendered as a table or as
 * JSON. No clock is read here, so tests pin `from`. The answers come from
 * schedule.c, the functions the engine uses, so plan and daemon agree.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "calendar.h"
#include "conv.h"
#include "plan.h"
#include "sbuf.h"
#include "schedule.h"
#include "tz.h"
#include "util.h"

const char *plan_state_name(enum plan_state s)
{
	switch (s) {
	case PLAN_FUTURE:
		return "future";
	case PLAN_LATE:
		return "late";
	case PLAN_MISSED:
		return "missed";
	case PLAN_DISABLED:
		return "disabled";
	}
	return "unknown";
}

enum plan_state plan_state_of(const struct jobspec *j, int64_t instant, int64_t from, int64_t *ret_late_by)
{
	int64_t late = from > instant ? from - instant : 0;

	if (ret_late_by)
		*ret_late_by = late;
	if (!j->enabled)
		return PLAN_DISABLED;
	/* at the instant itself the run is due, not late */
	if (late == 0)
		return PLAN_FUTURE;
	return late <= j->max_lateness ? PLAN_LATE : PLAN_MISSED;
}

static int cmp_run(const void *a, const void *b)
{
	const struct plan_run *x = a, *y = b;

	if (x->instant != y->instant)
		return x->instant < y->instant ? -1 : 1;
	return strcmp(x->job->name, y->job->name);
}

/* When the run of r really starts: from for a late run (it is submitted at
 * once), else its instant; then the calling hours of its zone(s). */
static void plan_submit(struct plan_run *r, int64_t from)
{
	const struct jobspec *j = r->job;
	int64_t basis = r->state == PLAN_LATE ? from : r->instant;
	bool skipped = false;

	r->submitted = r->state == PLAN_FUTURE || r->state == PLAN_LATE;
	r->submit_at = basis;
	r->window = SCHEDULE_OPEN;
	if (!r->submitted)
		return;
	if (j->hours && j->has_recipient_zones &&
	    schedule_zone_groups(j, basis, &r->groups, &r->n_groups) == 0) {
		bool all_open = true, any = false;
		for (size_t k = 0; k < r->n_groups; k++) {
			const struct schedule_group *g = &r->groups[k];
			all_open = all_open && g->window == SCHEDULE_OPEN;
			if (g->window == SCHEDULE_SKIPPED || (any && g->submit_at >= r->submit_at))
				continue;
			r->submit_at = g->submit_at;
			any = true;
		}
		r->window = all_open ? SCHEDULE_OPEN : any ? SCHEDULE_DEFERRED : SCHEDULE_SKIPPED;
		if (!any)
			r->submit_at = basis;
		return;
	}
	/* a window that never opens again within the search is a skip */
	if (schedule_submit_time(j, NULL, basis, &r->submit_at, &skipped) < 0) {
		r->submit_at = basis;
		skipped = true;
	}
	r->window = skipped ? SCHEDULE_SKIPPED : r->submit_at != basis ? SCHEDULE_DEFERRED : SCHEDULE_OPEN;
}

static void add_run(struct plan *p, size_t *cap, const struct jobspec *j, int64_t instant)
{
	struct plan_run *r;
	struct civil lc;
	char when[40], off[16];
	const char *abbr = NULL;
	int offset = 0;

	xgrow((void **)&p->runs, cap, p->n_runs + 1, sizeof(*p->runs));
	r = &p->runs[p->n_runs++];
	memset(r, 0, sizeof(*r));
	r->job = j;
	r->instant = instant;
	r->state = plan_state_of(j, r->instant, p->from, &r->late_by);
	tz_to_local(j->tz, r->instant, &lc, &offset);
	tz_lookup(j->tz, r->instant, NULL, &abbr, NULL);
	civil_format(&lc, when, sizeof(when));
	tz_format_offset(offset, off, sizeof(off));
	/* numeric abbreviations ("-03") say nothing the offset does not */
	if (abbr && *abbr && *abbr != '+' && *abbr != '-')
		snprintf(r->local, sizeof(r->local), "%s %s (%s)", when, off, abbr);
	else
		snprintf(r->local, sizeof(r->local), "%s %s", when, off);
	format_utc(r->instant, r->utc, sizeof(r->utc));
	plan_submit(r, p->from);
}

int plan_build_count(const struct daemonconf *c, int64_t from, size_t count, struct plan **ret)
{
	struct plan *p = xcalloc(1, sizeof(*p));
	size_t cap = 0;
	int64_t *occ;

	if (count == 0)
		count = 1;
	occ = xcalloc(count, sizeof(*occ));
	p->from = from;
	for (size_t i = 0; i < c->n_jobs; i++) {
		const struct jobspec *j = &c->jobs[i];
		int64_t last;
		size_t n = 0;

		if (!j->repeat) {
			add_run(p, &cap, j, j->start);
			continue;
		}
		/* the newest past occurrence, while catch-up would still submit it */
		if (j->enabled && schedule_latest_due(j, from - 1, &last) == 0 && from - last <= j->max_lateness)
			add_run(p, &cap, j, last);
		schedule_occurrences(j, from, count, occ, &n);
		for (size_t k = 0; k < n; k++)
			add_run(p, &cap, j, occ[k]);
	}
	free(occ);
	if (p->n_runs > 1)
		qsort(p->runs, p->n_runs, sizeof(*p->runs), cmp_run);
	*ret = p;
	return 0;
}

void plan_free(struct plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_runs; i++)
		schedule_groups_free(p->runs[i].groups, p->runs[i].n_groups);
	free(p->runs);
	free(p);
}

/* "1h5m", "45s", "2d3h": the largest units, for a human to read. */
static void format_duration(int64_t s, char *buf, size_t size)
{
	int64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
	size_t n = 0;

	buf[0] = '\0';
	if (d)
		n += (size_t)snprintf(buf + n, size - n, "%lldd", (long long)d);
	if (h && n < size)
		n += (size_t)snprintf(buf + n, size - n, "%lldh", (long long)h);
	if (m && n < size)
		n += (size_t)snprintf(buf + n, size - n, "%lldm", (long long)m);
	if ((sec || s == 0) && n < size)
		snprintf(buf + n, size - n, "%llds", (long long)sec);
}

static void state_text(const struct plan_run *r, char *buf, size_t size)
{
	char dur[48];

	if (r->state == PLAN_LATE || r->state == PLAN_MISSED) {
		format_duration(r->late_by, dur, sizeof(dur));
		snprintf(buf, size, "%s by %s", plan_state_name(r->state), dur);
	} else {
		snprintf(buf, size, "%s", plan_state_name(r->state));
	}
}

/* "2026-12-07 09:00 -05:00" of t in z, " (deferred)" when it waits for the window. */
static void submit_text(const struct tz *z, bool submitted, int64_t t, enum schedule_window w, char *buf,
			size_t size)
{
	struct civil lc;
	char when[40], off[16];
	int offset = 0;

	if (!submitted) {
		snprintf(buf, size, "-");
		return;
	}
	if (w == SCHEDULE_SKIPPED) {
		snprintf(buf, size, "skipped");
		return;
	}
	tz_to_local(z, t, &lc, &offset);
	civil_format(&lc, when, sizeof(when));
	tz_format_offset(offset, off, sizeof(off));
	snprintf(buf, size, "%s %s%s", when, off, w == SCHEDULE_DEFERRED ? " (deferred)" : "");
}

#define NCOL 7

/* The lines below a run: its zone groups, then its pending follow-up
 * touches (shown as their rule: when they come is known only once the
 * touch before them ended). */
static size_t sub_lines(const struct plan_run *r)
{
	bool touches = r->state != PLAN_MISSED && r->state != PLAN_DISABLED;
	return r->n_groups + (touches ? r->job->n_touches : 0);
}

/* The cells of a run's row, or of its k-th line below (k >= 0). */
static void cells(const struct plan_run *r, ssize_t k, char c[NCOL][96])
{
	if (k >= (ssize_t)r->n_groups) {
		int t = (int)(k - (ssize_t)r->n_groups) + 1;
		char *suffix = jobspec_touch_suffix(r->job, t), dur[48];
		format_duration(r->job->touches[t - 1].after_s, dur, sizeof(dur));
		c[0][0] = c[3][0] = c[4][0] = '\0';
		snprintf(c[1], 96, "+ %s", suffix);
		snprintf(c[2], 96, "%s", r->job->timezone);
		if (t == 1)
			snprintf(c[5], 96, "%s after the run ends", dur);
		else
			snprintf(c[5], 96, "%s after follow-up %d ends", dur, t - 1);
		snprintf(c[6], 96, "pending");
		free(suffix);
		return;
	}
	if (k < 0) {
		snprintf(c[0], 96, "%s", r->job->name);
		snprintf(c[1], 96, "%s", r->local);
		snprintf(c[2], 96, "%s", r->job->timezone);
		snprintf(c[3], 96, "%s", r->utc);
		snprintf(c[4], 96, "%lld", (long long)r->instant);
		if (r->groups && r->window != SCHEDULE_SKIPPED) {
			/* the groups' own lines say which waits */
			char t[80];
			submit_text(r->job->tz, true, r->submit_at, SCHEDULE_OPEN, t, sizeof(t));
			snprintf(c[5], 96, "%s (first of %zu)", t, r->n_groups);
		} else {
			submit_text(r->job->tz, r->submitted, r->submit_at, r->window, c[5], 96);
		}
		state_text(r, c[6], 96);
	} else {
		const struct schedule_group *g = &r->groups[k];
		c[0][0] = '\0';
		snprintf(c[1], 96, "+ %zu recipient%s", g->n_recipients, g->n_recipients == 1 ? "" : "s");
		snprintf(c[2], 96, "%s", g->timezone);
		c[3][0] = c[4][0] = '\0';
		/* the state column says whether it waits */
		submit_text(g->tz, true, g->submit_at, g->window == SCHEDULE_SKIPPED ? g->window : SCHEDULE_OPEN, c[5],
			    96);
		snprintf(c[6], 96, "%s", schedule_window_name(g->window));
	}
}

static void line_out(struct sbuf *b, const int *w, char c[NCOL][96])
{
	/* UNIX is right-aligned; the last column is not padded */
	sbuf_addf(b, "%-*s  %-*s  %-*s  %-*s  %*s  %-*s  %s", w[0], c[0], w[1], c[1], w[2], c[2], w[3], c[3], w[4],
		  c[4], w[5], c[5], c[6]);
	while (b->len > 0 && b->s[b->len - 1] == ' ')
		b->s[--b->len] = '\0';
	sbuf_addf(b, "\n");
}

char *plan_format_text(const struct plan *p)
{
	static const char *const head[NCOL] = { "JOB", "LOCAL TIME", "TIMEZONE", "UTC", "UNIX", "SUBMIT AT", "STATE" };
	int w[NCOL];
	struct sbuf b = { 0 };
	char c[NCOL][96];

	for (size_t k = 0; k < NCOL; k++)
		w[k] = (int)strlen(head[k]);
	for (size_t i = 0; i < p->n_runs; i++) {
		const struct plan_run *r = &p->runs[i];
		for (ssize_t g = -1; g < (ssize_t)sub_lines(r); g++) {
			cells(r, g, c);
			for (size_t k = 0; k < NCOL - 1; k++)
				if ((int)strlen(c[k]) > w[k])
					w[k] = (int)strlen(c[k]);
		}
	}
	for (size_t k = 0; k < NCOL; k++)
		snprintf(c[k], 96, "%s", head[k]);
	line_out(&b, w, c);
	for (size_t i = 0; i < p->n_runs; i++) {
		const struct plan_run *r = &p->runs[i];
		for (ssize_t g = -1; g < (ssize_t)sub_lines(r); g++) {
			cells(r, g, c);
			line_out(&b, w, c);
		}
	}
	return b.s;
}

static void json_submit(json_object *o, const struct tz *z, bool submitted, int64_t t, enum schedule_window w)
{
	char local[48];

	if (!submitted) {
		json_object_object_add(o, "submit_at", NULL);
		json_object_object_add(o, "submit_local", NULL);
		json_object_object_add(o, "window", NULL);
		return;
	}
	tz_format_local(z, t, local, sizeof(local));
	json_object_object_add(o, "submit_at", w == SCHEDULE_SKIPPED ? NULL : json_object_new_int64(t));
	json_object_object_add(o, "submit_local", w == SCHEDULE_SKIPPED ? NULL : json_object_new_string(local));
	json_object_object_add(o, "window", json_object_new_string(schedule_window_name(w)));
}

json_object *plan_touches_json(const struct jobspec *j)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < j->n_touches; i++) {
		const struct touch *t = &j->touches[i];
		json_object *o = json_object_new_object(), *st = NULL, *v = NULL, *d = NULL;
		char *suffix = jobspec_touch_suffix(j, (int)i + 1);

		json_object_object_add(o, "touch", json_object_new_int((int)i + 1));
		json_object_object_add(o, "call_name_suffix", json_object_new_string(suffix));
		json_object_object_add(o, "after", json_object_new_int64(t->after_s));
		if (t->status) {
			st = json_object_new_array();
			for (unsigned k = 0; touch_status_name(k); k++)
				if (t->status & (1u << k))
					json_object_array_add(st, json_object_new_string(touch_status_name(k)));
		}
		json_object_object_add(o, "status", st);
		if (t->verdicts) {
			v = json_object_new_array();
			for (int k = 0; k < CONV_VERDICT__MAX; k++)
				if (t->verdicts & (1u << k))
					json_object_array_add(v, json_object_new_string(conv_verdict_name((enum conv_verdict)k)));
		}
		json_object_object_add(o, "call_successful", v);
		if (t->n_data) {
			d = json_object_new_object();
			for (size_t k = 0; k < t->n_data; k++)
				json_object_object_add(d, t->data[k].id, json_tokener_parse(t->data[k].value));
		}
		json_object_object_add(o, "data", d);
		json_object_object_add(o, "own_calling_hours", json_object_new_boolean(t->hours != NULL));
		json_object_array_add(a, o);
		free(suffix);
	}
	return a;
}

char *plan_format_json(const struct plan *p)
{
	json_object *root = json_object_new_object(), *runs = json_object_new_array();
	char *out;

	json_object_object_add(root, "from", json_object_new_int64(p->from));
	for (size_t i = 0; i < p->n_runs; i++) {
		const struct plan_run *r = &p->runs[i];
		json_object *o = json_object_new_object();
		char local[48];
		const char *abbr = NULL;

		tz_format_local(r->job->tz, r->instant, local, sizeof(local));
		tz_lookup(r->job->tz, r->instant, NULL, &abbr, NULL);
		json_object_object_add(o, "job", json_object_new_string(r->job->name));
		json_object_object_add(o, "local", json_object_new_string(local));
		json_object_object_add(o, "timezone", json_object_new_string(r->job->timezone));
		json_object_object_add(o, "abbreviation", json_object_new_string(abbr ? abbr : ""));
		json_object_object_add(o, "utc", json_object_new_string(r->utc));
		json_object_object_add(o, "unix", json_object_new_int64(r->instant));
		json_object_object_add(o, "state", json_object_new_string(plan_state_name(r->state)));
		if (r->state == PLAN_LATE || r->state == PLAN_MISSED)
			json_object_object_add(o, "late_by", json_object_new_int64(r->late_by));
		if (r->job->repeat) {
			char *text = calendar_format(r->job->repeat);
			json_object_object_add(o, "repeat", json_object_new_string(text));
			free(text);
		}
		json_submit(o, r->job->tz, r->submitted, r->submit_at, r->window);
		if (r->groups) {
			json_object *groups = json_object_new_array();
			for (size_t k = 0; k < r->n_groups; k++) {
				const struct schedule_group *g = &r->groups[k];
				json_object *go = json_object_new_object();
				json_object_object_add(go, "timezone", json_object_new_string(g->timezone));
				json_object_object_add(go, "recipients", json_object_new_int64((int64_t)g->n_recipients));
				json_submit(go, g->tz, true, g->submit_at, g->window);
				json_object_array_add(groups, go);
			}
			json_object_object_add(o, "zone_groups", groups);
		}
		if (r->job->n_touches > 0)
			json_object_object_add(o, "follow_up", plan_touches_json(r->job));
		json_object_object_add(o, "file", json_object_new_string(r->job->file));
		json_object_object_add(o, "line", json_object_new_int(r->job->line));
		json_object_array_add(runs, o);
	}
	json_object_object_add(root, "runs", runs);
	out = xasprintf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								      JSON_C_TO_STRING_SPACED |
								      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return out;
}

/* "+05:30", "-0800", "+05": minutes east of UTC. */
static int parse_offset(const char *s, int *ret)
{
	int h, m = 0;

	if ((s[0] != '+' && s[0] != '-') || !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]))
		return -EINVAL;
	h = (s[1] - '0') * 10 + (s[2] - '0');
	s += 3;
	if (*s == ':')
		s++;
	if (*s) {
		if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2])
			return -EINVAL;
		m = (s[0] - '0') * 10 + (s[1] - '0');
	}
	if (h > 23 || m > 59)
		return -EINVAL;
	*ret = (h * 60 + m) * 60;
	return 0;
}

int plan_parse_time(const char *s, int64_t *ret)
{
	char buf[64];
	size_t len;
	int offset = 0, sign = 1;
	struct civil c;
	const char *tail;

	if (!s || !*s)
		return -EINVAL;
	if (parse_int64(s, 0, 253402300799LL, ret) == 0)
		return 0;
	len = strlen(s);
	if (len >= sizeof(buf) || len < 16)
		return -EINVAL;
	memcpy(buf, s, len + 1);
	/* the zone designator comes after "YYYY-MM-DDTHH:MM" */
	tail = buf + 16;
	tail += strcspn(tail, "Zz+-");
	if (*tail == 'Z' || *tail == 'z') {
		if (tail[1])
			return -EINVAL;
	} else if (*tail) {
		sign = *tail == '-' ? -1 : 1;
		if (parse_offset(tail, &offset) < 0)
			return -EINVAL;
	}
	buf[tail - buf] = '\0';
	if (civil_parse(buf, &c) < 0)
		return -EINVAL;
	*ret = civil_to_unix_utc(&c) - sign * offset;
	return 0;
}
