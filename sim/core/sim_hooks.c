/*
 * hooks: post-call webhooks as a pure state machine.
 *
 * The model reports when a conversation becomes done (or failed) and the
 * instant it did (simulated time). Each report becomes one or two events
 * in a queue ordered by (due time, batch, recipient, attempt, type), and
 * the server takes them one at a time: one delivery in flight, so the
 * receiver sees them in the order of the log and a run replays given
 * --seed. A transcription that gets no answer, a 5xx, 429 or 408 is tried
 * again on the documented schedule; faults picked from /_sim/webhook-faults
 * when an event first falls due change how it is sent.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sim_conv.h"
#include "sim_hooks.h"
#include "util.h"

enum hook_type { HT_TRANSCRIPTION, HT_AUDIO, HT_FAILURE };

static const char *const type_names[] = {"post_call_transcription", "post_call_audio", "call_initiation_failure"};

enum hook_fault_kind { HF_NONE, HF_DUPLICATE, HF_OUT_OF_ORDER, HF_LATE, HF_BAD_SIGNATURE, HF_STALE, HF_DROP };

static const char *const fault_names[] = {"none",          "duplicate",       "out_of_order", "late",
					  "bad_signature", "stale_timestamp", "drop"};

struct hook_fault {
	int64_t id;
	enum hook_fault_kind kind;
	int type; /* enum hook_type, or -1 for every event */
	char conv[40];
	int64_t delay_us;
	int64_t count, remaining; /* -1 = forever */
	double probability;
	int64_t hits;
};

enum ev_state { EV_QUEUED, EV_HELD_LATE, EV_HELD_ORDER };

struct hook_ev {
	uint64_t seq;
	struct sim_conv_ref conv;
	enum hook_type type;
	int64_t due_us;     /* when it may be sent (simulated) */
	int64_t event_ts;   /* event_timestamp: its first send, unix seconds */
	int64_t hold_until; /* out_of_order: sent at the latest then */
	int attempt;        /* attempts made so far */
	bool decided;       /* its fault was picked */
	bool duplicate;     /* the copy a duplicate fault sends */
	enum hook_fault_kind fault;
	int64_t delay_us;
	enum ev_state state;
	char conv_id[40], batch_id[40];
	char *body;
	size_t body_len;
	char sig[SIM_SIG_HEADER_MAX];
};

struct hook_log {
	uint64_t seq;
	int64_t time_us, sim_time_us, answered_us;
	enum hook_type type;
	char conv_id[40], batch_id[40];
	int attempt;
	bool duplicate;
	enum hook_fault_kind fault;
	int64_t event_ts;
	char sig[SIM_SIG_HEADER_MAX];
	int status; /* -1: none (yet) */
	char *error;
	size_t body_len;
};

struct sim_hooks {
	struct sim_model *m;
	uint64_t rng;
	double speed;
	char *url, *secret;
	unsigned events;
	bool retry;
	struct hook_ev **heap; /* queued, min-heap on the order above */
	size_t n_heap, cap_heap;
	struct hook_ev **held; /* late and out_of_order events waiting */
	size_t n_held, cap_held;
	struct hook_ev *flight;
	uint64_t flight_id, flight_log;
	uint64_t next_seq, next_id;
	struct hook_fault *faults;
	size_t n_faults, cap_faults;
	int64_t next_fault_id;
	struct hook_log *log;
	size_t n_log, cap_log;
	uint64_t next_log_seq;
};

void sim_delivery_clear(struct sim_delivery *d)
{
	if (!d)
		return;
	free(d->url);
	free(d->body);
	d->url = d->body = NULL;
}

