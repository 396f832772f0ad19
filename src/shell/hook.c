/*
 * hook: the post-call webhook receiver on webhook_listen (plain HTTP
 * behind the operator's TLS proxy). Each POST is verified before anything
 * reads it (webhook_verify: the ElevenLabs-Signature header, the
 * timestamp tolerance, the HMAC in constant time), parsed
 * (webhook_parse), and answered 200 only once the event is on stable
 * storage in the state folder (report_take_event), so a crash after the
 * answer loses nothing:
 *
 *   forged, stale, malformed or missing signature  401, a warning with the
 *                                                  peer, nothing stored
 *   an exact redelivery of a stored event, even    200, nothing changes (a
 *   with a stale timestamp; a version less         401 would end the retries;
 *   complete than the stored one (fresh)           what is stored never goes
 *                                                  backwards)
 *   a body that is not the documented envelope     400
 *   the event cannot be stored (disk full)         503: the sender retries
 *   post_call_audio, an unknown type, a            200, dropped, never stored
 *   transcription of a call that is not a batch
 *   call (webhook_event_wanted)
 *
 * A body over HOOK_HASH_SLICE is hashed a slice per loop iteration (one
 * body after the other), so that a due submit is never behind the HMAC of many
 * large bodies.
 *
 * Group commit: verified events wait for the end of the loop iteration and
 * are written together with one sync (report_take_events), then each gets
 * its answer; under load one sync covers every event that came meanwhile.
 *
 * Neither the secret nor the signature ever reaches a log line.
 *
 * Cluster mode: events are idempotent facts, not the leader's work, so
 * every node receives them. The receiver works for a sink: the engine
 * (one node, or the leader: report_*, which keeps them in etcd in cluster
 * mode and joins them), or on a standby only etcd (events_etcd_store:
 * verified, stored, answered; the leader reads them from etcd). etcd not
 * answering is a 503, as a full disk is. A standby cannot tell whether a
 * transcription without metadata.batch_call names a conversation of a
 * batch the leader follows: it drops it, as the leader does one it does
 * not know. hook_set_engine turns a standby's receiver into the leader's
 * on the same socket.
 */
#include "config.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "control.h"
#include "engine_int.h"
#include "events_etcd.h"
#include "hook.h"
#include "report.h"
#include "util.h"
#include "webhook.h"

/* A transcript of a long call with its tool calls is megabytes; audio
 * (base64 of the whole call) can be more and is dropped anyway: over the
 * cap evhttp answers 413 and the body is never read. */
#define HOOK_MAX_BODY ((size_t)32 << 20)
#define HOOK_MAX_HEADERS 16384
/* Served as a further server of the control module (control_serve): the
 * same defences as the control socket's, with these limits. At most
 * HOOK_MAX_CONNECTIONS connections (beyond them a 503 and a close: the
 * sender retries), so the bodies evhttp buffers before the signature is
 * read cost at most HOOK_MAX_CONNECTIONS x HOOK_MAX_BODY (1 GiB); each
 * connection lives HOOK_CONN_LIFETIME_S at most whatever it sends (a
 * client trickling a header line keeps resetting the idle timeout). */
#define HOOK_MAX_CONNECTIONS 32
#define HOOK_CONN_LIFETIME_S 60
#define HOOK_IDLE_TIMEOUT_S 30
/* A stale delivery may still be the exact redelivery of a stored event:
 * its HMAC is checked without a tolerance (a century). */
#define HOOK_LAX_TOLERANCE_S INT64_C(3155760000)
/* The group commit waits while a run comes due within the margin (a
 * submit must not be late behind a sync), but an event never waits more
 * than HOOK_COMMIT_MAX_WAIT_MS for it. */
#define HOOK_COMMIT_MARGIN_MS 100
#define HOOK_COMMIT_MAX_WAIT_MS 1000
/* A body longer than a slice is hashed a slice per loop iteration, one
 * body after the other (about 2.5 ms a slice here): a due submit waits at most a
 * slice behind them, not the whole of 32 bodies of 32 MiB (seconds). The
 * hashing pauses like the commit while a run comes due. */
#define HOOK_HASH_SLICE ((size_t)256 << 10)

