/*
 * jobspec: checks on single values (E.164, job names), the call name sent
 * for a run, the digest that tells the daemon a job changed, and the
 * destructors. Pure: no I/O.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "jobspec.h"
#include "strpool.h"
#include "suppress.h"
#include "tz.h"
#include "util.h"
#include "window.h"

bool e164_valid(const char *s)
{
	size_t n = 0;

	if (!s || s[0] != '+')
		return false;
	for (s++; *s; s++, n++)
		if (*s < '0' || *s > '9')
			return false;
	return n >= 8 && n <= 15;
}

bool job_name_valid(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; *s; s++, n++) {
		char c = *s;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return false;
	}
	return n >= 1 && n <= JOB_NAME_MAX;
}

const char *jobspec_call_base(const struct jobspec *j)
{
	return j->call_name ? j->call_name : j->name;
}

char *jobspec_run_call_name(const struct jobspec *j, const char *local_start)
{
	return xasprintf("%s %s", jobspec_call_base(j), local_start);
}

/*
 * After a crash the daemon finds an uncertain submission by its call_name
 * alone, so no two jobs may ever send the same one. A run's call_name is
 *
 *     R = B " " L S
 *
 * B: the job's base (jobspec_call_base), any string;
 * L: the run's local start, "YYYY-MM-DD HH:MM" (16 characters) or
 *    "YYYY-MM-DD HH:MM:SS" (19, when the seconds are not zero): a digit first;
 * S: empty, or " (" PART ")" for a part of the run (a zone group, a
 *    follow-up "resume 1", both), PART any string.
 *
 * cfg refuses (a) two jobs with the same base and (b) a base that begins
 * with another job's base, a space and a digit (jobspec_call_base_extends).
 *
 * Claim: two jobs whose bases B1 != B2 pass (b) never send the same R,
 * whatever their local starts, lengths and parts.
 *
 * Proof. Suppose B1 " " L1 S1 == B2 " " L2 S2 == R, and name the bases so
 * that |B1| <= |B2|. Both begin R, so B1 is a prefix of B2, a proper one as
 * B1 != B2: |B2| >= |B1| + 1.
 * - R[|B1|] is the space after B1 in R1; it lies inside B2, so
 *   B2[|B1|] = ' '.
 * - R[|B1| + 1] is L1[0], a digit. If |B2| >= |B1| + 2 it lies inside B2,
 *   so B2 begins with B1, a space and a digit: refused by (b).
 * - Otherwise B2 = B1 " ", and R[|B1| + 1] = R[|B2|] is the space after B2
 *   in R2, not a digit: a contradiction.
 * Only L's first character and the separating space take part, so neither
 * the length of L nor S (nor what PART holds) matters. test_cfg checks the
 * claim against every base a rendered name could come from.
 *
 * (b) is conservative: "Renewals" and "Renewals 2026" would need a part
 * that spells a local time to meet ("Renewals 2026-..." has '-' where
 * "Renewals 2026 2026-..." has ' '), but one character settles (b), and a
 * proof that looked further would depend on what parts may hold.
 */
bool jobspec_call_base_extends(const char *base, const char *other)
{
	size_t n = strlen(other);

	return strncmp(base, other, n) == 0 && base[n] == ' ' && base[n + 1] >= '0' && base[n + 1] <= '9';
}

/* The digest is util.h's FNV-1a 64: stable across builds and hosts, good
 * enough to notice a change (it is no defence against a forger, and needs
 * none). Each value is written as tag, length, bytes, so that no two
 * different jobs can serialise to the same text (a NULL differs from ""). */
static void h_str(uint64_t *h, char tag, const char *s)
{
	uint64_t len = s ? strlen(s) : UINT64_MAX;
	*h = fnv1a64(*h, &tag, 1);
	*h = fnv1a64(*h, &len, sizeof(len));
	if (s)
		*h = fnv1a64(*h, s, (size_t)len);
}