static uint64_t rng_next(struct sim_hooks *h)
{
	uint64_t z = (h->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double rng_unit(struct sim_hooks *h)
{
	return (double)(rng_next(h) >> 11) / 9007199254740992.0;
}

struct sim_hooks *sim_hooks_new(struct sim_model *m, uint64_t seed, double speed)
{
	struct sim_hooks *h = xcalloc(1, sizeof(*h));

	h->m = m;
	/* its own stream: API requests do not shift webhook draws */
	h->rng = seed ^ 0x686f6f6b73ULL;
	h->speed = speed > 0 && isfinite(speed) ? speed : 1;
	h->events = SIM_HOOK_DEFAULT_EVENTS;
	h->retry = true;
	h->next_fault_id = 1;
	h->next_log_seq = 1;
	return h;
}

static void ev_free(struct hook_ev *e)
{
	if (!e)
		return;
	free(e->body);
	free(e);
}

static void drop_queue(struct sim_hooks *h)
{
	for (size_t i = 0; i < h->n_heap; i++)
		ev_free(h->heap[i]);
	h->n_heap = 0;
	for (size_t i = 0; i < h->n_held; i++)
		ev_free(h->held[i]);
	h->n_held = 0;
}

static void log_clear(struct sim_hooks *h)
{
	for (size_t i = 0; i < h->n_log; i++)
		free(h->log[i].error);
	h->n_log = 0;
}

void sim_hooks_reset(struct sim_hooks *h)
{
	drop_queue(h);
	/* an answer still on its way is ignored: its id is not in flight */
	ev_free(h->flight);
	h->flight = NULL;
	h->n_faults = 0;
	log_clear(h);
}

void sim_hooks_free(struct sim_hooks *h)
{
	if (!h)
		return;
	sim_hooks_reset(h);
	free(h->heap);
	free(h->held);
	free(h->faults);
	free(h->log);
	free(h->url);
	free(h->secret);
	free(h);
}

unsigned sim_hooks_parse_events(const char *list)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {{"transcript", SIM_HOOK_TRANSCRIPT},
		     {"audio", SIM_HOOK_AUDIO},
		     {"call_initiation_failure", SIM_HOOK_FAILURE}};
	unsigned mask = 0;
	char *copy = xstrdup(list ? list : ""), *save = NULL;

	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		unsigned bit = 0;
		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			if (strcmp(w, names[i].name) == 0)
				bit = names[i].bit;
		if (!bit) {
			mask = 0;
			break;
		}
		mask |= bit;
	}
	free(copy);
	return mask;
}

const char *sim_hooks_check_url(const char *url)
{
	const char *host;
	size_t hl;

	if (!url || strncmp(url, "http://", 7) != 0)
		return "the webhook URL must be http://HOST[:PORT][/PATH] (plain HTTP; put a TLS proxy in front "
		       "for https)";
	host = url + 7;
	hl = strcspn(host, "/?#");
	if (hl == 0 || host[0] == ':')
		return "the webhook URL has no host";
	if (strpbrk(url, " \t\r\n"))
		return "the webhook URL must not contain white space";
	if (memchr(host, '@', hl))
		return "the webhook URL must not carry user information";
	{
		/* the port after the host ("[v6]:PORT" too), when there is one */
		const char *end = host + hl, *colon = NULL;
		for (const char *p = host; p < end; p++)
			if (*p == ':')
				colon = p;
		if (host[0] == '[' && (!memchr(host, ']', hl) || (colon && colon < (const char *)memchr(host, ']', hl))))
			colon = NULL;
		if (colon) {
			long port = 0;
			if (colon + 1 == end)
				return "the webhook URL has an empty port";
			for (const char *p = colon + 1; p < end; p++) {
				if (*p < '0' || *p > '9' || port > 65535)
					return "the webhook URL has a bad port";
				port = port * 10 + (*p - '0');
			}
			if (port < 1 || port > 65535)
				return "the webhook URL has a bad port";
		}
	}
	return NULL;
}