/* A verified event waiting for the group commit, and its request. */
struct waiting {
	struct hook *h;
	struct evhttp_request *req; /* NULL: its connection closed meanwhile */
	struct evhttp_connection *conn;
	char *body;
	size_t len;
	struct webhook_event ev;
};

/* A delivery whose body is being hashed, a slice at a time. */
struct verifying {
	struct hook *h;
	struct evhttp_request *req; /* NULL: its connection closed meanwhile */
	struct evhttp_connection *conn;
	struct webhook_check chk;
	bool redelivery; /* stale: 200 only if it is what is stored */
	size_t done;     /* bytes of the body hashed */
	int64_t since_ms;
};

struct hook {
	struct engine *e;            /* NULL: a standby's (stores in etcd only) */
	struct etcd *etcd;           /* a standby's: the client (the caller's) */
	char *prefix;                /* a standby's: key_prefix */
	int tolerance;               /* a standby's webhook_tolerance */
	struct stats own;            /* the counters while it is a standby's */
	struct control_server *srv;
	char *what; /* the address, for messages */
	char *secret;
	size_t secret_len;
	struct waiting **wait;
	size_t n_wait, cap_wait;
	int64_t first_wait_ms; /* when the oldest waiting event came */
	struct event *commit_ev;
	struct verifying **ver; /* bodies being hashed, in order of arrival */
	size_t n_ver, cap_ver;
	struct event *hash_ev;
};

/* --- the sink: the engine, or a standby's etcd ----------------------------- */

static struct stats *stats_of(struct hook *h)
{
	return h->e ? &h->e->stats : &h->own;
}

static int64_t tolerance_of(const struct hook *h)
{
	return h->e ? h->e->conf->webhook_tolerance : h->tolerance;
}

static bool due_soon(const struct hook *h, int64_t now)
{
	return h->e && engine_due_soon(h->e, now, HOOK_COMMIT_MARGIN_MS);
}

/* Whether exactly this event is stored: 1, 0, or a negative errno (etcd
 * cannot be read). */
static int sink_stored(struct hook *h, const struct webhook_event *ev, const char *body, size_t len)
{
	if (!h->e)
		return events_etcd_stored(h->etcd, h->prefix, ev, body, len);
	if (h->e->shared)
		return events_etcd_stored(h->e->shared->etcd, h->e->shared->prefix, ev, body, len);
	return report_event_stored(h->e, ev, body, len);
}

static bool sink_known(struct hook *h, const char *conversation_id)
{
	return h->e && report_conversation_known(h->e, conversation_id);
}

static void sink_take(struct hook *h, struct report_pending *v, size_t n)
{
	if (h->e)
		report_take_events(h->e, v, n);
	else
		events_etcd_store(h->etcd, h->prefix, v, n, NULL);
}

/* Where events are kept, for messages (the caller frees). */
static char *sink_where(const struct hook *h)
{
	if (!h->e)
		return xasprintf("etcd ('%s" EVENTS_ETCD_DIR "')", h->prefix);
	if (h->e->shared)
		return xasprintf("etcd ('%s" EVENTS_ETCD_DIR "')", h->e->shared->prefix);
	return xasprintf("'%s/events'", h->e->conf->state_dir);
}

static void reply(struct evhttp_request *req, int code, const char *reason, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b)
		evbuffer_add_printf(b, "%s\n", text);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; charset=utf-8");
	/* One delivery per connection: the connection's lifetime counts
	 * from its accept, so a sender reusing it for a later delivery could
	 * meet the deadline mid-upload (and a delivery is not always sent
	 * again). */
	evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
	evhttp_send_reply(req, code, reason, b);
	if (b)
		evbuffer_free(b);
}

static const char *peer_of(struct evhttp_request *req, char *buf, size_t size)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	const char *addr = NULL;
	ev_uint16_t port = 0;

	if (c)
		evhttp_connection_get_peer(c, (char **)&addr, &port);
	snprintf(buf, size, "%s:%u", addr ? addr : "?", (unsigned)port);
	return buf;
}

static void waiting_closed_cb(void *arg);
static void verifying_closed_cb(void *arg);