/* v in decimal, as "%lld" writes it (the digests of records written
 * before must not change), without printf: a large load computes
 * a few dozen per job. */
static void h_int(uint64_t *h, char tag, int64_t v)
{
	char buf[24], *p = buf + sizeof(buf);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) > 0);
	if (v < 0)
		*--p = '-';
	*h = fnv1a64(*h, &tag, 1);
	*h = fnv1a64(*h, p, (size_t)(buf + sizeof(buf) - p));
	*h = fnv1a64(*h, ";", 1);
}

static void h_double(uint64_t *h, char tag, double v)
{
	char buf[64];
	/* %a is exact and independent of the locale */
	int n = snprintf(buf, sizeof(buf), "%a", v);
	*h = fnv1a64(*h, &tag, 1);
	*h = fnv1a64(*h, buf, (size_t)n);
	*h = fnv1a64(*h, ";", 1);
}

static void h_var(uint64_t *h, const struct var *v)
{
	h_str(h, 'n', v->name);
	switch (v->type) {
	case VAR_STRING:
		h_str(h, 's', v->s);
		break;
	case VAR_INT:
		h_int(h, 'i', v->i);
		break;
	case VAR_FLOAT:
		h_double(h, 'f', v->f);
		break;
	case VAR_BOOL:
		h_int(h, 'b', v->b);
		break;
	}
}

void jobspec_compute_digest(struct jobspec *j)
{
	uint64_t h = FNV1A64_INIT;

	h_str(&h, 'N', j->name);
	h_str(&h, 'A', j->agent_id);
	h_str(&h, 'P', j->phone_number_id);
	h_str(&h, 'Z', j->timezone);
	h_int(&h, 'S', j->start);
	h_str(&h, 'C', j->call_name);
	h_int(&h, 'T', j->target_concurrency_limit);
	h_int(&h, 'R', j->ringing_timeout_secs);
	h_str(&h, 'B', j->branch_id);
	h_str(&h, 'E', j->environment);
	h_int(&h, 'W', j->has_whatsapp);
	if (j->has_whatsapp) {
		h_str(&h, 'w', j->whatsapp.phone_number_id);
		h_str(&h, 'm', j->whatsapp.template_name);
		h_str(&h, 'l', j->whatsapp.template_language_code);
	}
	h_int(&h, 'r', j->retry.max_retries);
	h_int(&h, 'd', j->retry.delay);
	h_double(&h, 'k', j->retry.backoff);
	h_int(&h, 'x', j->retry.max_delay);
	h_int(&h, 'L', j->max_lateness);
	h_int(&h, 'U', j->submit_ahead);
	h_int(&h, 'O', j->enabled);
	/* The keys of issue 8 are hashed only when used, so that the digest of
	 * a job written before them does not change with the upgrade. */
	if (j->repeat) {
		char *text = calendar_format(j->repeat);
		h_str(&h, 'Y', text);
		free(text);
		h_int(&h, 'a', j->anchored);
		h_int(&h, 'K', j->count);
		h_int(&h, 'o', j->overlap);
	}
	if (j->has_until)
		h_int(&h, 'H', j->until);
	if (j->hours) {
		h_int(&h, 'h', j->hours->days);
		h_int(&h, 'j', j->hours->all_day);
		h_int(&h, 'f', j->hours->from);
		h_int(&h, 't', j->hours->to);
		h_int(&h, 'D', (int64_t)j->hours->n_blackout);
		for (size_t i = 0; i < j->hours->n_blackout; i++)
			h_int(&h, 'q', j->hours->blackout[i]);
		h_int(&h, 'X', j->outside);
		h_int(&h, 'M', j->resume);
	}
	h_int(&h, '#', (int64_t)j->n_recipients);
	for (size_t i = 0; i < j->n_recipients; i++) {
		const struct recipient *r = &j->recipients[i];
		h_str(&h, 'i', r->id);
		h_str(&h, 'p', r->phone_number);
		h_str(&h, 'u', r->whatsapp_user_id);
		h_str(&h, 'g', r->language);
		h_str(&h, 'F', r->first_message);
		h_str(&h, 'y', r->system_prompt);
		h_str(&h, 'v', r->voice_id);
		if (r->timezone)
			h_str(&h, 'z', r->timezone);
		h_int(&h, 'V', (int64_t)r->n_vars);
		for (size_t k = 0; k < r->n_vars; k++)
			h_var(&h, &r->vars[k]);
	}
	j->digest = h;
}