int sim_hooks_configure(struct sim_hooks *h, const char *url, const char *secret, unsigned events, bool retry)
{
	if (url && sim_hooks_check_url(url))
		return -EINVAL;
	if (secret && !*secret)
		return -EINVAL;
	if (url && !secret && !h->secret)
		return -EINVAL;
	if (secret) {
		free(h->secret);
		h->secret = xstrdup(secret);
	}
	free(h->url);
	h->url = url ? xstrdup(url) : NULL;
	if (events)
		h->events = events;
	h->retry = retry;
	if (!h->url)
		drop_queue(h); /* nowhere to send them */
	sim_model_set_events(h->m, h->url != NULL);
	return 0;
}

/* --- the queue ---------------------------------------------------------- */

static bool ev_less(const struct hook_ev *a, const struct hook_ev *b)
{
	if (a->due_us != b->due_us)
		return a->due_us < b->due_us;
	if (a->conv.batch_key != b->conv.batch_key)
		return a->conv.batch_key < b->conv.batch_key;
	if (a->conv.idx != b->conv.idx)
		return a->conv.idx < b->conv.idx;
	if (a->conv.attempt != b->conv.attempt)
		return a->conv.attempt < b->conv.attempt;
	if (a->type != b->type)
		return a->type < b->type;
	return a->seq < b->seq;
}

static void heap_push(struct sim_hooks *h, struct hook_ev *e)
{
	size_t i = h->n_heap++;

	e->state = EV_QUEUED;
	xgrow((void **)&h->heap, &h->cap_heap, h->n_heap, sizeof(*h->heap));
	h->heap[i] = e;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!ev_less(h->heap[i], h->heap[parent]))
			break;
		struct hook_ev *t = h->heap[i];
		h->heap[i] = h->heap[parent];
		h->heap[parent] = t;
		i = parent;
	}
}

static struct hook_ev *heap_pop(struct sim_hooks *h)
{
	struct hook_ev *top = h->heap[0];
	size_t i = 0;

	h->heap[0] = h->heap[--h->n_heap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, best = i;
		if (l < h->n_heap && ev_less(h->heap[l], h->heap[best]))
			best = l;
		if (r < h->n_heap && ev_less(h->heap[r], h->heap[best]))
			best = r;
		if (best == i)
			break;
		struct hook_ev *t = h->heap[i];
		h->heap[i] = h->heap[best];
		h->heap[best] = t;
		i = best;
	}
	return top;
}

static void hold(struct sim_hooks *h, struct hook_ev *e, enum ev_state state)
{
	e->state = state;
	xgrow((void **)&h->held, &h->cap_held, h->n_held + 1, sizeof(*h->held));
	h->held[h->n_held++] = e;
}

static void add_event(struct sim_hooks *h, const struct sim_conv_event *ce, enum hook_type type)
{
	struct hook_ev *e = xcalloc(1, sizeof(*e));

	e->seq = h->next_seq++;
	e->conv = ce->conv;
	e->type = type;
	e->due_us = ce->due_us;
	heap_push(h, e);
}

/* Take the model's new post-call events into the queue. */
static void intake(struct sim_hooks *h)
{
	struct sim_conv_event *ev;
	size_t n = sim_model_take_events(h->m, &ev);

	for (size_t i = 0; i < n && h->url; i++) {
		if (ev[i].kind == SIM_EV_FAILURE) {
			if (h->events & SIM_HOOK_FAILURE)
				add_event(h, &ev[i], HT_FAILURE);
			continue;
		}
		if (h->events & SIM_HOOK_TRANSCRIPT)
			add_event(h, &ev[i], HT_TRANSCRIPTION);
		if (h->events & SIM_HOOK_AUDIO)
			add_event(h, &ev[i], HT_AUDIO);
	}
	free(ev);
}

/* Late events go once their batch ended; out_of_order ones at their
 * deadline, or when the next event is sent (order_due >= 0: its due time,
 * so the held one is the next in line). */
