/*
 * model: batches and their recipients in simulated time.
 *
 * Only the facts that cannot be recomputed are stored: when each recipient
 * was last dispatched (and so when its call ends), whether it was cancelled,
 * and which attempt it is on. Every intermediate status (dispatched,
 * initiated, in_progress) is derived from "now" when a view is taken, so the
 * event loop in batch_advance() only has to handle two kinds of events: a
 * batch starting and a call ending (which frees a line for the next
 * recipient). That keeps the model a pure function of (state, now).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_model.h"
#include "util.h"

struct sim_rcp {
	uint32_t id_off, phone_off, wa_off, ccd_off; /* offset + 1 into strs; 0 = null */
	int64_t dispatch_us; /* start of the current attempt's call; -1 = pending */
	int64_t end_us;      /* when that call ends, or when it was cancelled */
	int64_t reset_us;    /* when it last became pending (creation or retry) */
	uint8_t attempt;
	uint8_t outcome;     /* enum sim_rcp_status of the current attempt */
	uint8_t cancelled;
};

/* An earlier attempt of a recipient (kept when a retry starts a new one),
 * so its conversation stays in the history. */
struct sim_attempt {
	uint32_t idx;
	uint8_t attempt, outcome, cancelled;
	int64_t dispatch_us, end_us;
};

struct sim_batch {
	uint64_t key; /* creation order; also encoded at the start of id */
	char id[40];
	char *name, *agent_id, *agent_name, *phone_number_id, *whatsapp_params_json;
	char *branch_id, *environment, *timezone, *tmd_json;
	const char *phone_provider;
	int64_t created_us, start_us, scheduled_time_unix, last_updated_us;
	int64_t clock_us; /* time up to which this batch's events were handled */
	enum sim_batch_status status;
	int retry_count, ringing_timeout_secs;
	bool recording, has_tcl, agent_fails;
	int64_t tcl;
	size_t cap; /* lines this batch may hold at once */
	char *strs;
	size_t strs_len, strs_cap;
	struct sim_rcp *r;
	size_t n;
	size_t next_idx; /* no pending recipient below this index */
	size_t *heap;    /* active calls, min-heap on (end_us, index) */
	size_t heap_n;
	size_t n_dispatched, n_finished;
	struct sim_attempt *hist; /* earlier attempts, in the order they were retried */
	size_t n_hist, cap_hist;
};

struct sim_model {
	struct sim_params p;
	int64_t now_us;
	uint64_t last_key;
	struct sim_batch **v; /* ascending key, i.e. oldest first */
	size_t n, cap;
	/* deleted batches whose conversations stay in the history, ascending key */
	struct sim_batch **dead;
	size_t n_dead, cap_dead;
	bool events_on;
	struct sim_conv_event *events; /* found since the last take */
	size_t n_events, cap_events;
};

static const char b32[] = "0123456789abcdefghjkmnpqrstvwxyz";

static uint64_t mix64(uint64_t x)
{
	/* splitmix64 finaliser: cheap, well spread, deterministic */
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void put_b32(char *out, uint64_t v, int nchars)
{
	for (int i = 0; i < nchars; i++)
		out[i] = b32[(v >> (5 * (nchars - 1 - i))) & 31];
}

void sim_make_id(char *buf, const char *prefix, uint64_t a, uint64_t b, uint64_t c)
{
	size_t pl = strlen(prefix);
	uint64_t h1 = mix64(a ^ mix64(b ^ mix64(c)));
	uint64_t h2 = mix64(h1);
	uint64_t h3 = mix64(h2);

	memcpy(buf, prefix, pl);
	put_b32(buf + pl, h1, 12);
	put_b32(buf + pl + 12, h2, 12);
	put_b32(buf + pl + 24, h3, 4);
	buf[pl + 28] = '\0';
}

/* btcal_ + 13 chars of the key (so ids sort and decode to their position)
 * + 15 seeded chars (so they look like real ids). */
static void make_batch_id(char *buf, uint64_t key, uint64_t seed)
{
	uint64_t h = mix64(seed ^ key);

	memcpy(buf, "btcal_", 6);
	put_b32(buf + 6, key, 13);
	put_b32(buf + 19, h, 12);
	put_b32(buf + 31, mix64(h), 3);
	buf[34] = '\0';
}

/* Decode n base32 characters at offset off after prefix (n <= 13). */
static int decode_b32(const char *id, const char *prefix, size_t off, int n, uint64_t *ret)
{
	size_t pl = strlen(prefix);
	uint64_t v = 0;

	if (strncmp(id, prefix, pl) != 0 || strlen(id) < pl + off + (size_t)n)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		char c = id[pl + off + (size_t)i];
		const char *p = c ? memchr(b32, c, 32) : NULL;
		if (!p)
			return -EINVAL;
		if (n == 13 && i == 0 && (p - b32) > 15)
			return -EINVAL; /* more than 64 bits */
		v = (v << 5) | (uint64_t)(p - b32);
	}
	*ret = v;
	return 0;
}