static void refuse(struct hook *h, struct evhttp_request *req, enum webhook_verdict v)
{
	char peer[80];

	stats_of(h)->webhooks_refused[v < WEBHOOK_VERDICT__MAX ? v : WEBHOOK_MALFORMED]++;
	log_event(LOG_WARNING, EV_WEBHOOK_REFUSED, NULL, "webhook from %s refused (%s): %s; nothing stored",
		  peer_of(req, peer, sizeof(peer)), webhook_verdict_name(v), webhook_verdict_text(v));
	if (v == WEBHOOK_NO_SECRET)
		reply(req, 503, "Service Unavailable", "no webhook secret");
	else
		reply(req, 401, "Unauthorized", "signature refused");
}

/* Hash the body from byte *done on, at most max bytes, without copying
 * it together. */
static void hash_body(struct webhook_check *chk, struct evbuffer *in, size_t *done, size_t max)
{
	struct evbuffer_ptr at;
	struct evbuffer_iovec v[8];
	size_t len = evbuffer_get_length(in);

	while (*done < len && max > 0) {
		int n;
		if (evbuffer_ptr_set(in, &at, *done, EVBUFFER_PTR_SET) < 0)
			break;
		n = evbuffer_peek(in, (ev_ssize_t)(len - *done < max ? len - *done : max), &at, v, 8);
		if (n <= 0)
			break;
		for (int k = 0; k < n && k < 8 && max > 0; k++) {
			size_t take = v[k].iov_len < max ? v[k].iov_len : max;
			webhook_check_update(chk, v[k].iov_base, take);
			*done += take;
			max -= take;
		}
	}
}

/* The body is hashed: the verdict, then (verified) the parse, and the
 * event waits for the group commit. */
static void verified(struct hook *h, struct evhttp_request *req, struct webhook_check *chk, bool redelivery)
{
	struct stats *st = stats_of(h);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	enum webhook_verdict v = webhook_check_end(chk);
	const char *body;
	struct webhook_event ev = { 0 };
	char peer[80], *cause = NULL;

	if (v != WEBHOOK_OK) {
		/* (a stale one failed the check without tolerance too) */
		refuse(h, req, redelivery ? WEBHOOK_STALE : v);
		return;
	}
	/* verified: only now is the body made one piece */
	body = len ? (const char *)evbuffer_pullup(in, -1) : "";
	if (redelivery) {
		/* An exact redelivery of what is kept changes nothing: 200,
		 * or the sender's retries would end on a 401. */
		int kept = webhook_parse(body, len, &ev, NULL) == 0 ? sink_stored(h, &ev, body, len) : 0;
		if (kept == 1) {
			webhook_event_clear(&ev);
			st->webhooks_verified++;
			st->webhooks_duplicate++;
			reply(req, 200, "OK", "already stored");
			return;
		}
		webhook_event_clear(&ev);
		if (kept < 0) {
			/* (cluster mode) etcd cannot say: the sender retries */
			char *where = sink_where(h);
			st->webhooks_failed++;
			log_event(LOG_ERR, EV_WEBHOOK_FAILED, NULL,
				  "cannot read %s for a redelivered webhook: %s; answered 503, the sender retries", where,
				  strerror(-kept));
			free(where);
			reply(req, 503, "Service Unavailable", "cannot read the stored events now");
			return;
		}
		refuse(h, req, WEBHOOK_STALE);
		return;
	}
	st->webhooks_verified++;
	if (webhook_parse(body, len, &ev, &cause) < 0) {
		st->webhooks_malformed++;
		log_event(LOG_WARNING, EV_WEBHOOK_REFUSED, NULL, "webhook from %s refused (malformed): %s",
			  peer_of(req, peer, sizeof(peer)), cause ? cause : "not the documented envelope");
		free(cause);
		reply(req, 400, "Bad Request", "not a post-call webhook envelope");
		return;
	}
	/* (a transcription without metadata.batch_call is another call of the
	 * workspace, unless it names a conversation of a batch we follow:
	 * kept then, should the sender ever leave the field out) */
	if (!webhook_event_wanted(&ev) &&
	    !(ev.type == WEBHOOK_TRANSCRIPTION && sink_known(h, ev.conversation_id))) {
		/* audio (not asked for), types this build does not know, and
		 * the conversations of the workspace that are not batch calls */
		st->webhooks_dropped++;
		webhook_event_clear(&ev);
		reply(req, 200, "OK", "dropped");
		return;
	}
	{
		struct waiting *w = xcalloc(1, sizeof(*w));
		w->h = h;
		w->req = req;
		w->conn = evhttp_request_get_connection(req);
		w->body = xmalloc(len + 1);
		memcpy(w->body, body, len);
		w->body[len] = '\0';
		w->len = len;
		w->ev = ev;
		/* a client that goes away before the commit gets no answer */
		if (w->conn)
			control_server_watch(h->srv, w->conn, waiting_closed_cb, w);
		xgrow((void **)&h->wait, &h->cap_wait, h->n_wait + 1, sizeof(*h->wait));
		if (h->n_wait == 0) {
			h->first_wait_ms = engine_now_ms();
			event_active(h->commit_ev, EV_TIMEOUT, 0);
		}
		h->wait[h->n_wait++] = w;
	}
}