static void release_held(struct sim_hooks *h, int64_t now, int64_t order_due)
{
	size_t k = 0;

	for (size_t i = 0; i < h->n_held; i++) {
		struct hook_ev *e = h->held[i];
		int64_t end;
		if (e->state == EV_HELD_LATE && sim_model_batch_ended(h->m, e->conv.batch_key, &end)) {
			e->due_us = (end > e->due_us ? end : e->due_us) + e->delay_us;
			heap_push(h, e);
		} else if (e->state == EV_HELD_ORDER && (order_due >= 0 || e->hold_until <= now)) {
			e->due_us = order_due >= 0 ? order_due : e->hold_until;
			heap_push(h, e);
		} else {
			h->held[k++] = e;
		}
	}
	h->n_held = k;
}

static enum hook_fault_kind pick_fault(struct sim_hooks *h, struct hook_ev *e)
{
	for (size_t i = 0; i < h->n_faults; i++) {
		struct hook_fault *f = &h->faults[i];
		if (f->remaining == 0 || (f->type >= 0 && f->type != (int)e->type) ||
		    (f->conv[0] && strcmp(f->conv, e->conv_id) != 0))
			continue;
		if (f->probability < 1 && rng_unit(h) >= f->probability)
			continue;
		if (f->remaining > 0)
			f->remaining--;
		f->hits++;
		e->delay_us = f->delay_us;
		return f->kind;
	}
	return HF_NONE;
}

static struct hook_log *log_add(struct sim_hooks *h, const struct hook_ev *e, int64_t now, int64_t now_real_us)
{
	struct hook_log *l;

	xgrow((void **)&h->log, &h->cap_log, h->n_log + 1, sizeof(*h->log));
	l = &h->log[h->n_log++];
	memset(l, 0, sizeof(*l));
	l->seq = h->next_log_seq++;
	l->time_us = now_real_us;
	l->sim_time_us = now;
	l->answered_us = -1;
	l->type = e->type;
	memcpy(l->conv_id, e->conv_id, sizeof(l->conv_id));
	memcpy(l->batch_id, e->batch_id, sizeof(l->batch_id));
	l->attempt = e->attempt;
	l->duplicate = e->duplicate;
	l->fault = e->fault;
	l->event_ts = e->event_ts;
	l->status = -1;
	l->body_len = e->body_len;
	return l;
}

static struct hook_log *log_find(struct sim_hooks *h, uint64_t seq)
{
	for (size_t i = h->n_log; i-- > 0;)
		if (h->log[i].seq == seq)
			return &h->log[i];
	return NULL;
}

