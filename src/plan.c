/*
 * plan: every job's run relative to an instant the caller gives, rendered
 * as a table or as JSON. No clock is read here, so tests pin `from`.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
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

void plan_format_offset(int offset, char *buf, size_t size)
{
	int a = offset < 0 ? -offset : offset;

	if (a % 60)
		snprintf(buf, size, "%c%02d:%02d:%02d", offset < 0 ? '-' : '+', a / 3600, a / 60 % 60, a % 60);
	else
		snprintf(buf, size, "%c%02d:%02d", offset < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

static int cmp_run(const void *a, const void *b)
{
	const struct plan_run *x = a, *y = b;

	if (x->instant != y->instant)
		return x->instant < y->instant ? -1 : 1;
	return strcmp(x->job->name, y->job->name);
}

int plan_build(const struct daemonconf *c, int64_t from, struct plan **ret)
{
	struct plan *p = xcalloc(1, sizeof(*p));

	p->from = from;
	p->runs = xcalloc(c->n_jobs, sizeof(*p->runs));
	for (size_t i = 0; i < c->n_jobs; i++) {
		const struct jobspec *j = &c->jobs[i];
		struct plan_run *r = &p->runs[p->n_runs++];
		struct civil lc;
		char when[40], off[16];
		const char *abbr = NULL;
		int offset = 0;

		r->job = j;
		r->instant = j->start;
		r->state = plan_state_of(j, r->instant, from, &r->late_by);
		tz_to_local(j->tz, r->instant, &lc, &offset);
		tz_lookup(j->tz, r->instant, NULL, &abbr, NULL);
		civil_format(&lc, when, sizeof(when));
		plan_format_offset(offset, off, sizeof(off));
		/* numeric abbreviations ("-03") say nothing the offset does not */
		if (abbr && *abbr && *abbr != '+' && *abbr != '-')
			snprintf(r->local, sizeof(r->local), "%s %s (%s)", when, off, abbr);
		else
			snprintf(r->local, sizeof(r->local), "%s %s", when, off);
		format_utc(r->instant, r->utc, sizeof(r->utc));
	}
	if (p->n_runs > 1)
		qsort(p->runs, p->n_runs, sizeof(*p->runs), cmp_run);
	*ret = p;
	return 0;
}

void plan_free(struct plan *p)
{
	if (!p)
		return;
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

struct strbuf {
	char *s;
	size_t len, cap;
};

static void sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	char *t;
	size_t n;

	va_start(ap, fmt);
	t = xvasprintf(fmt, ap);
	va_end(ap);
	n = strlen(t);
	xgrow((void **)&b->s, &b->cap, b->len + n + 1, 1);
	memcpy(b->s + b->len, t, n + 1);
	b->len += n;
	free(t);
}

char *plan_format_text(const struct plan *p)
{
	static const char *const head[] = { "JOB", "LOCAL TIME", "TIMEZONE", "UTC", "UNIX", "STATE" };
	int w[6];
	struct strbuf b = { 0 };
	char st[80];

	for (size_t k = 0; k < 6; k++)
		w[k] = (int)strlen(head[k]);
	for (size_t i = 0; i < p->n_runs; i++) {
		const struct plan_run *r = &p->runs[i];
		char unix_s[24];
		int l[5];
		snprintf(unix_s, sizeof(unix_s), "%lld", (long long)r->instant);
		l[0] = (int)strlen(r->job->name);
		l[1] = (int)strlen(r->local);
		l[2] = (int)strlen(r->job->timezone);
		l[3] = (int)strlen(r->utc);
		l[4] = (int)strlen(unix_s);
		for (size_t k = 0; k < 5; k++)
			if (l[k] > w[k])
				w[k] = l[k];
	}
	sb_printf(&b, "%-*s  %-*s  %-*s  %-*s  %*s  %s\n", w[0], head[0], w[1], head[1], w[2], head[2], w[3],
		  head[3], w[4], head[4], head[5]);
	for (size_t i = 0; i < p->n_runs; i++) {
		const struct plan_run *r = &p->runs[i];
		state_text(r, st, sizeof(st));
		sb_printf(&b, "%-*s  %-*s  %-*s  %-*s  %*lld  %s\n", w[0], r->job->name, w[1], r->local, w[2],
			  r->job->timezone, w[3], r->utc, w[4], (long long)r->instant, st);
	}
	return b.s;
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
