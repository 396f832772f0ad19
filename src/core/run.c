/*
 * run: the run state machine (see run.h). Every transition is a function of
 * the run, the context (job definition, now, a random value) and the event;
 * the actions it returns are carried out by the engine in order.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "ledger.h"
#include "run.h"
#include "state.h"
#include "tz.h"
#include "util.h"
#include "window.h"

static void strv_free(char **v, size_t n);

/* Runs later than this after their instant are logged as late. */
#define LATE_LOG_MS 1000

static const char *const state_names[RUN__MAX] = {
	[RUN_SCHEDULED] = "scheduled",     [RUN_SUBMITTING] = "submitting",
	[RUN_PENDING] = "pending",         [RUN_IN_PROGRESS] = "in_progress",
	[RUN_RETRY_WAIT] = "retry_wait",   [RUN_COMPLETED] = "completed",
	[RUN_FAILED] = "failed",           [RUN_CANCELLED] = "cancelled",
	[RUN_MISSED] = "missed",           [RUN_ERROR] = "error",
	[RUN_DISABLED] = "disabled",       [RUN_REMOVED] = "removed",
	[RUN_PAUSED] = "paused",
};

const char *run_state_name(enum run_state s)
{
	return (unsigned)s < RUN__MAX ? state_names[s] : "unknown";
}

int run_state_from_name(const char *s)
{
	for (int i = 0; i < RUN__MAX; i++)
		if (s && strcmp(s, state_names[i]) == 0)
			return i;
	return -1;
}

bool run_state_final(enum run_state s)
{
	return s == RUN_COMPLETED || s == RUN_FAILED || s == RUN_CANCELLED || s == RUN_MISSED ||
	       s == RUN_ERROR || s == RUN_REMOVED;
}

bool run_state_active(enum run_state s)
{
	return s == RUN_PENDING || s == RUN_IN_PROGRESS;
}

bool run_submitted(const struct run *r)
{
	return r->batch_id || r->uncertain || r->state == RUN_SUBMITTING || r->op == OP_SUBMIT ||
	       r->op == OP_LOOKUP || run_state_active(r->state) || r->state == RUN_RETRY_WAIT ||
	       r->state == RUN_REMOVED;
}

bool run_is_follow_up(const struct run *r)
{
	return r->part && (!r->zone || strcmp(r->part, r->zone) != 0);
}

bool run_at_rest(const struct run *r)
{
	if (r->op != OP_NONE || r->uncertain)
		return false;
	return run_state_final(r->state) || r->state == RUN_PAUSED || r->state == RUN_DISABLED ||
	       r->state == RUN_SCHEDULED;
}

int64_t run_end_s(const struct run *r)
{
	int64_t t = r->start;

	if (r->submit_at_ms / 1000 > t)
		t = r->submit_at_ms / 1000;
	if (r->submitted_at > t)
		t = r->submitted_at;
	if (r->finished_at > t)
		t = r->finished_at;
	return t;
}

void run_note_submission(struct run *r, int64_t count, uint64_t digest)
{
	r->sent_count = count;
	r->sent_digest = digest;
}

void run_note_suppressed(struct run *r, char **keys, size_t n)
{
	strv_free(r->suppressed, r->n_suppressed);
	r->suppressed = keys;
	r->n_suppressed = keys ? n : 0;
}

void run_note_over_limit(struct run *r, char **keys, size_t n, bool defer)
{
	strv_free(r->over_limit, r->n_over_limit);
	r->over_limit = keys;
	r->n_over_limit = keys ? n : 0;
	r->defer_over = defer && r->n_over_limit > 0;
}

int64_t run_limits_allow_at(const struct run *r, const struct contact_rules *c, char *const *keys, size_t n)
{
	int64_t first = INT64_MAX;

	if (!c || !c->limits || !c->ledger)
		return c ? c->now_s : 0;
	for (size_t i = 0; i < n; i++) {
		int64_t at = c->now_s;
		if (ledger_check(c->ledger, c->limits, ledger_key(keys[i]),
				 ledger_agent_find(c->ledger, r->agent_id ? r->agent_id : ""), c->now_s, 0, &at) ==
			    LEDGER_OVER &&
		    at < first)
			first = at;
	}
	return first == INT64_MAX ? c->now_s : first;
}

uint64_t run_contact_tag(const struct run *r, int attempt)
{
	char *id;

	/* A follow-up's submit is its parent's last attempt carried on:
	 * the never-dialled part of a batch the calling hours or the
	 * operator stopped, or the retry the endpoint could not be asked
	 * for. One call, one contact. */
	if (r->contact_tag && attempt <= r->contact_base)
		return r->contact_tag;
	id = xasprintf("%s@%" PRId64 "/%s", r->job, r->start, r->part ? r->part : "");
	uint64_t t = ledger_tag(id, attempt);

	free(id);
	return t;
}

bool run_over_limit(const struct run *r, const struct contact_rules *c, const char *key, int attempt)
{
	if (!c || !c->limits || !c->ledger || !key)
		return false;
	return ledger_check(c->ledger, c->limits, ledger_key(key), ledger_agent_find(c->ledger, r->agent_id ? r->agent_id : ""),
			    c->now_s, run_contact_tag(r, attempt), NULL) == LEDGER_OVER;
}

void run_note_write(struct run *r)
{
	r->gen++;
}

bool run_batch_matches(const struct run *r, const struct batch *b)
{
	return b->name && strcmp(b->name, r->call_name) == 0 && run_batch_agrees(r, b);
}

bool run_batch_agrees(const struct run *r, const struct batch *b)
{
	if (r->agent_id && (!b->agent_id || strcmp(r->agent_id, b->agent_id) != 0))
		return false;
	if (r->sent_count > 0 && b->total_calls_scheduled != r->sent_count)
		return false;
	return true;
}

int64_t run_batch_early_s(const struct run *r, const struct batch *b)
{
	int64_t first = r->first_intent_ms / 1000;

	return r->first_intent_ms > 0 && b->created_at_unix < first ? first - b->created_at_unix : 0;
}


int64_t run_submit_at_ms(const struct run *r, const struct jobspec *spec)
{
	int64_t ahead = spec ? spec->submit_ahead : 0;

	if (r->submit_at_ms > 0)
		return r->submit_at_ms;
	return (r->start - ahead) * 1000;
}