static void render_body(struct sim_hooks *h, struct hook_ev *e, const struct sim_conv_view *v)
{
	struct sbuf b = {0};

	sbuf_addf(&b, "{\"type\":\"%s\",\"event_timestamp\":%" PRId64 ",\"data\":", type_names[e->type], e->event_ts);
	if (e->type == HT_TRANSCRIPTION)
		sim_render_transcription_data(&b, v);
	else if (e->type == HT_AUDIO)
		sim_render_audio_data(&b, v);
	else
		sim_render_failure_data(&b, v);
	sbuf_adds(&b, "}");
	e->body = sbuf_steal(&b, &e->body_len);
	(void)h;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

bool sim_hooks_next(struct sim_hooks *h, int64_t now, int64_t now_real_us, struct sim_delivery *ret,
		    int64_t *ret_wake)
{
	struct sim_conv_view v;

	memset(ret, 0, sizeof(*ret));
	*ret_wake = INT64_MAX;
	intake(h);
	release_held(h, now, -1);
	if (h->flight || !h->url)
		return false;
	while (h->n_heap > 0 && h->heap[0]->due_us <= now) {
		struct hook_ev *e = heap_pop(h);
		struct hook_log *l;
		if (!sim_model_conv_exists(h->m, &e->conv)) {
			ev_free(e); /* forgotten by a reset */
			continue;
		}
		if (!e->decided) {
			sim_conv_view(h->m, &e->conv, &v);
			memcpy(e->conv_id, v.conversation_id, sizeof(e->conv_id));
			snprintf(e->batch_id, sizeof(e->batch_id), "%s", v.batch_id);
			e->decided = true;
			e->fault = pick_fault(h, e);
			if (e->fault == HF_DROP) {
				l = log_add(h, e, now, now_real_us);
				l->error = xstrdup("not sent (drop fault)");
				ev_free(e);
				continue;
			}
			if (e->fault == HF_LATE) {
				hold(h, e, EV_HELD_LATE);
				release_held(h, now, -1);
				continue;
			}
			if (e->fault == HF_OUT_OF_ORDER) {
				e->hold_until = now + e->delay_us;
				hold(h, e, EV_HELD_ORDER);
				continue;
			}
		}
		if (!e->body) {
			/* made when first sent (= the first signature's t), then
			 * the same bytes for every retry */
			e->event_ts = now / 1000000;
			sim_conv_view(h->m, &e->conv, &v);
			render_body(h, e, &v);
		}
		e->attempt++;
		if (!e->duplicate) {
			/* a fresh t each attempt (the body stays byte-identical) */
			int64_t t = now / 1000000 - (e->fault == HF_STALE ? SIM_HOOK_STALE_SECS : 0);
			const char *secret = h->secret;
			char *wrong = NULL;
			if (e->fault == HF_BAD_SIGNATURE)
				secret = wrong = xasprintf("not-%s", h->secret);
			sim_sign_header(secret, t, e->body, e->body_len, e->sig);
			free(wrong);
		}
		if (e->attempt == 1 && !e->duplicate)
			release_held(h, now, e->due_us); /* the held one comes after this one */
		h->flight = e;
		h->flight_id = ++h->next_id;
		l = log_add(h, e, now, now_real_us);
		memcpy(l->sig, e->sig, sizeof(l->sig));
		h->flight_log = l->seq;
		ret->id = h->flight_id;
		ret->url = xstrdup(h->url);
		ret->body = xmalloc(e->body_len + 1);
		memcpy(ret->body, e->body, e->body_len + 1);
		ret->body_len = e->body_len;
		memcpy(ret->signature, e->sig, sizeof(ret->signature));
		ret->event = type_names[e->type];
		memcpy(ret->conversation_id, e->conv_id, sizeof(ret->conversation_id));
		ret->attempt = e->attempt;
		return true;
	}
	if (h->n_heap > 0)
		*ret_wake = h->heap[0]->due_us;
	for (size_t i = 0; i < h->n_held; i++)
		if (h->held[i]->state == EV_HELD_ORDER)
			*ret_wake = min64(*ret_wake, h->held[i]->hold_until);
	/* calls end (and batches end) on their own: look again then */
	*ret_wake = min64(*ret_wake, sim_model_next_change(h->m));
	return false;
}

void sim_hooks_done(struct sim_hooks *h, uint64_t id, int status, const char *error, int64_t now,
		    int64_t now_real_us)
{
	static const int64_t retry_secs[SIM_HOOK_MAX_ATTEMPTS - 1] = {30, 120, 480, 1800};
	struct hook_ev *e = h->flight;
	struct hook_log *l;
	bool ok = status >= 200 && status < 300;
	bool again = !ok && (status == 0 || status >= 500 || status == 429 || status == 408);

	if (!e || id != h->flight_id)
		return;
	h->flight = NULL;
	l = log_find(h, h->flight_log);
	if (l) {
		l->status = status > 0 ? status : -1;
		l->answered_us = now_real_us;
		free(l->error);
		l->error = error && status <= 0 ? xstrdup(error) : NULL;
	}
	if (e->fault == HF_DUPLICATE && e->attempt == 1 && !e->duplicate) {
		/* the same bytes and header once more, right away */
		struct hook_ev *c = xcalloc(1, sizeof(*c));
		*c = *e;
		c->seq = h->next_seq++;
		c->body = xmalloc(e->body_len + 1);
		memcpy(c->body, e->body, e->body_len + 1);
		c->duplicate = true;
		c->attempt = 0;
		c->due_us = now;
		heap_push(h, c);
	}
	if (again && e->type == HT_TRANSCRIPTION && !e->duplicate && h->retry && e->attempt < SIM_HOOK_MAX_ATTEMPTS) {
		double secs = (double)retry_secs[e->attempt - 1] * (1 + 0.1 * rng_unit(h)) / h->speed;
		e->due_us = now + (int64_t)fmax(1, llround(secs * 1e6));
		heap_push(h, e);
		return;
	}
	ev_free(e);
}

/* --- control ------------------------------------------------------------ */

static void json_error(struct sbuf *out, const char *msg)
{
	sbuf_adds(out, "{\"error\":");
	sbuf_add_json_str(out, msg);
	sbuf_adds(out, "}");
}

static void render_config(struct sim_hooks *h, struct sbuf *out)
{
	static const char *const names[] = {"transcript", "audio", "call_initiation_failure"};

	sbuf_adds(out, "{\"url\":");
	sbuf_add_json_str(out, h->url);
	sbuf_addf(out, ",\"secret_set\":%s,\"events\":[", h->secret ? "true" : "false");
	for (unsigned i = 0, n = 0; i < 3; i++)
		if (h->events & (1u << i))
			sbuf_addf(out, "%s\"%s\"", n++ ? "," : "", names[i]);
	sbuf_addf(out, "],\"retry\":%s,\"queued\":%zu,\"held\":%zu,\"in_flight\":%s", h->retry ? "true" : "false",
		  h->n_heap, h->n_held, h->flight ? "true" : "false");
}

static void render_log(struct sbuf *out, const struct hook_log *l)
{
	sbuf_addf(out,
		  "{\"seq\":%" PRIu64 ",\"time_us\":%" PRId64 ",\"sim_time_us\":%" PRId64
		  ",\"event\":\"%s\",\"conversation_id\":",
		  l->seq, l->time_us, l->sim_time_us, type_names[l->type]);
	sbuf_add_json_str(out, l->conv_id);
	sbuf_adds(out, ",\"batch_id\":");
	sbuf_add_json_str(out, l->batch_id[0] ? l->batch_id : NULL);
	sbuf_addf(out, ",\"attempt\":%d,\"duplicate\":%s,\"fault\":", l->attempt, l->duplicate ? "true" : "false");
	sbuf_add_json_str(out, l->fault ? fault_names[l->fault] : NULL);
	sbuf_addf(out, ",\"event_timestamp\":%" PRId64 ",\"signature\":", l->event_ts);
	sbuf_add_json_str(out, l->sig[0] ? l->sig : NULL);
	sbuf_addf(out, ",\"body_len\":%zu,\"status\":", l->body_len);
	if (l->status > 0)
		sbuf_addf(out, "%d", l->status);
	else
		sbuf_adds(out, "null");
	sbuf_adds(out, ",\"error\":");
	sbuf_add_json_str(out, l->error);
	sbuf_adds(out, ",\"answered_us\":");
	if (l->answered_us >= 0)
		sbuf_addf(out, "%" PRId64, l->answered_us);
	else
		sbuf_adds(out, "null");
	sbuf_adds(out, "}");
}

static json_object *parse_object(const char *body, size_t len)
{
	json_object *root = NULL;

	if (body && len > 0 && len < 65536) {
		char *text = xstrndup(body, len);
		root = json_tokener_parse(text);
		free(text);
	}
	if (root && !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		root = NULL;
	}
	return root;
}

static int control_configure(struct sim_hooks *h, const char *body, size_t len, struct sbuf *out)
{
	json_object *root = parse_object(body, len), *v;
	const char *url = h->url, *secret = NULL;
	unsigned events = h->events;
	bool retry = h->retry;
	char *url_copy = NULL;
	int status = 400;

	if (!root) {
		json_error(out, "body must be a JSON object");
		return 400;
	}
	if (json_object_object_get_ex(root, "url", &v)) {
		if (v && !json_object_is_type(v, json_type_string)) {
			json_error(out, "\"url\" must be a string or null");
			goto out;
		}
		url = v ? json_object_get_string(v) : NULL;
		if (url && sim_hooks_check_url(url)) {
			json_error(out, sim_hooks_check_url(url));
			goto out;
		}
	}
	if (json_object_object_get_ex(root, "secret", &v)) {
		if (!v || !json_object_is_type(v, json_type_string) || !*json_object_get_string(v)) {
			json_error(out, "\"secret\" must be a non-empty string");
			goto out;
		}
		secret = json_object_get_string(v);
	}
	if (json_object_object_get_ex(root, "events", &v)) {
		struct sbuf list = {0};
		if (!v || !json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0) {
			json_error(out, "\"events\" must be a non-empty list of transcript, audio, call_initiation_failure");
			goto out;
		}
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			json_object *it = json_object_array_get_idx(v, i);
			sbuf_addf(&list, "%s%s", i ? "," : "",
				  it && json_object_is_type(it, json_type_string) ? json_object_get_string(it) : "?");
		}
		events = sim_hooks_parse_events(list.s);
		sbuf_free(&list);
		if (!events) {
			json_error(out, "\"events\" must be a non-empty list of transcript, audio, call_initiation_failure");
			goto out;
		}
	}
	if (json_object_object_get_ex(root, "retry", &v)) {
		if (!v || !json_object_is_type(v, json_type_boolean)) {
			json_error(out, "\"retry\" must be true or false");
			goto out;
		}
		retry = json_object_get_boolean(v);
	}
	if (url && !secret && !h->secret) {
		json_error(out, "a webhook URL needs a \"secret\"");
		goto out;
	}
	url_copy = url ? xstrdup(url) : NULL; /* url may point into h->url */
	sim_hooks_configure(h, url_copy, secret, events, retry);
	render_config(h, out);
	sbuf_adds(out, "}");
	status = 200;
out:
	free(url_copy);
	json_object_put(root);
	return status;
}