static void request_cb(struct evhttp_request *req, void *arg)
{
	struct hook *h = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *sig = evhttp_find_header(evhttp_request_get_input_headers(req), "ElevenLabs-Signature");
	struct webhook_policy pol = { tolerance_of(h), WEBHOOK_FUTURE_DEFAULT };
	struct webhook_check chk;
	enum webhook_verdict v;
	bool redelivery = false;
	size_t done = 0;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		reply(req, 405, "Method Not Allowed", "POST only");
		return;
	}
	stats_of(h)->webhooks_received++;
	/* every check that needs no body first: a forged or stale header
	 * costs no hashing */
	v = webhook_check_begin(&chk, sig, sig ? strlen(sig) : 0, h->secret, h->secret_len, engine_now_ms(), &pol);
	if (v == WEBHOOK_STALE && sig) {
		/* perhaps an exact redelivery of a stored event: its HMAC
		 * without a tolerance */
		struct webhook_policy lax = { HOOK_LAX_TOLERANCE_S, WEBHOOK_FUTURE_DEFAULT };
		if (webhook_check_begin(&chk, sig, strlen(sig), h->secret, h->secret_len, engine_now_ms(), &lax) ==
		    WEBHOOK_OK) {
			v = WEBHOOK_OK;
			redelivery = true;
		}
	}
	if (v != WEBHOOK_OK) {
		refuse(h, req, v);
		return;
	}
	if (len <= HOOK_HASH_SLICE) {
		hash_body(&chk, in, &done, len);
		verified(h, req, &chk, redelivery);
		return;
	}
	{
		struct verifying *w = xcalloc(1, sizeof(*w));
		w->h = h;
		w->req = req;
		w->conn = evhttp_request_get_connection(req);
		w->chk = chk;
		w->redelivery = redelivery;
		w->since_ms = engine_now_ms();
		sha256_wipe(&chk, sizeof(chk));
		if (w->conn)
			control_server_watch(h->srv, w->conn, verifying_closed_cb, w);
		xgrow((void **)&h->ver, &h->cap_ver, h->n_ver + 1, sizeof(*h->ver));
		h->ver[h->n_ver++] = w;
		if (!event_pending(h->hash_ev, EV_TIMEOUT, NULL))
			event_active(h->hash_ev, EV_TIMEOUT, 0);
	}
}

static void verifying_closed_cb(void *arg)
{
	struct verifying *w = arg;

	w->req = NULL;
	w->conn = NULL;
}

static void verifying_free(struct verifying *w)
{
	if (w->conn)
		control_server_watch(w->h->srv, w->conn, NULL, NULL);
	sha256_wipe(&w->chk, sizeof(w->chk));
	free(w);
}

/* One slice of the first body waiting (first come, first answered: in
 * turns, every body would finish last, past its connection's lifetime). */