const struct jobspec *daemonconf_find(const struct daemonconf *c, const char *name)
{
	size_t lo = 0, hi;

	if (!c || !name)
		return NULL;
	hi = c->n_jobs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(name, c->jobs[mid].name);
		if (cmp == 0)
			return &c->jobs[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void var_clear(struct var *v)
{
	if (!v)
		return;
	free(v->name);
	free(v->s);
	memset(v, 0, sizeof(*v));
}

void recipient_clear(struct recipient *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->phone_number);
	free(r->whatsapp_user_id);
	for (size_t i = 0; i < r->n_vars; i++)
		var_clear(&r->vars[i]);
	free(r->vars);
	free(r->language);
	free(r->first_message);
	free(r->system_prompt);
	free(r->voice_id);
	free(r->timezone);
	free(r->file);
	memset(r, 0, sizeof(*r));
}

const char *touch_status_name(unsigned k)
{
	static const char *const names[TOUCH_STATUS__COUNT] = { "completed", "failed", "voicemail", "cancelled",
								"not_dialled" };
	return k < TOUCH_STATUS__COUNT ? names[k] : NULL;
}

const struct window *jobspec_hours(const struct jobspec *j, int touch)
{
	if (touch >= 1 && (size_t)touch <= j->n_touches && j->touches[touch - 1].hours)
		return j->touches[touch - 1].hours;
	return j->hours;
}

char *jobspec_touch_suffix(const struct jobspec *j, int touch)
{
	if (touch >= 1 && (size_t)touch <= j->n_touches && j->touches[touch - 1].suffix)
		return xstrdup(j->touches[touch - 1].suffix);
	return xasprintf("follow-up %d", touch);
}

void jobspec_touch_view(const struct jobspec *j, int touch, struct jobspec *view)
{
	/* (a touch past the list overrides nothing) */
	const struct touch none = { 0 },
			   *t = touch >= 1 && (size_t)touch <= j->n_touches ? &j->touches[touch - 1] : &none;

	*view = *j;
	view->recipients = xcalloc(j->n_recipients ? j->n_recipients : 1, sizeof(*view->recipients));
	for (size_t i = 0; i < j->n_recipients; i++) {
		const struct recipient *x = &j->recipients[i];
		struct recipient *y = &view->recipients[i];
		size_t n = 0;

		*y = *x;
		if (t->first_message)
			y->first_message = t->first_message;
		if (t->n_vars == 0)
			continue;
		/* The touch's variables win over the recipient's of one name. */
		y->vars = xcalloc(x->n_vars + t->n_vars, sizeof(*y->vars));
		for (size_t k = 0; k < x->n_vars; k++) {
			bool over = false;
			for (size_t m = 0; m < t->n_vars && !over; m++)
				over = strcmp(x->vars[k].name, t->vars[m].name) == 0;
			if (!over)
				y->vars[n++] = x->vars[k];
		}
		for (size_t m = 0; m < t->n_vars; m++)
			y->vars[n++] = t->vars[m];
		y->n_vars = n;
	}
	view->hours = (struct window *)jobspec_hours(j, touch);
	view->touches = NULL;
	view->n_touches = 0;
	view->view_vars = t->n_vars > 0;
}

void jobspec_view_clear(struct jobspec *view)
{
	if (!view->recipients)
		return;
	if (view->view_vars)
		for (size_t i = 0; i < view->n_recipients; i++)
			free(view->recipients[i].vars);
	free(view->recipients);
	view->recipients = NULL;
}

static void each_var(struct var *v, size_t n, void (*fn)(char **, void *), void *ctx)
{
	for (size_t i = 0; i < n; i++) {
		fn(&v[i].name, ctx);
		fn(&v[i].s, ctx);
	}
}

void jobspec_each_string(struct jobspec *j, void (*fn)(char **s, void *ctx), void *ctx)
{
	char **own[] = {
		&j->name, &j->file, &j->agent_id, &j->phone_number_id, &j->timezone, &j->start_text,
		&j->call_name, &j->recipients_csv, &j->branch_id, &j->environment, &j->whatsapp.phone_number_id,
		&j->whatsapp.template_name, &j->whatsapp.template_language_code,
	};

	for (size_t i = 0; i < ARRAY_SIZE(own); i++)
		fn(own[i], ctx);
	for (size_t i = 0; i < j->n_recipients; i++) {
		struct recipient *r = &j->recipients[i];
		char **rs[] = {
			&r->id, &r->phone_number, &r->whatsapp_user_id, &r->language, &r->first_message,
			&r->system_prompt, &r->voice_id, &r->timezone, &r->file,
		};
		for (size_t k = 0; k < ARRAY_SIZE(rs); k++)
			fn(rs[k], ctx);
		each_var(r->vars, r->n_vars, fn, ctx);
	}
	for (size_t i = 0; i < j->n_touches; i++) {
		struct touch *t = &j->touches[i];
		for (size_t k = 0; k < t->n_data; k++) {
			fn(&t->data[k].id, ctx);
			fn(&t->data[k].value, ctx);
		}
		fn(&t->suffix, ctx);
		fn(&t->first_message, ctx);
		each_var(t->vars, t->n_vars, fn, ctx);
	}
}

static void free_string(char **s, void *ctx)
{
	(void)ctx;
	free(*s);
	*s = NULL;
}

void jobspec_clear(struct jobspec *j)
{
	if (!j)
		return;
	if (!j->pooled)
		jobspec_each_string(j, free_string, NULL);
	for (size_t i = 0; i < j->n_touches; i++) {
		free(j->touches[i].data);
		free(j->touches[i].vars);
		window_free(j->touches[i].hours);
	}
	free(j->touches);
	for (size_t i = 0; i < j->n_recipients; i++)
		free(j->recipients[i].vars);
	free(j->recipients);
	calendar_free(j->repeat);
	window_free(j->hours);
	memset(j, 0, sizeof(*j));
}

void clusterconf_free(struct clusterconf *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n_etcd_endpoints; i++)
		free(k->etcd_endpoints[i]);
	free(k->etcd_endpoints);
	free(k->node_name);
	free(k->key_prefix);
	free(k->ca_file);
	free(k->cert_file);
	free(k->key_file);
	free(k);
}

void daemonconf_free(struct daemonconf *c)
{
	if (!c)
		return;
	free(c->file);
	free(c->api.base_url);
	free(c->api.api_key_file);
	free(c->api.ca_file);
	free(c->jobs_dir);
	free(c->state_dir);
	free(c->results_dir);
	free(c->control_socket);
	free(c->control_group);
	free(c->metrics_listen);
	free(c->webhook_listen);
	for (size_t i = 0; i < c->n_jobs; i++)
		jobspec_clear(&c->jobs[i]);
	free(c->jobs);
	tz_cache_free(c->zones);
	strpool_free(c->strings);
	for (size_t i = 0; i < c->n_suppression; i++)
		free(c->suppression[i]);
	free(c->suppression);
	suppress_clear(c->suppress);
	free(c->suppress);
	free(c->limits);
	clusterconf_free(c->cluster);
	free(c);
}