static void render_fault(struct sbuf *out, const struct hook_fault *f)
{
	sbuf_addf(out, "{\"id\":%" PRId64 ",\"kind\":\"%s\",\"event\":\"%s\",\"conversation_id\":", f->id,
		  fault_names[f->kind], f->type >= 0 ? type_names[f->type] : "*");
	sbuf_add_json_str(out, f->conv[0] ? f->conv : NULL);
	sbuf_adds(out, ",\"delay_secs\":");
	if (f->kind == HF_LATE || f->kind == HF_OUT_OF_ORDER)
		sbuf_addf(out, "%.6g", (double)f->delay_us / 1e6);
	else
		sbuf_adds(out, "null");
	sbuf_addf(out, ",\"count\":%" PRId64 ",\"remaining\":%" PRId64 ",\"probability\":%.17g,\"hits\":%" PRId64 "}",
		  f->count, f->remaining, f->probability, f->hits);
}

static int control_add_fault(struct sim_hooks *h, const char *body, size_t len, struct sbuf *out)
{
	json_object *root = parse_object(body, len), *v;
	struct hook_fault f = {.type = -1, .delay_us = 60 * 1000000LL, .count = 1, .probability = 1};
	int status = 400;

	if (!root) {
		json_error(out, "body must be a JSON object");
		return 400;
	}
	if (json_object_object_get_ex(root, "kind", &v) && v && json_object_is_type(v, json_type_string))
		for (size_t i = 1; i < ARRAY_SIZE(fault_names); i++)
			if (strcmp(json_object_get_string(v), fault_names[i]) == 0)
				f.kind = (enum hook_fault_kind)i;
	if (f.kind == HF_NONE) {
		json_error(out, "\"kind\" must be one of duplicate, out_of_order, late, bad_signature, stale_timestamp, "
				"drop");
		goto out;
	}
	if (json_object_object_get_ex(root, "event", &v)) {
		bool found = v && json_object_is_type(v, json_type_string) && strcmp(json_object_get_string(v), "*") == 0;
		for (size_t i = 0; !found && v && json_object_is_type(v, json_type_string) && i < ARRAY_SIZE(type_names);
		     i++)
			if (strcmp(json_object_get_string(v), type_names[i]) == 0) {
				f.type = (int)i;
				found = true;
			}
		if (!found) {
			json_error(out, "\"event\" must be post_call_transcription, post_call_audio, "
					"call_initiation_failure or *");
			goto out;
		}
	}
	if (json_object_object_get_ex(root, "conversation_id", &v) && v) {
		if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) >= (int)sizeof(f.conv)) {
			json_error(out, "\"conversation_id\" must be a conversation id");
			goto out;
		}
		snprintf(f.conv, sizeof(f.conv), "%s", json_object_get_string(v));
	}
	if (json_object_object_get_ex(root, "delay_secs", &v)) {
		double d = v ? json_object_get_double(v) : -1;
		if (!v || (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) ||
		    !(d >= 0 && d <= 1e9)) {
			json_error(out, "\"delay_secs\" must be a number of seconds >= 0");
			goto out;
		}
		f.delay_us = llround(d * 1e6);
	}
	if (json_object_object_get_ex(root, "count", &v)) {
		if (!v || !json_object_is_type(v, json_type_int) || json_object_get_int64(v) < -1) {
			json_error(out, "\"count\" must be an integer >= -1 (-1 = forever)");
			goto out;
		}
		f.count = json_object_get_int64(v);
	}
	if (json_object_object_get_ex(root, "probability", &v)) {
		double p = v ? json_object_get_double(v) : -1;
		if (!v || (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)) ||
		    !(p >= 0 && p <= 1)) {
			json_error(out, "\"probability\" must be a number in [0, 1]");
			goto out;
		}
		f.probability = p;
	}
	f.remaining = f.count;
	f.id = h->next_fault_id++;
	xgrow((void **)&h->faults, &h->cap_faults, h->n_faults + 1, sizeof(*h->faults));
	h->faults[h->n_faults++] = f;
	sbuf_addf(out, "{\"id\":%" PRId64 "}", f.id);
	status = 200;