static void hash_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook *h = arg;
	struct verifying *w;
	int64_t now = engine_now_ms();

	(void)fd;
	(void)what;
	if (h->n_ver == 0)
		return;
	w = h->ver[0];
	if (w->req && due_soon(h, now) &&
	    now - w->since_ms < HOOK_COMMIT_MAX_WAIT_MS) {
		/* a run comes due: after it */
		struct timeval tv = { 0, HOOK_COMMIT_MARGIN_MS * 1000 };
		event_add(h->hash_ev, &tv);
		return;
	}
	if (w->req) {
		struct evbuffer *in = evhttp_request_get_input_buffer(w->req);
		hash_body(&w->chk, in, &w->done, HOOK_HASH_SLICE);
		if (w->done < evbuffer_get_length(in))
			goto next; /* its next slice in the next iteration */
	}
	memmove(h->ver, h->ver + 1, (h->n_ver - 1) * sizeof(*h->ver));
	h->n_ver--;
	if (w->req) {
		struct evhttp_request *req = w->req;
		if (w->conn)
			control_server_watch(h->srv, w->conn, NULL, NULL);
		w->conn = NULL;
		verified(h, req, &w->chk, w->redelivery);
	}
	verifying_free(w);
next:
	if (h->n_ver > 0) {
		struct timeval zero = { 0, 0 };
		/* a timer, not event_active: the loop sees its sockets and
		 * timers (a due run) between two slices */
		event_add(h->hash_ev, &zero);
	}
}

static void waiting_closed_cb(void *arg)
{
	struct waiting *w = arg;

	w->req = NULL;
	w->conn = NULL;
}

/* The end of a loop iteration: every waiting event with one sync, then
 * the answers. */
static void commit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook *h = arg;
	struct stats *st = stats_of(h);
	size_t n = h->n_wait;
	struct waiting **ws = h->wait;
	struct report_pending *v;
	char peer[80];

	(void)fd;
	(void)what;
	if (n == 0)
		return;
	{
		int64_t now = engine_now_ms();
		if (due_soon(h, now) && now - h->first_wait_ms < HOOK_COMMIT_MAX_WAIT_MS) {
			struct timeval tv = { 0, HOOK_COMMIT_MARGIN_MS * 1000 };
			event_add(h->commit_ev, &tv);
			return;
		}
	}
	h->wait = NULL;
	h->n_wait = h->cap_wait = 0;
	v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = (struct report_pending){ .ev = ws[i]->ev, .body = ws[i]->body, .len = ws[i]->len };
	sink_take(h, v, n);
	for (size_t i = 0; i < n; i++) {
		struct waiting *w = ws[i];
		if (w->conn)
			control_server_watch(h->srv, w->conn, NULL, NULL);
		if (v[i].result == -EINVAL) {
			st->webhooks_malformed++;
			log_event(LOG_WARNING, EV_WEBHOOK_REFUSED, NULL,
				  "webhook from %s refused (malformed): its conversation_id cannot be kept",
				  w->req ? peer_of(w->req, peer, sizeof(peer)) : "a closed connection");
			if (w->req)
				reply(w->req, 400, "Bad Request", "conversation_id not accepted");
		} else if (v[i].result < 0) {
			char *where = sink_where(h);
			st->webhooks_failed++;
			log_event(LOG_ERR, EV_WEBHOOK_FAILED, NULL,
				  "cannot keep a webhook event in %s: %s; answered 503, the sender retries", where,
				  strerror(-v[i].result));
			free(where);
			if (w->req)
				reply(w->req, 503, "Service Unavailable", "cannot store the event now");
		} else {
			if (v[i].dup)
				st->webhooks_duplicate++;
			else
				st->webhooks_stored++;
			if (w->req)
				reply(w->req, 200, "OK", v[i].dup ? "already stored" : "stored");
		}
		webhook_event_clear(&v[i].ev);
		free(w->body);
		free(w);
	}
	free(v);
	free(ws);
}

static const char hook_busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
				"Connection: close\r\nContent-Length: 32\r\n\r\n"
				"too many connections; try again\n";