/* conv_ + 13 chars of the batch key + 3 of the recipient's index + 2 of the
 * attempt (both masked with a hash of the key, so ids look random), so the
 * simulator finds a conversation without an index and ids sort by batch,
 * + 10 seeded check chars. */
static uint64_t conv_mask(uint64_t key, uint64_t seed)
{
	return mix64(seed ^ mix64(key ^ 0x6d61736bULL));
}

static void conv_id(char *buf, uint64_t key, size_t idx, uint8_t attempt, uint64_t seed)
{
	uint64_t h = mix64(seed ^ mix64(key ^ mix64(((uint64_t)idx << 8) | attempt)) ^ 0x636f6e76ULL);
	uint64_t mask = conv_mask(key, seed);

	memcpy(buf, "conv_", 5);
	put_b32(buf + 5, key, 13);
	put_b32(buf + 18, (idx ^ mask) & 0x7fff, 3);
	put_b32(buf + 21, (attempt ^ (mask >> 15)) & 0x3ff, 2);
	put_b32(buf + 23, h, 10);
	buf[33] = '\0';
}

static int decode_batch_key(const char *id, uint64_t *ret)
{
	uint64_t v = 0;

	if (strncmp(id, "btcal_", 6) != 0 || strlen(id) != 34)
		return -EINVAL;
	for (int i = 0; i < 13; i++) {
		const char *p = memchr(b32, id[6 + i], 32);
		if (!p || !id[6 + i])
			return -EINVAL;
		if (i == 0 && (p - b32) > 15)
			return -EINVAL;
		v = (v << 5) | (uint64_t)(p - b32);
	}
	*ret = v;
	return 0;
}

const char *sim_batch_status_str(enum sim_batch_status s)
{
	static const char *const names[] = {"pending", "in_progress", "completed", "failed", "cancelled"};
	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "failed";
}

const char *sim_rcp_status_str(enum sim_rcp_status s)
{
	static const char *const names[] = {"pending",   "dispatched", "initiated", "in_progress",
					    "completed", "failed",     "cancelled", "voicemail"};
	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "failed";
}

enum sim_rcp_status sim_outcome(const char *number, int attempt, bool *ret_long_talk)
{
	int digit = -1;

	*ret_long_talk = false;
	/* The last digit anywhere in the string, so "+1 415 555 0106 " and
	 * WhatsApp ids with trailing letters still follow the rule. */
	for (const char *p = number ? number : ""; *p; p++)
		if (*p >= '0' && *p <= '9')
			digit = *p - '0';
	switch (digit) {
	case 6:
		return SIM_RCP_FAILED;
	case 7:
		return SIM_RCP_VOICEMAIL;
	case 8:
		return attempt == 0 ? SIM_RCP_FAILED : SIM_RCP_COMPLETED;
	case 9:
		*ret_long_talk = true;
		return SIM_RCP_COMPLETED;
	default:
		return SIM_RCP_COMPLETED;
	}
}

void sim_params_default(struct sim_params *p, double speed, uint64_t seed)
{
	if (!(speed > 0) || !isfinite(speed))
		speed = 1;
	/* at least 1 us each, so phases keep their order at any speed */
	p->dial_us = (int64_t)fmax(1, llround(1e6 / speed));
	p->ring_us = (int64_t)fmax(1, llround(2e6 / speed));
	p->talk_us = (int64_t)fmax(1, llround(5e6 / speed));
	p->processing_us = (int64_t)fmax(1, llround(3e6 / speed));
	p->speed = speed;
	p->fail_after_us = p->dial_us;
	p->default_cap = 10;
	p->seed = seed;
}

struct sim_model *sim_model_new(const struct sim_params *p)
{
	struct sim_model *m = xcalloc(1, sizeof(*m));

	m->p = *p;
	if (m->p.default_cap < 1)
		m->p.default_cap = 1;
	if (m->p.processing_us < 0)
		m->p.processing_us = 0;
	if (!(m->p.speed > 0) || !isfinite(m->p.speed))
		m->p.speed = 1;
	return m;
}

static void batch_free(struct sim_batch *b)
{
	if (!b)
		return;
	free(b->name);
	free(b->agent_id);
	free(b->agent_name);
	free(b->phone_number_id);
	free(b->whatsapp_params_json);
	free(b->branch_id);
	free(b->environment);
	free(b->timezone);
	free(b->tmd_json);
	free(b->strs);
	free(b->r);
	free(b->heap);
	free(b->hist);
	free(b);
}

void sim_model_reset(struct sim_model *m)
{
	for (size_t i = 0; i < m->n; i++)
		batch_free(m->v[i]);
	m->n = 0;
	for (size_t i = 0; i < m->n_dead; i++)
		batch_free(m->dead[i]);
	m->n_dead = 0;
	m->n_events = 0;
}

void sim_model_free(struct sim_model *m)
{
	if (!m)
		return;
	sim_model_reset(m);
	free(m->v);
	free(m->dead);
	free(m->events);
	free(m);
}

int64_t sim_model_now(const struct sim_model *m)
{
	return m->now_us;
}