out:
	json_object_put(root);
	return status;
}

int sim_hooks_control(struct sim_hooks *h, const char *what, const char *method, const char *query,
		      const char *body, size_t body_len, struct sbuf *out)
{
	bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0, del = strcmp(method, "DELETE") == 0;

	if (strcmp(what, "webhooks") == 0) {
		if (post)
			return control_configure(h, body, body_len, out);
		if (del) {
			log_clear(h);
			sbuf_adds(out, "{\"ok\":true}");
			return 200;
		}
		if (get) {
			int64_t since = 0;
			const char *s = query ? strstr(query, "since=") : NULL;
			if (s && (s == query || s[-1] == '&')) {
				char *val = xstrndup(s + 6, strcspn(s + 6, "&"));
				int r = parse_int64(val, 0, INT64_MAX, &since);
				free(val);
				if (r < 0) {
					json_error(out, "\"since\" must be a sequence number >= 0");
					return 400;
				}
			}
			render_config(h, out);
			sbuf_adds(out, ",\"deliveries\":[");
			for (size_t i = 0, n = 0; i < h->n_log; i++) {
				if (h->log[i].seq <= (uint64_t)since)
					continue;
				if (n++)
					sbuf_adds(out, ",");
				render_log(out, &h->log[i]);
			}
			sbuf_adds(out, "]}");
			return 200;
		}
	} else {
		if (post)
			return control_add_fault(h, body, body_len, out);
		if (del) {
			h->n_faults = 0;
			sbuf_adds(out, "{\"ok\":true}");
			return 200;
		}
		if (get) {
			sbuf_adds(out, "{\"faults\":[");
			for (size_t i = 0; i < h->n_faults; i++) {
				if (i)
					sbuf_adds(out, ",");
				render_fault(out, &h->faults[i]);
			}
			sbuf_adds(out, "]}");
			return 200;
		}
	}
	sbuf_adds(out, "{\"detail\":\"Method Not Allowed\"}");
	return 405;
}