/* Listen and serve as a further server of c, for h's sink. */
static int hook_open(struct hook *h, struct event_base *base, struct control *c, const char *addr,
		     const char *secret, struct stats_conns *cnt, char **cause)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	struct evconnlistener *l;
	struct control_serve o = {
		.max_conns = HOOK_MAX_CONNECTIONS,
		.lifetime_s = HOOK_CONN_LIFETIME_S,
		.idle_timeout_s = HOOK_IDLE_TIMEOUT_S,
		.max_body = HOOK_MAX_BODY,
		.max_headers = HOOK_MAX_HEADERS,
		.busy = hook_busy,
		.cnt = cnt,
		.request_cb = request_cb,
		.arg = h,
	};

	h->what = xstrdup(addr);
	o.what = h->what;
	h->secret = xstrdup(secret);
	h->secret_len = strlen(secret);
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &len) < 0) {
		*cause = xasprintf("webhook_listen '%s' is not an address and port", addr);
		return -EINVAL;
	}
	h->commit_ev = event_new(base, -1, 0, commit_cb, h);
	h->hash_ev = event_new(base, -1, 0, hash_cb, h);
	l = evconnlistener_new_bind(base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
				    128, (struct sockaddr *)&ss, len);
	if (!l) {
		int err = errno;
		*cause = xasprintf("cannot listen on webhook_listen '%s': %s", addr, strerror(err));
		return err ? -err : -EADDRINUSE;
	}
	if (control_serve(c, l, &o, &h->srv) < 0) {
		*cause = xasprintf("cannot serve webhooks on '%s'", addr);
		return -ENOMEM;
	}
	return 0;
}

int hook_new(struct event_base *base, struct engine *e, struct control *c, const char *addr, const char *secret,
	     struct hook **ret, char **cause)
{
	struct hook *h = xcalloc(1, sizeof(*h));
	int r;

	h->e = e;
	r = hook_open(h, base, c, addr, secret, &e->stats.webhook_conns, cause);
	if (r < 0) {
		hook_free(h);
		return r;
	}
	e->hook_on = true;
	*ret = h;
	return 0;
}

int hook_new_standby(struct event_base *base, const struct engine_shared *sh, int tolerance, struct control *c,
		     const char *addr, const char *secret, struct hook **ret, char **cause)
{
	struct hook *h;
	int r;

	if (!sh || !sh->etcd || !sh->prefix) {
		*cause = xstrdup("a standby's webhook receiver needs the cluster's etcd client and key prefix");
		return -EINVAL;
	}
	h = xcalloc(1, sizeof(*h));
	h->etcd = sh->etcd;
	h->prefix = xstrdup(sh->prefix);
	h->tolerance = tolerance;
	/* (the open connections stay counted here once it leads) */
	r = hook_open(h, base, c, addr, secret, &h->own.webhook_conns, cause);
	if (r < 0) {
		hook_free(h);
		return r;
	}
	*ret = h;
	return 0;
}

void hook_set_tolerance(struct hook *h, int tolerance)
{
	h->tolerance = tolerance;
}

void hook_set_engine(struct hook *h, struct engine *e)
{
	struct stats *t = &e->stats;
	const struct stats *o = &h->own;

	if (h->e)
		return;
	/* what it counted as a standby's goes on in the engine's counters */
	t->webhooks_received += o->webhooks_received;
	t->webhooks_verified += o->webhooks_verified;
	for (size_t i = 0; i < ARRAY_SIZE(t->webhooks_refused); i++)
		t->webhooks_refused[i] += o->webhooks_refused[i];
	t->webhooks_malformed += o->webhooks_malformed;
	t->webhooks_stored += o->webhooks_stored;
	t->webhooks_duplicate += o->webhooks_duplicate;
	t->webhooks_dropped += o->webhooks_dropped;
	t->webhooks_failed += o->webhooks_failed;
	h->e = e;
	if (h->srv)
		e->hook_on = true;
}

void hook_free(struct hook *h)
{
	if (!h)
		return;
	if (h->srv && h->e)
		h->e->hook_on = false;
	/* events never committed get no answer: the sender tries again */
	for (size_t i = 0; i < h->n_wait; i++) {
		if (h->wait[i]->conn)
			control_server_watch(h->srv, h->wait[i]->conn, NULL, NULL);
		webhook_event_clear(&h->wait[i]->ev);
		free(h->wait[i]->body);
		free(h->wait[i]);
	}
	free(h->wait);
	/* bodies still being hashed get no answer either */
	for (size_t i = 0; i < h->n_ver; i++)
		verifying_free(h->ver[i]);
	free(h->ver);
	if (h->hash_ev)
		event_free(h->hash_ev);
	if (h->commit_ev)
		event_free(h->commit_ev);
	control_server_free(h->srv);
	free(h->what);
	free(h->prefix);
	if (h->secret) {
		explicit_bzero(h->secret, h->secret_len);
		free(h->secret);
	}
	free(h);
}