/* --- the per-batch event loop ------------------------------------------- */

static bool heap_less(const struct sim_batch *b, size_t x, size_t y)
{
	if (b->r[x].end_us != b->r[y].end_us)
		return b->r[x].end_us < b->r[y].end_us;
	return x < y;
}

static void heap_push(struct sim_batch *b, size_t idx)
{
	size_t i = b->heap_n++;

	b->heap[i] = idx;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!heap_less(b, b->heap[i], b->heap[parent]))
			break;
		size_t t = b->heap[i];
		b->heap[i] = b->heap[parent];
		b->heap[parent] = t;
		i = parent;
	}
}

static void heap_pop(struct sim_batch *b)
{
	size_t i = 0;

	b->heap[0] = b->heap[--b->heap_n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, best = i;
		if (l < b->heap_n && heap_less(b, b->heap[l], b->heap[best]))
			best = l;
		if (r < b->heap_n && heap_less(b, b->heap[r], b->heap[best]))
			best = r;
		if (best == i)
			break;
		size_t t = b->heap[i];
		b->heap[i] = b->heap[best];
		b->heap[best] = t;
		i = best;
	}
}

static const char *rstr(const struct sim_batch *b, uint32_t off)
{
	return off ? b->strs + off - 1 : NULL;
}

static void add_event(struct sim_model *m, const struct sim_batch *b, size_t i, enum sim_conv_event_kind kind,
		      int64_t due)
{
	struct sim_conv_event *e;

	if (!m->events_on)
		return;
	xgrow((void **)&m->events, &m->cap_events, m->n_events + 1, sizeof(*m->events));
	e = &m->events[m->n_events++];
	memset(e, 0, sizeof(*e));
	e->conv.batch_key = b->key;
	e->conv.idx = (uint32_t)i;
	e->conv.attempt = b->r[i].attempt;
	e->kind = kind;
	e->due_us = due;
}

/* A call of recipient i ended at e on its own: the conversation either
 * failed (nobody answered) or goes to processing, then done. */
static void call_ended(struct sim_model *m, const struct sim_batch *b, size_t i, int64_t e)
{
	if (b->r[i].outcome == SIM_RCP_FAILED)
		add_event(m, b, i, SIM_EV_FAILURE, e);
	else
		add_event(m, b, i, SIM_EV_TRANSCRIPT, e + m->p.processing_us);
}

static void dispatch(const struct sim_model *m, struct sim_batch *b, size_t i, int64_t t)
{
	struct sim_rcp *r = &b->r[i];
	const char *number = rstr(b, r->phone_off);
	bool long_talk;
	int64_t dur;

	if (!number)
		number = rstr(b, r->wa_off);
	r->outcome = (uint8_t)sim_outcome(number, r->attempt, &long_talk);
	dur = m->p.dial_us + m->p.ring_us;
	if (r->outcome != SIM_RCP_FAILED)
		dur += m->p.talk_us * (long_talk ? 3 : 1);
	r->dispatch_us = t;
	r->end_us = t + dur;
	heap_push(b, i);
	b->n_dispatched++;
	if (t > b->last_updated_us)
		b->last_updated_us = t;
}

static void fill_lines(const struct sim_model *m, struct sim_batch *b)
{
	while (b->heap_n < b->cap && b->next_idx < b->n) {
		struct sim_rcp *r = &b->r[b->next_idx];
		if (r->dispatch_us < 0 && !r->cancelled)
			dispatch(m, b, b->next_idx, b->clock_us);
		b->next_idx++;
	}
}

static void batch_advance(struct sim_model *m, struct sim_batch *b, int64_t now)
{
	for (;;) {
		switch (b->status) {
		case SIM_BATCH_PENDING:
			if (now < b->start_us)
				return;
			b->status = SIM_BATCH_IN_PROGRESS;
			b->clock_us = b->start_us;
			if (b->start_us > b->last_updated_us)
				b->last_updated_us = b->start_us;
			break;
		case SIM_BATCH_IN_PROGRESS:
			if (b->agent_fails) {
				/* batch-level failure (invalid agent): nobody is dialled */
				int64_t t = b->start_us + m->p.fail_after_us;
				if (now < t)
					return;
				b->status = SIM_BATCH_FAILED;
				b->last_updated_us = t;
				return;
			}
			fill_lines(m, b);
			if (b->heap_n == 0) {
				b->status = SIM_BATCH_COMPLETED;
				if (b->clock_us > b->last_updated_us)
					b->last_updated_us = b->clock_us;
				return;
			}
			{
				int64_t e = b->r[b->heap[0]].end_us;
				if (e > now)
					return;
				call_ended(m, b, b->heap[0], e);
				heap_pop(b);
				b->n_finished++;
				b->clock_us = e;
				if (e > b->last_updated_us)
					b->last_updated_us = e;
			}
			break;
		default:
			return;
		}
	}
}