void run_ctx_window(struct run_ctx *ctx, const struct run *r, const struct tz *zone)
{
	const struct jobspec *j = ctx->spec;
	int64_t open, close;

	const struct window *h = j ? jobspec_hours(j, r->touch) : NULL;

	if (!h || run_state_active(r->state) || r->state == RUN_RETRY_WAIT ||
	    window_next_open(h, zone, ctx->now_ms / 1000, &open) < 0)
		return;
	ctx->window_open_ms = open * 1000 > ctx->now_ms ? open * 1000 : ctx->now_ms;
	if (window_close_after(h, zone, open, &close) == 0)
		ctx->window_close_ms = close * 1000;
	ctx->window_skip = j->outside == OUTSIDE_SKIP;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t run_part_select(const struct run *r, const struct recipient *v, size_t n, bool *include,
		       uint64_t *ret_digest)
{
	char **keys = NULL;
	size_t count = 0;
	uint64_t digest = FNV1A64_INIT;

	if (r->rcpts) {
		keys = xcalloc(r->n_rcpts ? r->n_rcpts : 1, sizeof(*keys));
		memcpy(keys, r->rcpts, r->n_rcpts * sizeof(*keys));
		qsort(keys, r->n_rcpts, sizeof(*keys), str_cmp);
	}
	for (size_t i = 0; i < n; i++) {
		const char *key = recipient_key(v[i].phone_number, v[i].whatsapp_user_id);
		include[i] = !keys || (key && bsearch(&key, keys, r->n_rcpts, sizeof(*keys), str_cmp));
		if (!include[i])
			continue;
		count++;
		if (key)
			digest = fnv1a64(digest, key, strlen(key) + 1);
	}
	free(keys);
	if (ret_digest)
		*ret_digest = digest;
	return count;
}

/* A recipient of a body as a person of the ledger, in the body's order. */
struct person {
	uint64_t key;
	size_t index;
};

static int person_cmp(const void *a, const void *b)
{
	const struct person *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

size_t run_body_select(const struct run *r, const struct suppress_rules *rules, const struct contact_rules *contacts,
		       const struct recipient *v, size_t n, bool *include, uint64_t *ret_digest, char ***ret_left_out,
		       size_t *ret_n_left_out, char ***ret_over, size_t *ret_n_over)
{
	uint64_t digest = FNV1A64_INIT;
	size_t count = 0, cap = 0;

	run_part_select(r, v, n, include, NULL);
	*ret_n_left_out = suppress_filter(rules, v, n, include, ret_left_out);
	*ret_over = NULL;
	*ret_n_over = 0;
	if (contacts && contacts->limits) {
		/* (one attempt is one contact a person: a second entry for
		 * the same person in one body would be a second call the
		 * ledger cannot count, so it is over the limits too) */
		struct person *by = xcalloc(n ? n : 1, sizeof(*by));
		bool *twice = xcalloc(n ? n : 1, sizeof(*twice));
		size_t m = 0;
		for (size_t i = 0; i < n; i++) {
			const char *key = recipient_key(v[i].phone_number, v[i].whatsapp_user_id);
			if (include[i] && key)
				by[m++] = (struct person){ ledger_key(key), i };
		}
		qsort(by, m, sizeof(*by), person_cmp);
		for (size_t j = 1; j < m; j++)
			twice[by[j].index] = by[j].key == by[j - 1].key;
		for (size_t i = 0; i < n; i++) {
			const char *key = recipient_key(v[i].phone_number, v[i].whatsapp_user_id);
			if (!include[i] || !key || (!twice[i] && !run_over_limit(r, contacts, key, 0)))
				continue;
			include[i] = false;
			xgrow((void **)ret_over, &cap, *ret_n_over + 1, sizeof(**ret_over));
			(*ret_over)[(*ret_n_over)++] = xstrdup(key);
		}
		free(by);
		free(twice);
	}
	for (size_t i = 0; i < n; i++) {
		const char *key = recipient_key(v[i].phone_number, v[i].whatsapp_user_id);
		if (!include[i])
			continue;
		count++;
		if (key)
			digest = fnv1a64(digest, key, strlen(key) + 1);
	}
	if (ret_digest)
		*ret_digest = digest;
	return count;
}

const char *run_submit_refusal(const struct run *r, const char *holder_job, const char *holder_batch, char *buf,
			       size_t size)
{
	if (r->part && !r->rcpts) {
		snprintf(buf, size, "run '%s' is a part of its occurrence but its recipients are unknown", r->call_name);
		return buf;
	}
	if (holder_job && strcmp(holder_job, r->job) != 0) {
		snprintf(buf, size,
			 "the call_name '%s' was already used by job '%s' (batch %s), which left the files and whose "
			 "record is kept (state_retention): give this job another call_name", r->call_name, holder_job,
			 holder_batch ? holder_batch : "unknown");
		return buf;
	}
	return NULL;
}

/* The instant lateness is measured from: the run's own instant, or the
 * opening of the calling hours it was deferred to. */
static int64_t run_lateness_base_ms(const struct run *r)
{
	return r->submit_at_ms > r->start * 1000 ? r->submit_at_ms : r->start * 1000;
}

/* t as wall time in z (NULL: UTC). */
static void local_civil(const struct tz *z, int64_t t, struct civil *c)
{
	int off;

	if (z)
		tz_to_local(z, t, c, &off);
	else
		unix_to_civil_utc(t, c);
}

void run_local_start(const struct jobspec *spec, int64_t t, char *buf, size_t size)
{
	struct civil c;

	local_civil(spec->tz, t, &c);
	civil_format(&c, buf, size);
}

char *run_call_name_in_zone(const struct run *r, const struct jobspec *spec, const struct tz *z)
{
	const char *base = jobspec_call_base(spec);
	size_t blen = strlen(base), llen;
	char local[64], other[64];
	struct civil c;
	enum tz_kind kind;

	run_local_start(spec, r->start, local, sizeof(local));
	llen = strlen(local);
	if (!r->call_name || strncmp(r->call_name, base, blen) != 0 || r->call_name[blen] != ' ' ||
	    strncmp(r->call_name + blen + 1, local, llen) != 0)
		return NULL;
	local_civil(z, r->start, &c);
	/* in the hour a fall-back repeats, the name would be another
	 * instant's too: which occurrence it was cannot be told */
	(void)tz_to_instant(z, &c, &kind);
	if (kind == TZ_OVERLAP)
		return NULL;
	civil_format(&c, other, sizeof(other));
	return xasprintf("%s %s%s", base, other, r->call_name + blen + 1 + llen);
}

struct run *run_new(const struct jobspec *spec)
{
	return run_new_at(spec, spec->start);
}

struct run *run_new_at(const struct jobspec *spec, int64_t instant)
{
	struct run *r = xcalloc(1, sizeof(*r));
	char local[32];

	r->job = xstrdup(spec->name);
	r->start = instant;
	run_local_start(spec, instant, local, sizeof(local));
	r->call_name = jobspec_run_call_name(spec, local);
	r->agent_id = xstrdup(spec->agent_id);
	r->on_removal = spec->on_removal;
	r->digest = spec->digest;
	r->state = spec->enabled ? RUN_SCHEDULED : RUN_DISABLED;
	r->due_ms = spec->enabled ? run_submit_at_ms(r, spec) : 0;
	return r;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A copy of the n keys v, NULL-terminated. */
static char **strv_dup(char *const *v, size_t n)
{
	char **c = xcalloc(n + 1, sizeof(*c));

	for (size_t i = 0; i < n; i++)
		c[i] = xstrdup(v[i]);
	return c;
}

const char *recipient_key(const char *phone_number, const char *whatsapp_user_id)
{
	return phone_number ? phone_number : whatsapp_user_id;
}

void run_set_part(struct run *r, const struct jobspec *spec, const char *part)
{
	char local[32], *base;

	free(r->part);
	r->part = xstrdup(part);
	run_local_start(spec, r->start, local, sizeof(local));
	base = jobspec_run_call_name(spec, local);
	free(r->call_name);
	r->call_name = part ? xasprintf("%s (%s)", base, part) : xstrdup(base);
	free(base);
}

struct run *run_new_part(const struct jobspec *spec, int64_t start, const char *part, const char *zone, char **rcpts,
			 size_t n)
{
	struct run *r = run_new_at(spec, start);

	run_set_part(r, spec, part);
	r->zone = xstrdup(zone);
	r->rcpts = rcpts;
	r->n_rcpts = n;
	return r;
}

struct run *run_new_follow_up(struct run *parent, const struct jobspec *spec, const char *part, int64_t now_ms)
{
	struct run *f = run_new_part(spec, parent->start, part, parent->zone, parent->unfinished,
				     parent->n_unfinished);

	state_count_up(&parent->follow_n);
	parent->unfinished = NULL;
	parent->n_unfinished = 0;
	f->retries = parent->retries; /* the same retry budget */
	f->touch = parent->touch;
	/* (the parent's last attempt: the retry the endpoint was not asked
	 * for, counted by retry_checked, or the one its batch was in) */
	if (parent->follow != FOLLOW_DEFER) {
		f->contact_tag = run_contact_tag(parent, parent->retries);
		f->contact_base = f->retries;
	}
	if (parent->follow == FOLLOW_DEFER) {
		/* never called by the parent: a call of its own, at the first
		 * instant the limits allow (now_ms: the shell's), inside the
		 * calling hours when it comes, with the retries left (a retry
		 * that went over the limits and was deferred is that retry: a
		 * fresh budget would call a voicemail box without end) */
		if (f->state == RUN_SCHEDULED) {
			f->due_ms = now_ms;
			f->submit_at_ms = now_ms;
		}
	} else if (parent->follow == FOLLOW_PAUSE) {
		f->state = RUN_PAUSED;
		f->due_ms = 0;
	} else if (f->state == RUN_SCHEDULED) {
		/* Due now: the calling hours, closed now, defer it to their
		 * next opening when the machine looks at it. */
		f->due_ms = now_ms;
		f->submit_at_ms = now_ms;
	}
	parent->follow = FOLLOW_NONE;
	return f;
}

struct run *run_new_touch(const struct jobspec *spec, int64_t start, int touch, const char *zone, char **rcpts,
			  size_t n, int64_t due_ms)
{
	char *part = xasprintf("%s%sfollow-up %d", zone ? zone : "", zone ? ", " : "", touch);
	char *suffix = jobspec_touch_suffix(spec, touch), local[32], *base;
	struct run *r = run_new_part(spec, start, part, zone, rcpts, n);

	run_local_start(spec, start, local, sizeof(local));
	base = jobspec_run_call_name(spec, local);
	free(r->call_name);
	r->call_name = xasprintf("%s (%s%s%s)", base, zone ? zone : "", zone ? ", " : "", suffix);
	free(base);
	free(suffix);
	free(part);
	r->touch = touch;
	/* its lateness counts from its own time, also when it is made
	 * disabled and enabled later */
	r->submit_at_ms = due_ms;
	if (n == 0) {
		/* nobody to call: the touch is made, and ends at once */
		r->state = RUN_COMPLETED;
		r->due_ms = 0;
		r->finished_at = due_ms / 1000;
		r->finished_ms = due_ms;
	} else if (r->state == RUN_SCHEDULED) {
		r->due_ms = due_ms;
	}
	return r;
}

int run_part_touch(const char *part)
{
	const char *p = part ? strstr(part, "follow-up ") : NULL;
	int64_t k;

	if (!p || (p != part && (p < part + 2 || p[-2] != ',' || p[-1] != ' ')))
		return 0;
	/* "[ZONE, ]follow-up N" or a resume of it, "..., resume M" */
	{
		char digits[8];
		size_t len = strspn(p + 10, "0123456789");
		if (len == 0 || len >= sizeof(digits) ||
		    (p[10 + len] && strncmp(p + 10 + len, ", resume ", 9) != 0 &&
		     strncmp(p + 10 + len, ", deferred ", 11) != 0))
			return 0;
		memcpy(digits, p + 10, len);
		digits[len] = '\0';
		if (parse_int64(digits, 1, RUN_TOUCH_MAX, &k) < 0)
			return 0;
	}
	return (int)k;
}

void run_follow_made(struct run *r)
{
	strv_free(r->unfinished, r->n_unfinished);
	r->unfinished = NULL;
	r->n_unfinished = 0;
	r->follow = FOLLOW_NONE;
	state_count_up(&r->follow_n);
}

struct run *run_new_lost(const struct jobspec *spec, int64_t start, const char *part, const char *zone, char **rcpts,
			 size_t n, bool lookup_only, int64_t settle_ms)
{
	struct run *r = part ? run_new_part(spec, start, part, zone, rcpts, n) : run_new_at(spec, start);

	r->lookup_only = lookup_only;
	r->rebuilt = true;
	r->touch = run_part_touch(part); /* a follow-up touch's, from its part */
	r->submit_attempts = 1;
	run_suspect(r, 0, settle_ms);
	return r;
}

void run_rebuilt_from(struct run *r, const struct run *parent, bool hands_on)
{
	r->retries = parent->retries; /* the same retry budget */
	r->contact_tag = 0;
	r->contact_base = 0;
	/* as run_new_follow_up: a resume carries on its parent's last call */
	if (hands_on ? parent->follow != FOLLOW_DEFER : strstr(r->part, "deferred ") == NULL) {
		r->contact_tag = run_contact_tag(parent, parent->retries);
		r->contact_base = r->retries;
	}
	/* its zone's calling hours (load_damaged knows no zone for a
	 * follow-up; the parent is of lost's zone, occur_lost_parent) */
	if (!r->zone && parent->zone)
		r->zone = xstrdup(parent->zone);
	if (!hands_on)
		return;
	strv_free(r->rcpts, r->n_rcpts);
	r->rcpts = strv_dup(parent->unfinished, parent->n_unfinished);
	r->n_rcpts = parent->n_unfinished;
	r->lookup_only = false; /* what it sends is known again */
}

void run_suspect(struct run *r, int64_t intent_ms, int64_t settle_ms)
{
	r->state = RUN_SUBMITTING;
	r->uncertain = true;
	r->intent_ms = intent_ms;
	r->first_intent_ms = 0;
	r->settle_ms = settle_ms;
	r->due_ms = 0;
}

void run_set_window(struct run *r, int64_t submit_at_ms, int64_t close_ms)
{
	if (submit_at_ms > 0) {
		r->submit_at_ms = submit_at_ms;
		if (r->state == RUN_SCHEDULED)
			r->due_ms = submit_at_ms;
	}
	r->close_ms = close_ms;
}

void run_postpone(struct run *r, int64_t due_ms)
{
	r->due_ms = due_ms;
}

void run_free(struct run *r)
{
	if (!r)
		return;
	free(r->part);
	free(r->zone);
	strv_free(r->rcpts, r->n_rcpts);
	strv_free(r->unfinished, r->n_unfinished);
	strv_free(r->suppressed, r->n_suppressed);
	strv_free(r->over_limit, r->n_over_limit);
	strv_free(r->retry_keys, r->n_retry_keys);
	free(r->job);
	free(r->call_name);
	free(r->agent_id);
	free(r->batch_id);
	free(r->error);
	batch_clear(&r->batch);
	free(r);
}

/* --- actions ------------------------------------------------------------ */

bool run_actions_request(const struct actions *acts, size_t from)
{
	for (size_t i = from; acts && i < acts->n; i++)
		switch (acts->v[i].kind) {
		case ACT_SUBMIT:
		case ACT_LOOKUP:
		case ACT_FETCH_DETAIL:
		case ACT_RETRY:
		case ACT_CANCEL:
			return true;
		default:
			break;
		}
	return false;
}

static struct action *emit(struct actions *out, enum action_kind kind)
{
	struct action *a;

	/* The machine never emits more than a handful per event; running out
	 * is a programming error that must not go unnoticed. */
	if (out->n >= ACTIONS_MAX)
		abort();
	a = &out->v[out->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	return a;
}

__attribute__((format(printf, 7, 8)))
static void emit_log(struct actions *out, const struct run *r, enum job_event ev, enum severity prio,
		     long http_status, int attempt, const char *fmt, ...)
{
	struct action *a = emit(out, ACT_LOG);
	va_list ap;
	int n;

	a->event = ev;
	a->priority = prio;
	a->http_status = http_status;
	a->attempt = attempt;
	n = snprintf(a->msg, sizeof(a->msg), "job '%s': ", r->job);
	va_start(ap, fmt);
	vsnprintf(a->msg + n, sizeof(a->msg) - (size_t)n, fmt, ap);
	va_end(ap);
}

static void set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = xstrdup(src);
}

static void copy_snapshot(struct run *r, const struct batch *b)
{
	struct batch *s = &r->batch;

	s->status = b->status;
	s->created_at_unix = b->created_at_unix;
	s->scheduled_time_unix = b->scheduled_time_unix;
	s->last_updated_at_unix = b->last_updated_at_unix;
	s->total_calls_dispatched = b->total_calls_dispatched;
	s->total_calls_scheduled = b->total_calls_scheduled;
	s->total_calls_finished = b->total_calls_finished;
	s->retry_count = b->retry_count;
}

/* Delay before trying a failed request again: full jitter, never sooner
 * than the server's Retry-After. */
static int64_t transient_delay_ms(const struct run *r, const struct run_ctx *ctx, int64_t retry_after_s)
{
	struct backoff_rule b = { .base_ms = ctx->backoff_base_ms, .cap_ms = ctx->backoff_cap_ms, .jitter = true };

	return backoff_wait_ms(b, r->failures > 0 ? r->failures - 1 : 0, ctx->rnd, retry_after_s);
}

static enum run_state state_of_batch(enum batch_status s)
{
	return s == BATCH_PENDING ? RUN_PENDING : RUN_IN_PROGRESS;
}

static const char *describe_failure(const struct run_event *ev, char *buf, size_t size)
{
	/* The api layer's messages already name the HTTP status. */
	if (ev->message)
		snprintf(buf, size, "%s", ev->message);
	else if (ev->http_status > 0)
		snprintf(buf, size, "HTTP %ld", ev->http_status);
	else
		snprintf(buf, size, "no answer");
	return buf;
}

/* --- transitions --------------------------------------------------------- */

static void begin_submit(struct run *r, const struct run_ctx *ctx, struct actions *out)
{
	const struct jobspec *spec = ctx->spec;
	struct action *a;

	state_count_up(&r->submit_attempts);
	r->state = RUN_SUBMITTING;
	r->intent_ms = ctx->now_ms;
	if (r->first_intent_ms == 0)
		r->first_intent_ms = ctx->now_ms;
	r->settle_ms = 0;
	r->uncertain = false;
	r->due_ms = 0;
	r->op = OP_SUBMIT;
	emit(out, ACT_PERSIST);
	a = emit(out, ACT_SUBMIT);
	if (spec->submit_ahead > 0 && r->start * 1000 > ctx->now_ms)
		a->scheduled_time_unix = r->start;
}

static void become_final(struct run *r, const struct run_ctx *ctx, enum run_state st, struct actions *out)
{
	r->state = st;
	r->due_ms = 0;
	r->op = OP_NONE;
	if (!r->finished_at) {
		r->finished_at = ctx->now_ms / 1000;
		r->finished_ms = ctx->now_ms;
	}
	/* Also when its job left the files: the record stays, so that the
	 * run is never made again (state_retention). */
	emit(out, ACT_PERSIST);
}

/* A scheduled run whose time has come: submit it, or mark it missed. */
static void consider_submit(struct run *r, const struct run_ctx *ctx, struct actions *out)
{
	const struct jobspec *spec = ctx->spec;
	int64_t late_ms;

	if (!spec || r->op != OP_NONE)
		return;
	if (r->cancel_wanted) {
		emit_log(out, r, JE_CANCELLED, SEV_NOTICE, 0, 0, "run cancelled before it was submitted");
		become_final(r, ctx, RUN_CANCELLED, out);
		return;
	}
	/* `enabled` is judged when the run would really be submitted (it may
	 * have changed while a lookup was under way). */
	if (!spec->enabled) {
		r->state = RUN_DISABLED;
		r->due_ms = 0;
		emit_log(out, r, JE_SCHEDULED, SEV_NOTICE, 0, 0, "run '%s' not submitted: the job is disabled",
			 r->call_name);
		emit(out, ACT_PERSIST);
		return;
	}
	if (ctx->now_ms < run_submit_at_ms(r, spec)) {
		/* Come due before its instant: only a write that failed
		 * (RE_STORE_FAILED's backoff) does that. Its record is
		 * written again now: a part made in that write (a deferred
		 * follow-up, due when the limits allow, hours away) would
		 * otherwise exist only here until its submit, and its
		 * parent's next write drops the hand-on from the disk. */
		if (r->due_ms > 0 && r->due_ms < run_submit_at_ms(r, spec))
			emit(out, ACT_PERSIST);
		r->due_ms = run_submit_at_ms(r, spec);
		return;
	}
	/* The calling hours are judged when the run is really submitted: a
	 * run made late by downtime may find its window closed. */
	if (ctx->window_open_ms > ctx->now_ms) {
		if (ctx->window_skip) {
			emit_log(out, r, JE_MISSED, SEV_WARNING, 0, 0,
				 "run not submitted: outside the calling hours (outside_window = skip)");
			become_final(r, ctx, RUN_MISSED, out);
			return;
		}
		r->submit_at_ms = ctx->window_open_ms;
		r->close_ms = ctx->window_close_ms;
		r->due_ms = r->submit_at_ms;
		emit_log(out, r, JE_SCHEDULED, SEV_NOTICE, 0, 0,
			 "outside the calling hours: deferred to their next opening, in %" PRId64 "s",
			 (r->submit_at_ms - ctx->now_ms) / 1000);
		emit(out, ACT_PERSIST);
		return;
	}
	if (ctx->window_open_ms > 0)
		r->close_ms = ctx->window_close_ms;
	late_ms = ctx->now_ms - run_lateness_base_ms(r);
	if (ctx->skip) {
		emit_log(out, r, JE_MISSED, SEV_WARNING, 0, 0, "run not submitted: %s", ctx->skip);
		become_final(r, ctx, RUN_MISSED, out);
		return;
	}
	if (late_ms > (int64_t)spec->max_lateness * 1000) {
		emit_log(out, r, JE_MISSED, SEV_ERR, 0, 0,
			 "run missed: %" PRId64 "s late, more than max_lateness %ds; not submitted",
			 late_ms / 1000, spec->max_lateness);
		become_final(r, ctx, RUN_MISSED, out);
		return;
	}
	/* Late means the instant passed while the daemon could not act (it
	 * was down, or the state folder refused the intent): a run whose
	 * attempt on time failed and is tried again is not late. */
	if (late_ms >= LATE_LOG_MS && !r->late_logged && r->submit_attempts == 0) {
		r->late_logged = true;
		emit_log(out, r, JE_LATE, SEV_WARNING, 0, 0,
			 "run is %" PRId64 "s late (within max_lateness %ds); submitting now",
			 late_ms / 1000, spec->max_lateness);
	}
	begin_submit(r, ctx, out);
}

static void begin_cancel(struct run *r, struct actions *out)
{
	r->op = OP_CANCEL;
	emit(out, ACT_PERSIST);
	emit(out, ACT_CANCEL);
}

static void begin_fetch(struct run *r, struct actions *out)
{
	r->op = OP_DETAIL;
	emit(out, ACT_FETCH_DETAIL);
}

static void begin_retry(struct run *r, const struct run_ctx *ctx, struct actions *out)
{
	r->retry_expect = r->batch.retry_count + 1;
	r->intent_ms = ctx->now_ms;
	r->state = RUN_RETRY_WAIT;
	r->due_ms = 0;
	r->op = OP_RETRY;
	emit(out, ACT_PERSIST);
	emit(out, ACT_RETRY);
}

/* The retry endpoint re-dials every failed or unanswered recipient of the
 * batch and takes no list: when a do-not-call list names any of them now,
 * it is not called. The others go to a follow-up run of their own (its
 * submit body is checked again), which counts as this retry; the run
 * ends as its batch did. Without the batch's list (a record of an earlier
 * version) the retry is sent as before. */
static void retry_checked(struct run *r, const struct run_ctx *ctx, struct actions *out)
{
	char **allowed = NULL;
	size_t n_allowed = 0, n_listed = 0, n_over = 0;
	/* over_limit = "defer": those over go to the follow-up too, whose
	 * submit leaves them out and defers them to when the limits allow */
	bool defer = ctx->contacts && ctx->contacts->limits && ctx->contacts->limits->defer;

	for (size_t i = 0; i < r->n_retry_keys; i++) {
		if (suppress_check_key(ctx->rules, r->retry_keys[i], NULL) == SUPPRESS_LISTED) {
			n_listed++;
			continue;
		}
		/* (a retry is a call: counted against the limits as the
		 * attempt it would be) */
		if (run_over_limit(r, ctx->contacts, r->retry_keys[i], r->retries + 1)) {
			n_over++;
			if (!defer)
				continue;
		}
		allowed = xrealloc(allowed, (n_allowed + 1) * sizeof(*allowed));
		allowed[n_allowed++] = xstrdup(r->retry_keys[i]);
	}
	if (n_listed == 0 && n_over == 0) {
		strv_free(allowed, n_allowed);
		begin_retry(r, ctx, out);
		return;
	}
	state_count_up(&r->retries);
	strv_free(r->unfinished, r->n_unfinished);
	r->unfinished = allowed;
	r->n_unfinished = n_allowed;
	if (n_listed > 0) {
		emit_log(out, r, JE_SUPPRESSED, SEV_NOTICE, 0, r->retries,
			 "retry %d of batch %s not sent: %zu of its %zu failed or unanswered recipients are on a "
			 "do-not-call list now and the retry endpoint takes no list; %s",
			 r->retries, r->batch_id, n_listed, r->n_retry_keys,
			 n_allowed ? "the others go to a follow-up run instead" : "nobody else is left to call");
		out->v[out->n - 1].count = (int64_t)n_listed;
	}
	if (n_over > 0) {
		emit_log(out, r, JE_CONTACT_LIMIT, SEV_NOTICE, 0, r->retries,
			 "retry %d of batch %s not sent: %zu of its %zu failed or unanswered recipients would go over "
			 "the contact limits and the retry endpoint takes no list; %s",
			 r->retries, r->batch_id, n_over, r->n_retry_keys,
			 defer ? "they are deferred, through a follow-up run with the others (over_limit = defer)"
			 : n_allowed ? "the others go to a follow-up run instead" : "nobody else is left to call");
		out->v[out->n - 1].count = (int64_t)n_over;
	}
	emit_log(out, r, JE_FINISHED, SEV_NOTICE, 0, r->retries,
		 "batch %s finished %s: %" PRId64 " completed, %" PRId64 " failed, %" PRId64
		 " voicemail; retry %d %s", r->batch_id, batch_status_name(r->batch.status),
		 r->counts[RCPT_COMPLETED], r->counts[RCPT_FAILED], r->counts[RCPT_VOICEMAIL], r->retries,
		 n_allowed ? "handed to a follow-up run"
			   : "not needed: every recipient left is on a do-not-call list or over the contact limits");
	if (n_allowed > 0) {
		r->follow = FOLLOW_RESUME;
		emit(out, ACT_FOLLOW_UP);
	}
	become_final(r, ctx, r->batch.status == BATCH_FAILED ? RUN_FAILED : RUN_COMPLETED, out);
}

/* Instead of its submit: every recipient of the body was on a do-not-call
 * list (the shell's body said so), and nothing was sent. Nothing is left
 * to do for this run, ever: it is complete, without a batch. */
static void on_suppressed(struct run *r, const struct run_ctx *ctx, struct actions *out)
{
	if (r->op != OP_SUBMIT)
		return;
	if (r->submit_attempts > 0)
		r->submit_attempts--;
	r->uncertain = false;
	if (r->n_over_limit == 0)
		emit_log(out, r, JE_FINISHED, SEV_NOTICE, 0, 0,
			 "every one of its %zu recipients is on a do-not-call list: nothing submitted; the run is "
			 "complete", r->n_suppressed);
	else
		emit_log(out, r, JE_FINISHED, SEV_NOTICE, 0, 0,
			 "every one of its %zu recipients is on a do-not-call list (%zu) or over the contact limits "
			 "(%zu): nothing submitted; the run is complete",
			 r->n_suppressed + r->n_over_limit, r->n_suppressed, r->n_over_limit);
	become_final(r, ctx, RUN_COMPLETED, out);
}

/* on_removal = keep: the batch runs on untracked; the record stays
 * (state removed), so that the run is never submitted again and is followed
 * again if the job comes back. */
static void let_go(struct run *r, const struct run_ctx *ctx, struct actions *out)
{
	emit_log(out, r, JE_REMOVED, SEV_NOTICE, 0, 0,
		 "job removed with on_removal=keep: batch %s left running, no longer tracked",
		 r->batch_id ? r->batch_id : "?");
	r->state = RUN_REMOVED;
	r->due_ms = 0;
	r->op = OP_NONE;
	r->cancel_wanted = false;
	if (!r->finished_at) {
		r->finished_at = ctx->now_ms / 1000;
		r->finished_ms = ctx->now_ms;
	}
	emit(out, ACT_PERSIST);
}

/* The run's batch is known (just submitted, or found by a lookup). */
static void take_batch(struct run *r, const struct run_ctx *ctx, const struct batch *b,
		       enum job_event ev, long http_status, struct actions *out)
{
	set_str(&r->batch_id, b->id);
	copy_snapshot(r, b);
	r->uncertain = false;
	r->failures = 0;
	r->due_ms = 0;
	r->op = OP_NONE;
	r->submitted_at = b->created_at_unix > 0 ? b->created_at_unix : ctx->now_ms / 1000;
	if (ctx->spec)
		r->digest = ctx->spec->digest;
	r->state = state_of_batch(b->status);
	r->due_ms = r->close_ms; /* the calling hours close: cancel then */
	/* Adopted (its record lost, damaged, the folder emptied, or only its
	 * submit's answer): the retries the batch shows are this run's, on top
	 * of those it began with (a follow-up's, its parent's; a run without
	 * a batch has retried nothing of its own). Not counted, it would retry
	 * max_retries times more and name its next retry as one made already,
	 * a contact the ledger takes for the same call. */
	if (ev == JE_ADOPTED && b->retry_count > 0) {
		int64_t seen = (int64_t)r->retries + b->retry_count;
		r->retries = (int)(seen > STATE_COUNT_MAX ? STATE_COUNT_MAX : seen);
	}
	if (ev == JE_SUBMITTED)
		emit_log(out, r, ev, SEV_NOTICE, http_status, r->submit_attempts,
			 "submitted as batch %s (%" PRId64 " recipients, attempt %d)", b->id,
			 b->total_calls_scheduled, r->submit_attempts);
	else
		emit_log(out, r, ev, SEV_NOTICE, 0, r->submit_attempts,
			 "adopted batch %s found by its call_name '%s' (status %s)", b->id, r->call_name,
			 batch_status_name(b->status));
	if (r->removing && r->on_removal == ON_REMOVAL_KEEP) {
		let_go(r, ctx, out);
		return;
	}
	emit(out, ACT_PERSIST);
	if (r->cancel_wanted && !batch_status_terminal(b->status)) {
		begin_cancel(r, out);
		return;
	}
	if (batch_status_terminal(b->status))
		begin_fetch(r, out);
}

static void on_time(struct run *r, const struct run_ctx *ctx, struct actions *out)
{
	if (r->op != OP_NONE || (r->due_ms && ctx->now_ms < r->due_ms))
		return;
	switch (r->state) {
	case RUN_SCHEDULED:
		consider_submit(r, ctx, out);
		break;
	case RUN_SUBMITTING:
		/* After a restart, or an answer that left the outcome unknown:
		 * find out before anything else. */
		r->uncertain = true;
		r->op = OP_LOOKUP;
		emit(out, ACT_LOOKUP);
		break;
	case RUN_PENDING:
	case RUN_IN_PROGRESS:
		r->due_ms = 0;
		if (!r->cancel_wanted && r->close_ms > 0 && ctx->now_ms >= r->close_ms &&
		    !batch_status_terminal(r->batch.status)) {
			r->cancel_wanted = true;
			if (ctx->spec && ctx->spec->resume)
				r->follow = FOLLOW_RESUME;
			emit_log(out, r, JE_CANCELLED, SEV_NOTICE, 0, 0,
				 "calling hours closed: cancelling batch %s%s", r->batch_id,
				 r->follow ? "; its unfinished recipients resume at the next opening" : "");
		}
		if (r->cancel_wanted)
			begin_cancel(r, out);
		else if (batch_status_terminal(r->batch.status))
			begin_fetch(r, out);
		break;
	case RUN_RETRY_WAIT:
		if (r->cancel_wanted && r->retry_expect == 0) {
			emit_log(out, r, JE_CANCELLED, SEV_NOTICE, 0, 0, "retries cancelled");
			become_final(r, ctx, RUN_CANCELLED, out);
		} else if (r->retry_expect > 0 || r->cancel_wanted) {
			begin_fetch(r, out);
		} else {
			retry_checked(r, ctx, out);
		}
		break;
	default:
		/* A run that ended, is paused or disabled has a due time
		 * only when the write of that state failed (RE_STORE_FAILED):
		 * its record still holds the state before (in_progress,
		 * scheduled, or none for a follow-up made in that write),
		 * which nothing else would write over while this daemon runs.
		 * Written again now (left due, the timer would step it every
		 * second for ever). */
		if (r->due_ms > 0) {
			r->due_ms = 0;
			emit(out, ACT_PERSIST);
		}
		break;
	}
}

static void on_submit_done(struct run *r, const struct run_ctx *ctx, const struct run_event *ev,
			   struct actions *out)
{
	char why[200];

	if (r->op != OP_SUBMIT)
		return;
	r->op = OP_NONE;
	switch (ev->outcome) {
	case REQ_OK:
		take_batch(r, ctx, ev->batch, JE_SUBMITTED, ev->http_status, out);
		return;
	case REQ_REJECTED:
	case REQ_NOT_FOUND:
		set_str(&r->error, ev->message ? ev->message : "refused");
		emit_log(out, r, JE_ERROR, SEV_ERR, ev->http_status, r->submit_attempts,
			 "submit refused by the API (%s); not retried", describe_failure(ev, why, sizeof(why)));
		become_final(r, ctx, RUN_ERROR, out);
		return;
	case REQ_AUTH:
		/* Refused before it was looked at: nothing exists. */
		state_count_up(&r->failures);
		r->state = RUN_SCHEDULED;
		r->due_ms = ctx->now_ms + transient_delay_ms(r, ctx, ev->retry_after_s);
		emit(out, ACT_PERSIST);
		return;
	case REQ_TRANSIENT:
		state_count_up(&r->failures);
		r->due_ms = ctx->now_ms + transient_delay_ms(r, ctx, ev->retry_after_s);
		if (ev->maybe_applied) {
			r->uncertain = true;
			r->settle_ms = ev->origin_answered ? ctx->now_ms : ctx->now_ms + ctx->grace_ms;
			emit_log(out, r, JE_TRANSIENT, SEV_WARNING, ev->http_status, r->submit_attempts,
				 "submit failed (%s) and may have taken effect; looking it up in %.1fs",
				 describe_failure(ev, why, sizeof(why)), (r->due_ms - ctx->now_ms) / 1000.0);
		} else {
			r->state = RUN_SCHEDULED;
			/* Certainly never sent (withdrawn unsent, e.g. held to
			 * its instant): a cancel, a removal or `enabled = false`
			 * that came meanwhile takes effect now. */
			if (r->removing && !r->part) {
				emit_log(out, r, JE_REMOVED, SEV_NOTICE, 0, 0, "job removed; its run was never submitted");
				emit(out, ACT_DROP);
				return;
			}
			if (ctx->spec && (r->cancel_wanted || !ctx->spec->enabled)) {
				r->due_ms = 0;
				consider_submit(r, ctx, out);
				return;
			}
			emit_log(out, r, JE_TRANSIENT, SEV_WARNING, ev->http_status, r->submit_attempts,
				 "submit failed (%s), retrying in %.1fs", describe_failure(ev, why, sizeof(why)),
				 (r->due_ms - ctx->now_ms) / 1000.0);
		}
		emit(out, ACT_PERSIST);
		return;
	}
}

static void on_lookup_done(struct run *r, const struct run_ctx *ctx, const struct run_event *ev,
			   struct actions *out)
{
	int64_t settle;

	if (r->op != OP_LOOKUP)
		return;
	r->op = OP_NONE;
	if (ev->outcome != REQ_OK) {
		char why[200];
		state_count_up(&r->failures);
		r->due_ms = ctx->now_ms + transient_delay_ms(r, ctx, ev->retry_after_s);
		if (ev->outcome != REQ_AUTH)
			emit_log(out, r, JE_TRANSIENT, SEV_WARNING, ev->http_status, 0,
				 "lookup of the submitted batch failed (%s), trying again in %.1fs",
				 describe_failure(ev, why, sizeof(why)), (r->due_ms - ctx->now_ms) / 1000.0);
		return;
	}
	if (ev->batch) {
		if (ev->n_found > 1)
			emit_log(out, r, JE_DUPLICATE, SEV_ERR, 0, 0,
				 "%d batches carry the call_name '%s'; adopting the oldest, %s",
				 ev->n_found, r->call_name, ev->batch->id);
		/* found under the name of the zone it was submitted in (the
		 * job's zone changed since): that is the name it carries */
		if (ev->batch->name && strcmp(ev->batch->name, r->call_name) != 0)
			set_str(&r->call_name, ev->batch->name);
		take_batch(r, ctx, ev->batch, JE_ADOPTED, 0, out);
		return;
	}
	/* Nothing found. A request that is still on its way could land
	 * later: only conclude once the grace period is over. */
	settle = r->settle_ms ? r->settle_ms : r->intent_ms + ctx->grace_ms;
	if (ctx->now_ms < settle) {
		r->due_ms = settle;
		return;
	}
	r->uncertain = false;
	r->state = RUN_SCHEDULED;
	r->failures = 0;
	if (r->lookup_only) {
		set_str(&r->error, "its record was damaged and what it would send is unknown: not submitted");
		emit_log(out, r, JE_ERROR, SEV_ERR, 0, 0,
			 "no batch of run '%s' exists and its record was damaged: its recipients are unknown, so it "
			 "is not submitted", r->call_name);
		become_final(r, ctx, RUN_ERROR, out);
		return;
	}
	if (r->removing && !r->part) {
		emit_log(out, r, JE_REMOVED, SEV_NOTICE, 0, 0, "job removed; its run was never submitted");
		emit(out, ACT_DROP);
		return;
	}
	if (!ctx->spec) {
		emit(out, ACT_PERSIST);
		return;
	}
	consider_submit(r, ctx, out);
	if (r->state == RUN_SCHEDULED && r->op == OP_NONE)
		emit(out, ACT_PERSIST);
}

static void batch_gone(struct run *r, const struct run_ctx *ctx, struct actions *out);

static void on_status(struct run *r, const struct run_ctx *ctx, const struct run_event *ev,
		      struct actions *out)
{
	const struct batch *b = ev->batch;
	enum batch_status old = r->batch.status;

	if (!run_state_active(r->state) || r->op != OP_NONE)
		return;
	if (ev->outcome == REQ_NOT_FOUND) {
		batch_gone(r, ctx, out);
		return;
	}
	if (r->removing && r->on_removal == ON_REMOVAL_KEEP) {
		let_go(r, ctx, out);
		return;
	}
	if (ev->outcome != REQ_OK || !b)
		return;
	copy_snapshot(r, b);
	if (b->status != old || r->state != state_of_batch(b->status)) {
		r->state = state_of_batch(b->status);
		emit_log(out, r, JE_STATUS, SEV_INFO, 0, 0,
			 "batch %s is %s (%" PRId64 "/%" PRId64 " finished)", r->batch_id,
			 batch_status_name(b->status), b->total_calls_finished, b->total_calls_scheduled);
		emit(out, ACT_PERSIST);
	} else {
		/* A routine poll: only with --verbose. */
		emit_log(out, r, JE_STATUS, SEV_DEBUG, 0, 0,
			 "batch %s still %s (%" PRId64 "/%" PRId64 " finished)", r->batch_id,
			 batch_status_name(b->status), b->total_calls_finished, b->total_calls_scheduled);
	}
	if (r->cancel_wanted && !batch_status_terminal(b->status))
		begin_cancel(r, out);
	else if (batch_status_terminal(b->status))
		begin_fetch(r, out);
}

/* A finished batch with its recipients: retry, or finish. */
static void settle(struct run *r, const struct run_ctx *ctx, struct actions *out)
{
	const struct jobspec *spec = ctx->spec;
	int64_t retryable = r->counts[RCPT_FAILED] + r->counts[RCPT_VOICEMAIL];
	enum batch_status st = r->batch.status;
	bool may_retry = spec && spec->enabled && !r->cancel_wanted && !r->removing &&
			 (st == BATCH_COMPLETED || st == BATCH_FAILED) && retryable > 0 &&
			 r->retries < spec->retry.max_retries;

	if (may_retry) {
		int64_t d = backoff_retry_delay(&spec->retry, r->retries + 1);
		r->state = RUN_RETRY_WAIT;
		r->due_ms = ctx->now_ms + d * 1000;
		emit_log(out, r, JE_STATUS, SEV_INFO, 0, r->retries + 1,
			 "batch %s %s with %" PRId64 " failed or unanswered; retry %d of %d in %" PRId64 "s",
			 r->batch_id, batch_status_name(st), retryable, r->retries + 1,
			 spec->retry.max_retries, d);
		emit(out, ACT_PERSIST);
		return;
	}
	emit_log(out, r, JE_FINISHED, st == BATCH_COMPLETED ? SEV_NOTICE : SEV_WARNING, 0, r->retries,
		 "batch %s finished %s: %" PRId64 " completed, %" PRId64 " failed, %" PRId64
		 " voicemail, %" PRId64 " cancelled; %d retries",
		 r->batch_id, batch_status_name(st), r->counts[RCPT_COMPLETED], r->counts[RCPT_FAILED],
		 r->counts[RCPT_VOICEMAIL], r->counts[RCPT_CANCELLED], r->retries);
	become_final(r, ctx,
		     st == BATCH_COMPLETED ? RUN_COMPLETED : st == BATCH_CANCELLED ? RUN_CANCELLED : RUN_FAILED,
		     out);
}

static void batch_gone(struct run *r, const struct run_ctx *ctx, struct actions *out)
{
	set_str(&r->error, "the batch no longer exists (deleted?)");
	emit_log(out, r, JE_ERROR, SEV_ERR, 404, 0, "batch %s no longer exists; giving up on it",
		 r->batch_id ? r->batch_id : "?");
	become_final(r, ctx, RUN_FAILED, out);
}

/* A batch stopped by the calling hours or the operator: its recipients that
 * were never dialled (no conversation) go to a follow-up run; anyone who
 * was on the phone is not rung again. */
static void hand_on(struct run *r, const struct run_ctx *ctx, const struct batch_detail *d, struct actions *out)
{
	strv_free(r->unfinished, r->n_unfinished);
	r->unfinished = NULL;
	r->n_unfinished = 0;
	for (size_t i = 0; i < d->n_rcpts; i++) {
		const struct batch_rcpt *x = &d->rcpts[i];
		const char *key = recipient_key(x->phone_number, x->whatsapp_user_id);
		bool never = !x->conversation_id && (x->status == RCPT_PENDING || x->status == RCPT_CANCELLED ||
						     x->status == RCPT_DISPATCHED);
		if (!never || !key)
			continue;
		r->unfinished = xrealloc(r->unfinished, (r->n_unfinished + 1) * sizeof(*r->unfinished));
		r->unfinished[r->n_unfinished++] = xstrdup(key);
	}
	emit_log(out, r, JE_FINISHED, SEV_NOTICE, 0, r->retries,
		 "batch %s stopped: %zu recipients never dialled %s", r->batch_id, r->n_unfinished,
		 r->n_unfinished == 0 ? "(nothing to hand on)"
		 : r->follow == FOLLOW_PAUSE ? "are kept, paused, for `batchcallctl resume`"
					     : "resume at the next opening of the calling hours");
	/* The engine makes the follow-up (and clears r->follow) before the
	 * final persist below: both land in one group commit. */
	if (r->n_unfinished > 0)
		emit(out, ACT_FOLLOW_UP);
	else
		r->follow = FOLLOW_NONE;
	become_final(r, ctx, RUN_CANCELLED, out);
}

/* Who a retry of the batch would re-dial (its failed and voicemail
 * entries), for the do-not-call check at the moment of the retry. */
static void note_retry_keys(struct run *r, const struct batch_detail *d)
{
	strv_free(r->retry_keys, r->n_retry_keys);
	r->retry_keys = xcalloc(d->n_rcpts ? d->n_rcpts : 1, sizeof(*r->retry_keys));
	r->n_retry_keys = 0;
	for (size_t i = 0; i < d->n_rcpts; i++) {
		const struct batch_rcpt *x = &d->rcpts[i];
		const char *key = recipient_key(x->phone_number, x->whatsapp_user_id);
		if (key && (x->status == RCPT_FAILED || x->status == RCPT_VOICEMAIL))
			r->retry_keys[r->n_retry_keys++] = xstrdup(key);
	}
}

static void on_detail_done(struct run *r, const struct run_ctx *ctx, const struct run_event *ev,
			   struct actions *out)
{
	const struct batch_detail *d = ev->detail;

	if (r->op != OP_DETAIL)
		return;
	r->op = OP_NONE;
	if (ev->outcome == REQ_NOT_FOUND) {
		batch_gone(r, ctx, out);
		return;
	}
	if (ev->outcome != REQ_OK) {
		state_count_up(&r->failures);
		r->due_ms = ctx->now_ms + transient_delay_ms(r, ctx, ev->retry_after_s);
		return;
	}
	r->failures = 0;
	copy_snapshot(r, &d->batch);
	for (int i = 0; i < RCPT__MAX; i++)
		r->counts[i] = (int64_t)d->counts[i];
	r->counts_valid = true;
	note_retry_keys(r, d);

	if (r->retry_expect > 0) {
		if (d->batch.retry_count >= r->retry_expect) {
			r->retry_expect = 0;
			state_count_up(&r->retries);
			emit_log(out, r, JE_RETRIED, SEV_NOTICE, 0, r->retries,
				 "retry %d of batch %s took effect (found by looking it up)", r->retries,
				 r->batch_id);
		} else if (ctx->now_ms < r->intent_ms + ctx->grace_ms) {
			r->state = RUN_RETRY_WAIT;
			r->due_ms = r->intent_ms + ctx->grace_ms;
			return;
		} else {
			r->retry_expect = 0;
		}
	}
	if (!batch_status_terminal(d->batch.status)) {
		r->state = state_of_batch(d->batch.status);
		r->due_ms = 0;
		emit(out, ACT_PERSIST);
		if (r->cancel_wanted)
			begin_cancel(r, out);
		return;
	}
	if (r->follow != FOLLOW_NONE && !r->removing && d->batch.status == BATCH_CANCELLED) {
		hand_on(r, ctx, d, out);
		return;
	}
	if (r->follow != FOLLOW_NONE) {
		/* It ended on its own before the cancel: nobody is left to
		 * hand on; cancel_wanted keeps it from being retried. */
		emit_log(out, r, JE_STATUS, SEV_NOTICE, 0, 0, "batch %s ended (%s) before it could be stopped; "
			 "nothing to hand on", r->batch_id, batch_status_name(d->batch.status));
		r->follow = FOLLOW_NONE;
	}
	settle(r, ctx, out);
}

static void on_retry_done(struct run *r, const struct run_ctx *ctx, const struct run_event *ev,
			  struct actions *out)
{
	char why[200];

	if (r->op != OP_RETRY)
		return;
	r->op = OP_NONE;
	switch (ev->outcome) {
	case REQ_OK:
		state_count_up(&r->retries);
		r->retry_expect = 0;
		r->failures = 0;
		copy_snapshot(r, ev->batch);
		r->state = state_of_batch(ev->batch->status);
		emit_log(out, r, JE_RETRIED, SEV_NOTICE, ev->http_status, r->retries,
			 "retry %d of batch %s started", r->retries, r->batch_id);
		emit(out, ACT_PERSIST);
		return;
	case REQ_NOT_FOUND:
		batch_gone(r, ctx, out);
		return;
	case REQ_REJECTED:
		r->retry_expect = 0;
		set_str(&r->error, ev->message ? ev->message : "retry refused");
		emit_log(out, r, JE_ERROR, SEV_WARNING, ev->http_status, r->retries + 1,
			 "retry of batch %s refused by the API (%s)", r->batch_id,
			 describe_failure(ev, why, sizeof(why)));
		r->cancel_wanted = true; /* no further retries */
		settle(r, ctx, out);
		return;
	case REQ_AUTH:
	case REQ_TRANSIENT:
		state_count_up(&r->failures);
		if (!ev->maybe_applied || ev->outcome == REQ_AUTH)
			r->retry_expect = 0;
		r->due_ms = ctx->now_ms + transient_delay_ms(r, ctx, ev->retry_after_s);
		if (ev->outcome == REQ_TRANSIENT)
			emit_log(out, r, JE_TRANSIENT, SEV_WARNING, ev->http_status, r->retries + 1,
				 "retry of batch %s failed (%s)%s; trying again in %.1fs", r->batch_id,
				 describe_failure(ev, why, sizeof(why)),
				 r->retry_expect ? " and may have taken effect" : "",
				 (r->due_ms - ctx->now_ms) / 1000.0);
		emit(out, ACT_PERSIST);
		return;
	}
}

static void on_cancel_done(struct run *r, const struct run_ctx *ctx, const struct run_event *ev,
			   struct actions *out)
{
	char why[200];

	if (r->op != OP_CANCEL)
		return;
	r->op = OP_NONE;
	switch (ev->outcome) {
	case REQ_OK:
		if (ev->batch)
			copy_snapshot(r, ev->batch);
		emit_log(out, r, JE_CANCELLED, SEV_NOTICE, ev->http_status, 0, "batch %s cancelled%s",
			 r->batch_id, r->removing ? " because its job was removed" : "");
		if (r->follow != FOLLOW_NONE && !r->removing) {
			/* Which recipients were never dialled: the detail says. */
			r->batch.status = BATCH_CANCELLED;
			begin_fetch(r, out);
			return;
		}
		become_final(r, ctx, RUN_CANCELLED, out);
		return;
	case REQ_NOT_FOUND:
		batch_gone(r, ctx, out);
		return;
	case REQ_REJECTED:
		/* Most likely finished meanwhile: see how it ended. */
		emit_log(out, r, JE_STATUS, SEV_INFO, ev->http_status, 0,
			 "cancel of batch %s refused (%s); fetching its final state", r->batch_id,
			 describe_failure(ev, why, sizeof(why)));
		begin_fetch(r, out);
		return;
	case REQ_AUTH:
	case REQ_TRANSIENT:
		state_count_up(&r->failures);
		r->due_ms = ctx->now_ms + transient_delay_ms(r, ctx, ev->retry_after_s);
		return;
	}
}

static int on_cancel_req(struct run *r, const struct run_ctx *ctx, struct actions *out, const char **why)
{
	if (run_state_final(r->state)) {
		*why = "the run is already finished";
		return -EALREADY;
	}
	if (r->cancel_wanted) {
		*why = "a cancel is already under way";
		return -EALREADY;
	}
	r->cancel_wanted = true;
	r->stopped = true;
	switch (r->state) {
	case RUN_SCHEDULED:
	case RUN_DISABLED:
		if (r->op == OP_SUBMIT || r->uncertain) {
			emit(out, ACT_PERSIST); /* cancelled once its outcome is known */
			break;
		}
		emit_log(out, r, JE_CANCELLED, SEV_NOTICE, 0, 0, "run cancelled before it was submitted");
		become_final(r, ctx, RUN_CANCELLED, out);
		break;
	case RUN_SUBMITTING:
		emit(out, ACT_PERSIST);
		break;
	case RUN_PENDING:
	case RUN_IN_PROGRESS:
		if (r->op == OP_NONE)
			begin_cancel(r, out);
		else
			emit(out, ACT_PERSIST);
		break;
	case RUN_RETRY_WAIT:
		if (r->op == OP_NONE && r->retry_expect == 0) {
			emit_log(out, r, JE_CANCELLED, SEV_NOTICE, 0, 0, "retries of batch %s cancelled",
				 r->batch_id);
			become_final(r, ctx, RUN_CANCELLED, out);
		} else {
			emit(out, ACT_PERSIST);
		}
		break;
	default:
		break;
	}
	return 0;
}

static int on_removed(struct run *r, const struct run_ctx *ctx, struct actions *out)
{
	/* History stays history; its record is kept (state_retention). */
	if (run_state_final(r->state))
		return 0;
	r->removing = true;
	if (!run_submitted(r) && (r->state == RUN_SCHEDULED || r->state == RUN_DISABLED) && !r->part) {
		/* Never submitted, and made again from the file if it comes back. */
		emit_log(out, r, JE_REMOVED, SEV_NOTICE, 0, 0, "job removed; its %s run is dropped",
			 run_state_name(r->state));
		emit(out, ACT_DROP);
		return 0;
	}
	if (!run_submitted(r)) {
		/* A part (a follow-up's recipients exist only here; a zone
		 * group's occurrence may be under way): kept, in case the job
		 * comes back. */
		r->due_ms = 0;
		emit_log(out, r, JE_REMOVED, SEV_NOTICE, 0, 0,
			 "job removed; its %s run '%s' is kept, not submitted, until the job comes back",
			 run_state_name(r->state), r->call_name);
		emit(out, ACT_PERSIST);
		return 0;
	}
	if (r->on_removal == ON_REMOVAL_KEEP) {
		if (r->state == RUN_SUBMITTING || r->op == OP_SUBMIT || r->uncertain || !r->batch_id ||
		    r->op == OP_LOOKUP) {
			emit(out, ACT_PERSIST); /* let go once its batch is known */
			return 0;
		}
		if (r->op != OP_NONE) {
			/* Its request's answer lets it go (the machine sees
			 * removing then). */
			emit(out, ACT_PERSIST);
			return 0;
		}
		let_go(r, ctx, out);
		return 0;
	}
	emit_log(out, r, JE_REMOVED, SEV_NOTICE, 0, 0, "job removed with on_removal=cancel: cancelling %s",
		 r->batch_id ? r->batch_id : "its run once submitted");
	if (!r->cancel_wanted)
		r->removal_cancel = true; /* undone if the job comes back */
	r->cancel_wanted = true;
	if (run_state_active(r->state) && r->op == OP_NONE)
		begin_cancel(r, out);
	else if (r->state == RUN_RETRY_WAIT && r->op == OP_NONE && r->retry_expect == 0) {
		emit_log(out, r, JE_CANCELLED, SEV_NOTICE, 0, 0, "retries of batch %s cancelled", r->batch_id);
		become_final(r, ctx, RUN_CANCELLED, out);
	} else
		emit(out, ACT_PERSIST);
	return 0;
}

/* The job came back into the files: follow its run again. */
static int on_readded(struct run *r, const struct run_ctx *ctx, struct actions *out)
{
	if (r->state == RUN_REMOVED && r->batch_id) {
		r->removing = false;
		r->state = state_of_batch(r->batch.status);
		r->finished_at = 0;
		r->finished_ms = 0;
		r->due_ms = ctx->now_ms; /* look at its batch now */
		emit_log(out, r, JE_SCHEDULED, SEV_NOTICE, 0, 0, "job is back: following batch %s again", r->batch_id);
		emit(out, ACT_PERSIST);
		return 0;
	}
	if (!r->removing)
		return 0;
	r->removing = false;
	if (r->removal_cancel) {
		r->removal_cancel = false;
		if (r->op != OP_CANCEL)
			r->cancel_wanted = false;
	}
	if (!run_state_final(r->state)) {
		if (r->state == RUN_SCHEDULED)
			r->due_ms = run_submit_at_ms(r, ctx->spec);
		emit_log(out, r, JE_SCHEDULED, SEV_NOTICE, 0, 0, "job is back: its %s run '%s' is followed again",
			 run_state_name(r->state), r->call_name);
	}
	emit(out, ACT_PERSIST);
	return 0;
}

static int on_retry_req(struct run *r, const struct run_ctx *ctx, struct actions *out, const char **why)
{
	int64_t retryable = r->counts[RCPT_FAILED] + r->counts[RCPT_VOICEMAIL];

	if (run_state_active(r->state) || r->state == RUN_SUBMITTING || r->op != OP_NONE) {
		*why = "the batch is still running";
		return -EBUSY;
	}
	if (!r->batch_id || !(r->state == RUN_RETRY_WAIT || r->state == RUN_COMPLETED ||
			      r->state == RUN_FAILED)) {
		*why = "the run has no finished batch to retry";
		return -ENOENT;
	}
	if (!r->counts_valid || retryable == 0) {
		*why = "no recipient failed or reached voicemail: nothing to retry";
		return -EALREADY;
	}
	r->finished_at = 0;
	r->finished_ms = 0;
	r->cancel_wanted = false;
	retry_checked(r, ctx, out);
	return 0;
}

static int on_trigger_req(struct run *r, const struct run_ctx *ctx, struct actions *out, const char **why)
{
	if (!ctx->spec) {
		*why = "the job no longer exists";
		return -ENOENT;
	}
	if (!ctx->spec->enabled) {
		*why = "the job is disabled (enabled = false)";
		return -EBUSY;
	}
	if (r->state == RUN_SUBMITTING || r->op != OP_NONE || r->uncertain) {
		*why = "a submission of this run is under way";
		return -EBUSY;
	}
	if (r->lookup_only) {
		*why = "its record was damaged and its recipients are unknown: it can never be submitted";
		return -EBUSY;
	}
	if (r->batch_id) {
		*why = "the run is already submitted";
		return -EALREADY;
	}
	if (!(r->state == RUN_SCHEDULED || r->state == RUN_MISSED || r->state == RUN_CANCELLED ||
	      r->state == RUN_ERROR)) {
		*why = "the run cannot be submitted in its state";
		return -EBUSY;
	}
	/* Refused rather than accepted and then skipped: a trigger that is
	 * accepted is submitted (now, or at the hours' opening with defer). */
	if (ctx->window_open_ms > ctx->now_ms && ctx->window_skip) {
		*why = "outside the calling hours, and outside_window = skip: it would not be submitted";
		return -EBUSY;
	}
	if (ctx->skip) {
		*why = ctx->skip;
		return -EBUSY;
	}
	r->cancel_wanted = false;
	r->finished_at = 0;
	r->finished_ms = 0;
	free(r->error);
	r->error = NULL;
	/* The run's time is now: a failed attempt is tried again from now
	 * on (lateness counts from the trigger), never parked until the
	 * original instant; the calling hours still apply. */
	r->state = RUN_SCHEDULED;
	r->submit_at_ms = ctx->now_ms;
	r->due_ms = ctx->now_ms;
	r->late_logged = false;
	r->failures = 0;
	emit_log(out, r, JE_SCHEDULED, SEV_NOTICE, 0, 0, "triggered by the operator: submitting now");
	consider_submit(r, ctx, out);
	if (r->op == OP_NONE && r->state == RUN_SCHEDULED)
		emit(out, ACT_PERSIST);
	return 0;
}

static int on_pause_req(struct run *r, const struct run_ctx *ctx, struct actions *out, const char **why)
{
	if (r->state == RUN_PAUSED) {
		*why = "the run is already paused";
		return -EALREADY;
	}
	if (run_state_final(r->state)) {
		*why = "the run is already finished";
		return -EALREADY;
	}
	if (r->state == RUN_SUBMITTING || r->uncertain || r->op == OP_SUBMIT || r->op == OP_LOOKUP) {
		*why = "a submission of this run is under way; try again in a moment";
		return -EBUSY;
	}
	if (r->state == RUN_RETRY_WAIT) {
		*why = "the batch has finished and waits for a retry; cancel it instead";
		return -EBUSY;
	}
	if (r->cancel_wanted) {
		*why = "a cancel is already under way";
		return -EALREADY;
	}
	if (r->state == RUN_SCHEDULED || r->state == RUN_DISABLED) {
		r->state = RUN_PAUSED;
		r->due_ms = 0;
		emit_log(out, r, JE_PAUSED, SEV_NOTICE, 0, 0, "paused before it was submitted");
		emit(out, ACT_PERSIST);
		return 0;
	}
	/* Active: stop dialling, keep who was never called for later. */
	r->cancel_wanted = true;
	r->follow = FOLLOW_PAUSE;
	emit_log(out, r, JE_PAUSED, SEV_NOTICE, 0, 0, "pausing: cancelling batch %s, keeping its recipients not yet dialled",
		 r->batch_id);
	if (r->op == OP_NONE)
		begin_cancel(r, out);
	else
		emit(out, ACT_PERSIST);
	(void)ctx;
	return 0;
}

static int on_resume_req(struct run *r, const struct run_ctx *ctx, struct actions *out, const char **why)
{
	if (r->state != RUN_PAUSED) {
		*why = "the run is not paused";
		return -EALREADY;
	}
	if (ctx->spec && !ctx->spec->enabled) {
		*why = "the job is disabled (enabled = false)";
		return -EBUSY;
	}
	r->state = RUN_SCHEDULED;
	r->late_logged = false;
	if (!run_is_follow_up(r) && ctx->spec && run_submit_at_ms(r, ctx->spec) > ctx->now_ms) {
		/* Paused before its time: back to its own instant. */
		r->due_ms = run_submit_at_ms(r, ctx->spec);
		emit_log(out, r, JE_PAUSED, SEV_NOTICE, 0, 0, "resumed: submitted at its time");
	} else {
		r->submit_at_ms = ctx->now_ms; /* lateness counts from the resume */
		r->due_ms = ctx->now_ms;
		emit_log(out, r, JE_PAUSED, SEV_NOTICE, 0, 0, "resumed: submitted now, inside the calling hours");
	}
	emit(out, ACT_PERSIST);
	return 0;
}

/* over_limit = "defer": the recipients the limits left out of a settled
 * submit (a batch exists, or nothing was sent) go to a deferred follow-up.
 * Left for a later step when this one has no room for its actions. */
static void hand_on_deferred(struct run *r, struct actions *out)
{
	if (!r->defer_over || r->follow != FOLLOW_NONE || r->n_unfinished > 0 || r->uncertain ||
	    r->op == OP_SUBMIT || r->op == OP_LOOKUP || out->n + 3 > ACTIONS_MAX)
		return;
	/* (completed without a batch: nothing was sent, everyone left out) */
	if (!r->batch_id && r->state != RUN_COMPLETED)
		return;
	r->unfinished = strv_dup(r->over_limit, r->n_over_limit);
	r->n_unfinished = r->n_over_limit;
	r->follow = FOLLOW_DEFER;
	r->defer_over = false;
	emit_log(out, r, JE_CONTACT_LIMIT, SEV_NOTICE, 0, 0,
		 "%zu recipients over the contact limits go to a deferred follow-up (over_limit = defer)",
		 r->n_unfinished);
	emit(out, ACT_PERSIST);
	emit(out, ACT_FOLLOW_UP);
}

int run_step(struct run *r, const struct run_ctx *ctx, const struct run_event *ev,
	     struct actions *out, const char **ret_why)
{
	const char *why = NULL;
	int ret = 0;

	switch (ev->kind) {
	case RE_TIME:
		on_time(r, ctx, out);
		break;
	case RE_SUBMIT_DONE:
		on_submit_done(r, ctx, ev, out);
		break;
	case RE_LOOKUP_DONE:
		on_lookup_done(r, ctx, ev, out);
		break;
	case RE_STATUS:
		on_status(r, ctx, ev, out);
		break;
	case RE_DETAIL_DONE:
		on_detail_done(r, ctx, ev, out);
		break;
	case RE_RETRY_DONE:
		on_retry_done(r, ctx, ev, out);
		break;
	case RE_CANCEL_DONE:
		on_cancel_done(r, ctx, ev, out);
		break;
	case RE_STORE_FAILED:
		/* Nothing after the persist was carried out: go back to a state
		 * that needs no intent and try again later. */
		if (ev->sent) {
			/* (a cancel, pause or removal written while a request
			 * is out): the request stands, and its answer is
			 * awaited as before; reverted, a submit or retry sent
			 * would be sent again, its batch never followed. */
		} else if (r->op == OP_SUBMIT) {
			r->op = OP_NONE;
			r->state = RUN_SCHEDULED;
			r->submit_attempts--;
		} else if (r->op == OP_RETRY) {
			r->op = OP_NONE;
			r->retry_expect = 0;
		} else if (r->op == OP_CANCEL) {
			r->op = OP_NONE;
		} else if (r->op == OP_DETAIL || r->op == OP_LOOKUP) {
			/* (a status persisted before its detail is fetched,
			 * a batch adopted that ended meanwhile): that request
			 * was never sent either. Left set, no answer would
			 * ever clear it, and a run waiting for one is neither
			 * due nor polled: in_progress for ever. on_time asks
			 * again. */
			r->op = OP_NONE;
		}
		if (r->follow == FOLLOW_DEFER && r->n_unfinished > 0) {
			/* (hand_on_deferred's [persist, follow-up]): the
			 * deferred run was not made. Its recipients are over
			 * the limits again, to be handed on at the next step;
			 * not in this one, whose actions are not carried out. */
			strv_free(r->unfinished, r->n_unfinished);
			r->unfinished = NULL;
			r->n_unfinished = 0;
			r->follow = FOLLOW_NONE;
			r->defer_over = r->n_over_limit > 0;
		}
		state_count_up(&r->failures);
		r->due_ms = ctx->now_ms + transient_delay_ms(r, ctx, -1);
		break;
	case RE_CANCEL_REQ:
		ret = on_cancel_req(r, ctx, out, &why);
		break;
	case RE_RETRY_REQ:
		ret = on_retry_req(r, ctx, out, &why);
		break;
	case RE_TRIGGER_REQ:
		ret = on_trigger_req(r, ctx, out, &why);
		break;
	case RE_REMOVED:
		ret = on_removed(r, ctx, out);
		break;
	case RE_PAUSE_REQ:
		ret = on_pause_req(r, ctx, out, &why);
		break;
	case RE_RESUME_REQ:
		ret = on_resume_req(r, ctx, out, &why);
		break;
	case RE_READDED:
		ret = on_readded(r, ctx, out);
		break;
	case RE_SUPPRESSED:
		on_suppressed(r, ctx, out);
		break;
	}
	if (ret == 0 && ev->kind != RE_STORE_FAILED)
		hand_on_deferred(r, out);
	if (ret_why)
		*ret_why = why;
	return ret;
}

void run_update_spec(struct run *r, const struct run_ctx *ctx, struct actions *out)
{
	const struct jobspec *spec = ctx->spec;
	bool unsubmitted = !run_submitted(r) && !r->cancel_wanted &&
			   (r->state == RUN_SCHEDULED || r->state == RUN_DISABLED ||
			    r->state == RUN_MISSED || r->state == RUN_ERROR);
	char local[32];

	r->on_removal = spec->on_removal;
	if (!unsubmitted) {
		if (spec->digest != r->digest) {
			emit_log(out, r, JE_CHANGED, SEV_WARNING, 0, 0,
				 "job changed after its run was submitted; batch %s is not altered and nothing new is "
				 "submitted", r->batch_id ? r->batch_id : "(being submitted)");
			r->digest = spec->digest;
			emit(out, ACT_PERSIST);
		}
		return;
	}
	/* A missed or refused run only comes back when the job changed. */
	if ((r->state == RUN_MISSED || r->state == RUN_ERROR) && spec->digest == r->digest)
		return;
	if (r->state == RUN_SCHEDULED && spec->enabled && spec->digest == r->digest)
		return;
	if (r->state == RUN_DISABLED && !spec->enabled && spec->digest == r->digest)
		return;
	run_local_start(spec, r->start, local, sizeof(local));
	if (!r->part) {
		free(r->call_name);
		r->call_name = jobspec_run_call_name(spec, local);
	}
	set_str(&r->agent_id, spec->agent_id);
	r->digest = spec->digest;
	r->submit_attempts = 0;
	r->failures = 0;
	r->late_logged = false;
	r->finished_at = 0;
	r->finished_ms = 0;
	free(r->error);
	r->error = NULL;
	r->state = spec->enabled ? RUN_SCHEDULED : RUN_DISABLED;
	r->due_ms = spec->enabled ? run_submit_at_ms(r, spec) : 0;
	emit_log(out, r, JE_SCHEDULED, SEV_INFO, 0, 0, "job changed: run %s at %s",
		 spec->enabled ? "scheduled" : "disabled", local);
	emit(out, ACT_PERSIST);
}

void run_follow_enabled(struct run *r, const struct run_ctx *ctx, struct actions *out)
{
	const struct jobspec *spec = ctx->spec;

	r->on_removal = spec->on_removal;
	if (run_submitted(r) || r->op != OP_NONE)
		return;
	if (r->state == RUN_SCHEDULED && !spec->enabled) {
		r->state = RUN_DISABLED;
		r->due_ms = 0;
		emit_log(out, r, JE_SCHEDULED, SEV_NOTICE, 0, 0, "job disabled: run '%s' is not submitted",
			 r->call_name);
		emit(out, ACT_PERSIST);
	} else if (r->state == RUN_DISABLED && spec->enabled) {
		r->state = RUN_SCHEDULED;
		r->due_ms = run_submit_at_ms(r, spec);
		emit_log(out, r, JE_SCHEDULED, SEV_NOTICE, 0, 0, "job enabled: run '%s' is submitted at its time",
			 r->call_name);
		emit(out, ACT_PERSIST);
	}
}
