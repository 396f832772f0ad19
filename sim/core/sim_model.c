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
};

struct sim_model {
	struct sim_params p;
	int64_t now_us;
	uint64_t last_key;
	struct sim_batch **v; /* ascending key, i.e. oldest first */
	size_t n, cap;
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

/* Write prefix + 28 lowercase Crockford base32 chars from (a, b, c) into
 * buf (room for strlen(prefix) + 29). */
static void sim_make_id(char *buf, const char *prefix, uint64_t a, uint64_t b, uint64_t c)
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
	free(b);
}

void sim_model_reset(struct sim_model *m)
{
	for (size_t i = 0; i < m->n; i++)
		batch_free(m->v[i]);
	m->n = 0;
}

void sim_model_free(struct sim_model *m)
{
	if (!m)
		return;
	sim_model_reset(m);
	free(m->v);
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

static void batch_advance(const struct sim_model *m, struct sim_batch *b, int64_t now)
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

int sim_model_cancel(struct sim_model *m, struct sim_batch *b)
{
	int64_t now = m->now_us;

	batch_advance(m, b, now);
	if (batch_terminal(b))
		return -EBUSY;
	for (size_t i = 0; i < b->n; i++) {
		struct sim_rcp *r = &b->r[i];
		if (r->cancelled || (r->dispatch_us >= 0 && r->end_us <= now))
			continue; /* terminal recipients keep their status */
		if (r->dispatch_us < 0)
			b->n_dispatched++;
		b->n_finished++;
		r->cancelled = 1;
		r->end_us = now;
	}
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

	if (i < m->n && m->v[i] == b) {
		memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
		m->n--;
	}
	batch_free(b);
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
		sim_make_id(v->conversation_id, "conv_", b->key ^ 0x636f6e76ULL, i, r->attempt);
	}
}