void sim_model_advance(struct sim_model *m, int64_t now_us)
{
	if (now_us > m->now_us)
		m->now_us = now_us;
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i]->status <= SIM_BATCH_IN_PROGRESS)
			batch_advance(m, m->v[i], m->now_us);
}

/* --- submissions -------------------------------------------------------- */

static uint32_t arena_add(struct sim_batch *b, const char *s)
{
	size_t len;
	uint32_t off;

	if (!s)
		return 0;
	len = strlen(s) + 1;
	xgrow((void **)&b->strs, &b->strs_cap, b->strs_len + len, 1);
	memcpy(b->strs + b->strs_len, s, len);
	off = (uint32_t)(b->strs_len + 1);
	b->strs_len += len;
	return off;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static char *agent_name_for(const char *agent_id)
{
	static const char *const names[] = {"Renewals", "Reminders", "Support", "Sales",
					    "Surveys",  "Billing",   "Onboarding", "Follow-up"};
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (const char *p = agent_id; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return xasprintf("%s Agent", names[h % ARRAY_SIZE(names)]);
}

static const char *provider_for(const char *phone_number_id)
{
	if (!phone_number_id)
		return NULL;
	if (strstr(phone_number_id, "sip"))
		return "sip_trunk";
	if (strstr(phone_number_id, "exotel"))
		return "exotel";
	return "twilio";
}

struct sim_batch *sim_model_submit(struct sim_model *m, const struct sim_submit *s)
{
	struct sim_batch *b = xcalloc(1, sizeof(*b));
	int64_t now = m->now_us;
	uint64_t key = (uint64_t)(now > 0 ? now : 0);

	/* monotonic, so creation order == key order even within one microsecond */
	if (key <= m->last_key)
		key = m->last_key + 1;
	m->last_key = key;
	b->key = key;
	make_batch_id(b->id, key, m->p.seed);
	b->name = xstrdup(s->call_name);
	b->agent_id = xstrdup(s->agent_id);
	b->agent_name = agent_name_for(s->agent_id);
	b->agent_fails = strstr(s->agent_id, "fail") != NULL;
	b->phone_number_id = dup_or_null(s->agent_phone_number_id);
	b->phone_provider = provider_for(s->agent_phone_number_id);
	b->whatsapp_params_json = dup_or_null(s->whatsapp_params_json);
	b->branch_id = dup_or_null(s->branch_id);
	b->environment = dup_or_null(s->environment);
	b->timezone = dup_or_null(s->timezone);
	b->tmd_json = dup_or_null(s->twilio_machine_detection_json);
	b->ringing_timeout_secs = s->ringing_timeout_secs;
	b->recording = s->twilio_call_recording_enabled;
	b->has_tcl = s->has_target_concurrency_limit;
	b->tcl = s->target_concurrency_limit;
	b->created_us = now;
	b->last_updated_us = now;
	/* an unscheduled batch starts on the next instant, so the submit
	 * answer itself is always "pending", as on the real server */
	b->start_us = now + 1;
	b->scheduled_time_unix = now / 1000000;
	if (s->has_scheduled_time) {
		/* a past time starts now; the requested value is still echoed */
		b->scheduled_time_unix = s->scheduled_time_unix;
		if (s->scheduled_time_unix > INT64_MAX / 2000000)
			b->start_us = INT64_MAX / 2;
		else if (s->scheduled_time_unix * 1000000 > now + 1)
			b->start_us = s->scheduled_time_unix * 1000000;
	}
	b->status = SIM_BATCH_PENDING;
	b->n = s->n_recipients;
	b->r = xcalloc(b->n ? b->n : 1, sizeof(*b->r));
	for (size_t i = 0; i < b->n; i++) {
		const struct sim_recipient_in *in = &s->recipients[i];
		struct sim_rcp *r = &b->r[i];
		r->id_off = arena_add(b, in->id);
		r->phone_off = arena_add(b, in->phone_number);
		r->wa_off = arena_add(b, in->whatsapp_user_id);
		r->ccd_off = arena_add(b, in->ccd_json);
		r->dispatch_us = -1;
		r->reset_us = now;
	}
	b->cap = b->has_tcl ? (b->tcl > 0 ? (size_t)b->tcl : 1) : (size_t)m->p.default_cap;
	if (b->cap > b->n)
		b->cap = b->n ? b->n : 1;
	b->heap = xcalloc(b->cap, sizeof(*b->heap));

	xgrow((void **)&m->v, &m->cap, m->n + 1, sizeof(*m->v));
	m->v[m->n++] = b;
	batch_advance(m, b, now);
	return b;
}

/* Index of the first batch whose key is >= key. */
static size_t lower_bound(const struct sim_model *m, uint64_t key)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid]->key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct sim_batch *sim_model_find(struct sim_model *m, const char *id)
{
	uint64_t key;
	size_t i;

	if (!id || decode_batch_key(id, &key) < 0)
		return NULL;
	i = lower_bound(m, key);
	if (i < m->n && m->v[i]->key == key && strcmp(m->v[i]->id, id) == 0)
		return m->v[i];
	return NULL;
}

/* --- operations --------------------------------------------------------- */

static bool batch_terminal(const struct sim_batch *b)
{
	return b->status >= SIM_BATCH_COMPLETED;
}

/* Cancel every recipient that is not terminal at now (calls in flight are
 * hung up: an answered one goes to processing, one still ringing fails). */
static void cancel_all(struct sim_model *m, struct sim_batch *b, int64_t now)
{
	for (size_t i = 0; i < b->n; i++) {
		struct sim_rcp *r = &b->r[i];
		if (r->cancelled || (r->dispatch_us >= 0 && r->end_us <= now))
			continue; /* terminal recipients keep their status */
		if (r->dispatch_us < 0)
			b->n_dispatched++;
		else if (r->outcome != SIM_RCP_FAILED && now >= r->dispatch_us + m->p.dial_us + m->p.ring_us)
			add_event(m, b, i, SIM_EV_TRANSCRIPT, now + m->p.processing_us);
		b->n_finished++;
		r->cancelled = 1;
		r->end_us = now;
	}
}

int sim_model_cancel(struct sim_model *m, struct sim_batch *b)
{
	int64_t now = m->now_us;

	batch_advance(m, b, now);
	if (batch_terminal(b))
		return -EBUSY;
	cancel_all(m, b, now);
	b->heap_n = 0;
	b->next_idx = b->n;
	b->status = SIM_BATCH_CANCELLED;
	b->last_updated_us = now;
	return 0;
}

int sim_model_retry(struct sim_model *m, struct sim_batch *b)
{
	int64_t now = m->now_us;
	size_t again = 0;

	batch_advance(m, b, now);
	if (b->status != SIM_BATCH_COMPLETED && b->status != SIM_BATCH_FAILED)
		return -EBUSY;
	for (size_t i = 0; i < b->n; i++) {
		const struct sim_rcp *r = &b->r[i];
		if (!r->cancelled && r->dispatch_us >= 0 &&
		    (r->outcome == SIM_RCP_FAILED || r->outcome == SIM_RCP_VOICEMAIL))
			again++;
	}
	if (again == 0)
		return -ENOENT;
	for (size_t i = 0; i < b->n; i++) {
		struct sim_rcp *r = &b->r[i];
		if (r->cancelled || r->dispatch_us < 0 ||
		    (r->outcome != SIM_RCP_FAILED && r->outcome != SIM_RCP_VOICEMAIL))
			continue;
		/* the ended attempt's conversation stays in the history */
		xgrow((void **)&b->hist, &b->cap_hist, b->n_hist + 1, sizeof(*b->hist));
		b->hist[b->n_hist++] = (struct sim_attempt){.idx = (uint32_t)i, .attempt = r->attempt,
							    .outcome = r->outcome, .dispatch_us = r->dispatch_us,
							    .end_us = r->end_us};
		r->dispatch_us = -1;
		r->reset_us = now;
		if (r->attempt < UINT8_MAX)
			r->attempt++;
		b->n_dispatched--;
		b->n_finished--;
	}
	b->retry_count++;
	b->status = SIM_BATCH_IN_PROGRESS;
	b->agent_fails = false; /* unreachable: a failed agent leaves nothing to retry */
	b->clock_us = now;
	b->next_idx = 0;
	b->last_updated_us = now;
	batch_advance(m, b, now);
	return 0;
}

void sim_model_delete(struct sim_model *m, struct sim_batch *b)
{
	size_t i = lower_bound(m, b->key);
	bool dialled = b->n_hist > 0;

	if (i < m->n && m->v[i] == b) {
		memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
		m->n--;
	}
	/* a running batch just stops: its calls are hung up as by a cancel */
	batch_advance(m, b, m->now_us);
	if (!batch_terminal(b))
		cancel_all(m, b, m->now_us);
	for (size_t k = 0; k < b->n && !dialled; k++)
		dialled = b->r[k].dispatch_us >= 0;
	if (!dialled) {
		batch_free(b);
		return;
	}
	/* its conversations stay in the conversation history (API document
	 * §4.6): keep the batch out of sight, in key order */
	if (!batch_terminal(b)) {
		b->status = SIM_BATCH_CANCELLED;
		b->last_updated_us = m->now_us;
	}
	b->heap_n = 0;
	b->next_idx = b->n;
	xgrow((void **)&m->dead, &m->cap_dead, m->n_dead + 1, sizeof(*m->dead));
	i = m->n_dead;
	while (i > 0 && m->dead[i - 1]->key > b->key) {
		m->dead[i] = m->dead[i - 1];
		i--;
	}
	m->dead[i] = b;
	m->n_dead++;
}

size_t sim_model_list(struct sim_model *m, const char *agent_id, const char *last_doc,
		      size_t limit, struct sim_batch **ret, bool *ret_has_more)
{
	size_t start = m->n, got = 0;

	*ret_has_more = false;
	if (last_doc) {
		uint64_t key;
		/* the cursor is a position, so it still works after that batch
		 * was deleted; an undecodable cursor points past the end */
		if (decode_batch_key(last_doc, &key) < 0)
			return 0;
		start = lower_bound(m, key);
	}
	for (size_t i = start; i-- > 0;) {
		struct sim_batch *b = m->v[i];
		if (agent_id && strcmp(b->agent_id, agent_id) != 0)
			continue;
		if (got == limit) {
			*ret_has_more = true;
			break;
		}
		ret[got++] = b;
	}
	return got;
}

/* --- views -------------------------------------------------------------- */

void sim_batch_view(const struct sim_model *m, const struct sim_batch *b, struct sim_batch_view *v)
{
	int64_t now = m->now_us;

	memset(v, 0, sizeof(*v));
	v->id = b->id;
	v->name = b->name;
	v->agent_id = b->agent_id;
	v->agent_name = b->agent_name;
	v->phone_number_id = b->phone_number_id;
	v->phone_provider = b->phone_provider;
	v->whatsapp_params_json = b->whatsapp_params_json;
	v->branch_id = b->branch_id;
	v->branch_name = b->branch_id; /* the simulator names a branch by its id */
	v->environment = b->environment;
	v->timezone = b->timezone;
	v->twilio_machine_detection_json = b->tmd_json;
	v->created_us = b->created_us;
	v->scheduled_time_unix = b->scheduled_time_unix;
	v->last_updated_us = b->last_updated_us;
	/* calls in flight change status without an event of their own */
	for (size_t k = 0; k < b->heap_n; k++) {
		const struct sim_rcp *r = &b->r[b->heap[k]];
		int64_t t1 = r->dispatch_us + m->p.dial_us, t2 = t1 + m->p.ring_us;
		if (t2 <= now && r->outcome != SIM_RCP_FAILED && t2 > v->last_updated_us)
			v->last_updated_us = t2;
		else if (t1 <= now && t1 > v->last_updated_us)
			v->last_updated_us = t1;
	}
	v->total_scheduled = b->n;
	v->total_dispatched = b->n_dispatched;
	v->total_finished = b->n_finished;
	v->status = b->status;
	v->retry_count = b->retry_count;
	v->ringing_timeout_secs = b->ringing_timeout_secs;
	v->twilio_call_recording_enabled = b->recording;
	v->has_target_concurrency_limit = b->has_tcl;
	v->target_concurrency_limit = b->tcl;
	v->n_recipients = b->n;
}

void sim_recipient_view(const struct sim_model *m, const struct sim_batch *b, size_t i,
			struct sim_rcp_view *v)
{
	const struct sim_rcp *r = &b->r[i];
	int64_t now = m->now_us, t1, t2, seen;

	memset(v, 0, sizeof(*v));
	v->id = rstr(b, r->id_off);
	if (!v->id) {
		/* not stored: a generated id is a function of (batch, index) */
		sim_make_id(v->id_buf, "btcrcp_", b->key, i, m->p.seed);
		v->id = v->id_buf;
	}
	v->phone_number = rstr(b, r->phone_off);
	v->whatsapp_user_id = rstr(b, r->wa_off);
	v->ccd_json = rstr(b, r->ccd_off);
	v->created_us = b->created_us;
	if (r->dispatch_us < 0 && !r->cancelled) {
		v->status = SIM_RCP_PENDING;
		v->updated_us = r->reset_us;
		return;
	}
	t1 = r->dispatch_us + m->p.dial_us;
	t2 = t1 + m->p.ring_us;
	seen = now;
	if (r->cancelled) {
		v->status = SIM_RCP_CANCELLED;
		v->updated_us = r->end_us;
		seen = r->end_us;
	} else if (now >= r->end_us) {
		v->status = (enum sim_rcp_status)r->outcome;
		v->updated_us = r->end_us;
	} else if (now < t1) {
		v->status = SIM_RCP_DISPATCHED;
		v->updated_us = r->dispatch_us;
	} else if (now < t2) {
		v->status = SIM_RCP_INITIATED;
		v->updated_us = t1;
	} else {
		v->status = SIM_RCP_IN_PROGRESS;
		v->updated_us = t2;
	}
	/* a conversation exists once the call was placed */
	if (r->dispatch_us >= 0 && seen >= t1) {
		v->has_conversation = true;
		conv_id(v->conversation_id, b->key, i, r->attempt, m->p.seed);
	}
}

/* --- conversations ------------------------------------------------------ */

const char *sim_conv_status_str(enum sim_conv_status s)
{
	static const char *const names[] = {"initiated", "in-progress", "processing", "done", "failed"};
	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "failed";
}

const char *sim_call_result_str(enum sim_call_result r)
{
	static const char *const names[] = {"answered", "voicemail", "busy", "no_answer", "failed"};
	return (unsigned)r < ARRAY_SIZE(names) ? names[r] : "failed";
}

enum sim_call_result sim_failure_kind(const char *number, int attempt)
{
	int digit = -1;

	/* digit 8 is busy on its first call; every other failure (digit 6)
	 * rang out */
	for (const char *p = number ? number : ""; *p; p++)
		if (*p >= '0' && *p <= '9')
			digit = *p - '0';
	return digit == 8 && attempt == 0 ? SIM_CALL_BUSY : SIM_CALL_NO_ANSWER;
}

/* The facts of one attempt: the current one of the recipient, or one kept
 * when a retry started another. */
struct facts {
	int64_t dispatch_us, end_us;
	uint8_t outcome, cancelled;
};

static bool attempt_facts(const struct sim_batch *b, uint32_t idx, uint8_t attempt, struct facts *f)
{
	const struct sim_rcp *r;

	if (idx >= b->n)
		return false;
	r = &b->r[idx];
	if (attempt == r->attempt) {
		if (r->dispatch_us < 0)
			return false;
		*f = (struct facts){r->dispatch_us, r->end_us, r->outcome, r->cancelled};
		return true;
	}
	for (size_t k = 0; k < b->n_hist; k++)
		if (b->hist[k].idx == idx && b->hist[k].attempt == attempt) {
			const struct sim_attempt *h = &b->hist[k];
			*f = (struct facts){h->dispatch_us, h->end_us, h->outcome, h->cancelled};
			return true;
		}
	return false;
}

static bool facts_exist(const struct sim_model *m, const struct facts *f)
{
	int64_t t1 = f->dispatch_us + m->p.dial_us;

	/* placed, and not cancelled before it was */
	return m->now_us >= t1 && (!f->cancelled || f->end_us >= t1);
}

static const struct sim_batch *batch_by_key(const struct sim_model *m, uint64_t key)
{
	size_t i = lower_bound(m, key), lo = 0, hi = m->n_dead;

	if (i < m->n && m->v[i]->key == key)
		return m->v[i];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->dead[mid]->key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->n_dead && m->dead[lo]->key == key ? m->dead[lo] : NULL;
}

bool sim_model_conv_exists(const struct sim_model *m, const struct sim_conv_ref *ref)
{
	const struct sim_batch *b = batch_by_key(m, ref->batch_key);
	struct facts f;

	return b && attempt_facts(b, ref->idx, ref->attempt, &f) && facts_exist(m, &f);
}

bool sim_model_find_conv(const struct sim_model *m, const char *id, struct sim_conv_ref *ret)
{
	uint64_t key, idx, attempt;
	char again[40];

	if (!id || decode_b32(id, "conv_", 0, 13, &key) < 0 || strlen(id) != 33 ||
	    decode_b32(id, "conv_", 13, 3, &idx) < 0 || decode_b32(id, "conv_", 16, 2, &attempt) < 0)
		return false;
	idx = (idx ^ conv_mask(key, m->p.seed)) & 0x7fff;
	attempt = (attempt ^ (conv_mask(key, m->p.seed) >> 15)) & 0x3ff;
	if (attempt > UINT8_MAX)
		return false;
	/* the last 10 characters are a seeded check: a made-up id is unknown */
	conv_id(again, key, (size_t)idx, (uint8_t)attempt, m->p.seed);
	if (strcmp(again, id) != 0)
		return false;
	ret->batch_key = key;
	ret->idx = (uint32_t)idx;
	ret->attempt = (uint8_t)attempt;
	return sim_model_conv_exists(m, ret);
}

void sim_conv_view(const struct sim_model *m, const struct sim_conv_ref *ref, struct sim_conv_view *v)
{
	const struct sim_batch *b = batch_by_key(m, ref->batch_key);
	const struct sim_rcp *r;
	struct facts f = {0};
	int64_t now = m->now_us, t1, t2, talk_end;
	const char *number;

	memset(v, 0, sizeof(*v));
	v->accepted_us = v->end_us = v->done_us = -1;
	if (!b || !attempt_facts(b, ref->idx, ref->attempt, &f))
		return; /* the caller checked it exists */
	r = &b->r[ref->idx];
	conv_id(v->conversation_id, b->key, ref->idx, ref->attempt, m->p.seed);
	v->attempt = ref->attempt;
	v->batch_id = b->id;
	v->agent_id = b->agent_id;
	v->agent_name = b->agent_name;
	v->branch_id = b->branch_id;
	v->environment = b->environment;
	v->timezone = b->timezone;
	v->phone_number_id = b->phone_number_id;
	v->phone_provider = b->phone_provider;
	v->whatsapp_params_json = b->whatsapp_params_json;
	v->recipient_id = rstr(b, r->id_off);
	if (!v->recipient_id) {
		sim_make_id(v->rcp_id_buf, "btcrcp_", b->key, ref->idx, m->p.seed);
		v->recipient_id = v->rcp_id_buf;
	}
	v->phone_number = rstr(b, r->phone_off);
	v->whatsapp_user_id = rstr(b, r->wa_off);
	v->ccd_json = rstr(b, r->ccd_off);
	number = v->phone_number ? v->phone_number : v->whatsapp_user_id;
	(void)sim_outcome(number, ref->attempt, &v->long_talk);

	t1 = f.dispatch_us + m->p.dial_us;
	t2 = t1 + m->p.ring_us;
	v->start_us = t1;
	v->cancelled = f.cancelled;
	/* when the call ends (or ended): its planned end, or the cancel */
	talk_end = f.end_us;
	if (f.outcome == SIM_RCP_FAILED || (f.cancelled && f.end_us < t2)) {
		/* never answered: ringing until it failed or was cancelled */
		int64_t fail_at = f.cancelled ? f.end_us : t2;
		if (now < fail_at) {
			v->status = SIM_CONV_INITIATED;
			return;
		}
		v->status = SIM_CONV_FAILED;
		v->ended = true;
		v->end_us = fail_at;
		v->call_result = f.cancelled ? SIM_CALL_FAILED : sim_failure_kind(number, ref->attempt);
		return;
	}
	if (now < t2) {
		v->status = SIM_CONV_INITIATED;
		return;
	}
	v->answered = true;
	v->accepted_us = t2;
	v->call_result = f.outcome == SIM_RCP_VOICEMAIL ? SIM_CALL_VOICEMAIL : SIM_CALL_ANSWERED;
	if (now < talk_end) {
		v->status = SIM_CONV_IN_PROGRESS;
		talk_end = now;
	} else {
		v->ended = true;
		v->end_us = talk_end;
		if (now < talk_end + m->p.processing_us) {
			v->status = SIM_CONV_PROCESSING;
		} else {
			v->status = SIM_CONV_DONE;
			v->done_us = talk_end + m->p.processing_us;
		}
	}
	/* nominal seconds: the simulated talk time times --speed */
	v->talk_elapsed_secs = (double)(talk_end - t2) / 1e6 * m->p.speed;
	if (!v->cancelled && v->ended) {
		/* exactly the documented talk time, free of rounding */
		v->talk_elapsed_secs = v->long_talk ? 15 : 5;
	}
	v->duration_secs = (int64_t)floor(v->talk_elapsed_secs + 1e-9);
}

static void add_ref(struct sim_conv_ref **v, size_t *n, size_t *cap, const struct sim_batch *b, size_t idx,
		    uint8_t attempt)
{
	xgrow((void **)v, cap, *n + 1, sizeof(**v));
	(*v)[(*n)++] = (struct sim_conv_ref){.batch_key = b->key, .idx = (uint32_t)idx, .attempt = attempt};
}

static void batch_convs(const struct sim_model *m, const struct sim_batch *b, struct sim_conv_ref **v, size_t *n,
			size_t *cap)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct sim_rcp *r = &b->r[i];
		struct facts f = {r->dispatch_us, r->end_us, r->outcome, r->cancelled};
		if (r->dispatch_us >= 0 && facts_exist(m, &f))
			add_ref(v, n, cap, b, i, r->attempt);
	}
	for (size_t k = 0; k < b->n_hist; k++) {
		const struct sim_attempt *h = &b->hist[k];
		struct facts f = {h->dispatch_us, h->end_us, h->outcome, h->cancelled};
		if (facts_exist(m, &f))
			add_ref(v, n, cap, b, h->idx, h->attempt);
	}
}

size_t sim_model_convs(const struct sim_model *m, struct sim_conv_ref **ret)
{
	size_t n = 0, cap = 0;

	*ret = NULL;
	for (size_t i = 0; i < m->n; i++)
		batch_convs(m, m->v[i], ret, &n, &cap);
	for (size_t i = 0; i < m->n_dead; i++)
		batch_convs(m, m->dead[i], ret, &n, &cap);
	return n;
}

void sim_model_set_events(struct sim_model *m, bool on)
{
	m->events_on = on;
	if (!on)
		m->n_events = 0;
}

size_t sim_model_take_events(struct sim_model *m, struct sim_conv_event **ret)
{
	size_t n = m->n_events;

	*ret = n ? m->events : NULL;
	if (n) {
		m->events = NULL;
		m->n_events = m->cap_events = 0;
	}
	return n;
}

int64_t sim_model_next_change(const struct sim_model *m)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < m->n; i++) {
		const struct sim_batch *b = m->v[i];
		int64_t t = INT64_MAX;
		if (b->status == SIM_BATCH_PENDING)
			t = b->start_us;
		else if (b->status == SIM_BATCH_IN_PROGRESS && b->agent_fails)
			t = b->start_us + m->p.fail_after_us;
		else if (b->status == SIM_BATCH_IN_PROGRESS && b->heap_n > 0)
			t = b->r[b->heap[0]].end_us;
		else if (b->status == SIM_BATCH_IN_PROGRESS)
			t = m->now_us; /* not advanced yet */
		if (t < next)
			next = t;
	}
	return next;
}

bool sim_model_batch_ended(const struct sim_model *m, uint64_t batch_key, int64_t *ret_end_us)
{
	const struct sim_batch *b = batch_by_key(m, batch_key);

	if (!b) {
		/* forgotten (a reset): nothing to wait for */
		*ret_end_us = m->now_us;
		return true;
	}
	if (!batch_terminal(b))
		return false;
	*ret_end_us = b->last_updated_us;
	return true;
}
