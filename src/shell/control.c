/*
 * control: the control socket and the metrics listener. See control.h.
 *
 * libevent 2.1 has no cap on evhttp connections and no hook when one ends,
 * so connections are tracked by hand: the bufferevent callback notes each
 * new connection, and a callback activated at once (it runs before the new
 * socket can become readable) finds its evhttp_connection through the
 * bufferevent's callback argument, refuses it beyond the cap, or registers
 * a close callback and a lifetime timer on it.
 */
#include "config.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "backoff.h"
#include "cluster.h"
#include "control.h"
#include "ctlview.h"
#include "log.h"
#include "report.h"
#include "sbuf.h"
#include "suppress.h"
#include "util.h"

struct control;

/* One evhttp server: the unix socket, the TCP metrics listener, or a
 * further one (control_serve: the webhook receiver), each with its own cap
 * on connections, lifetime and counters. */
struct server {
	struct control *c;
	struct evhttp *http;
	struct evconnlistener *listener; /* owned by http */
	const char *what;                /* for messages: the socket path or address */
	bool metrics_only;
	size_t n_conns, max_conns;
	int lifetime_s;
	const char *busy;                /* the refusal beyond max_conns */
	struct stats_conns *cnt;
	struct event *resume;            /* listens again after a failed accept */
	int accept_failures;             /* in a row; 0: the last accept worked */
	struct server *next_all;
};

/* A connection under the cap. */
struct conn {
	struct control *c;
	struct server *srv;
	struct evhttp_connection *evcon;
	struct event *deadline;
	void (*on_close)(void *arg); /* control_server_watch */
	void *on_close_arg;
	struct conn *next, **prevp;
};

/* A bufferevent handed to evhttp whose connection is not yet known. */
struct fresh {
	struct bufferevent *bev;
	struct server *srv;
};

/* A further server (control_serve). */
struct control_server {
	struct server srv;
};

struct control {
	struct event_base *base;
	struct control_source src;
	struct server sock, tcp;
	char *path;       /* the socket file we created */
	dev_t dev;        /* ... and its identity, so we only remove our own */
	ino_t ino;
	struct fresh *fresh;
	size_t n_fresh, cap_fresh;
	struct event *fresh_ev;
	struct conn *conns;
	struct control_counters cnt;
};

/* --- the handler, without sockets ------------------------------------------- */

static const char *const content_json = "application/json";

/* Answer with JSON text (taken over); a trailing newline so that `curl`
 * output ends cleanly in a terminal. */
static void reply_text(struct control_response *ret, int status, char *text)
{
	size_t n = strlen(text);

	ret->status = status;
	ret->content_type = content_json;
	ret->body = xrealloc(text, n + 2);
	ret->body[n] = '\n';
	ret->body[n + 1] = '\0';
	ret->body_len = n + 1;
}

static void reply_error(struct control_response *ret, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void reply_error(struct control_response *ret, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	char *msg, *text;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	text = ctlview_error_text(code, msg);
	free(msg);
	ret->status = status;
	ret->content_type = content_json;
	ret->body = xasprintf("%s\n", text);
	ret->body_len = strlen(ret->body);
	free(text);
}

static const struct jobspec *spec_of(const struct control_source *src, const struct run *r)
{
	return daemonconf_find(src->conf(src->ctx), r->job);
}

/* Runs the engine still tracks (a slot being forgotten is left out). */
static size_t live_runs(const struct control_source *src, const struct run ***ret)
{
	size_t n = src->n_runs(src->ctx), k = 0;
	const struct run **v = xcalloc(n ? n : 1, sizeof(*v));

	for (size_t i = 0; i < n; i++) {
		const struct run *r = src->run_at(src->ctx, i);
		if (r && src->run_of(src->ctx, r->job) == r)
			v[k++] = r;
	}
	*ret = v;
	return k;
}

static void handle_list(const struct control_source *src, int64_t now, struct control_response *ret)
{
	const struct run **runs;
	const struct jobspec **specs;
	size_t n = live_runs(src, &runs);

	struct ctlview_results *res;

	specs = xcalloc(n ? n : 1, sizeof(*specs));
	res = xcalloc(n ? n : 1, sizeof(*res));
	for (size_t i = 0; i < n; i++) {
		specs[i] = spec_of(src, runs[i]);
		if (src->results_counts)
			src->results_counts(src->ctx, runs[i], &res[i]);
	}
	{
		char *text = ctlview_jobs_text(runs, specs, res, n, now);
		if (src->cluster && text[0] == '{') {
			/* who answers, and who leads: {"cluster": {...}, "now": ... */
			struct sbuf b = { 0 };
			sbuf_adds(&b, "{\"cluster\":{\"node\":");
			sbuf_add_json_str(&b, cluster_node(src->cluster));
			sbuf_addf(&b, ",\"role\":\"%s\",\"leader\":",
				  cluster_role(src->cluster) == CLUSTER_LEADER ? "leader" : "standby");
			sbuf_add_json_str(&b, cluster_leader_name(src->cluster));
			sbuf_adds(&b, "},");
			sbuf_adds(&b, text + 1);
			free(text);
			text = sbuf_steal(&b, NULL);
		}
		reply_text(ret, 200, text);
	}
	free(res);
	free(specs);
	free(runs);
}

static void handle_metrics(const struct control_source *src, const struct control_counters *cnt,
			   struct control_response *ret)
{
	static const char *op_names[API_OP__MAX];
	struct ctlview_metrics m = {
		.stats = src->stats(src->ctx),
		.lateness_bounds = stats_lateness_bounds,
		.n_lateness_bounds = STATS_LATENESS_BUCKETS - 1,
		.op_names = op_names,
		.n_ops = API_OP__MAX,
		.version = PACKAGE_VERSION,
		.control_connections = cnt ? cnt->conns.open : 0,
		.control_refused = cnt ? cnt->conns.refused : 0,
		.control_accept_errors = cnt ? cnt->conns.accept_errors : 0,
	};
	const struct run **runs;

	for (int op = 0; op < API_OP__MAX; op++)
		op_names[op] = api_op_name(op);
	if (cnt)
		memcpy(m.control_requests, cnt->requests, sizeof(m.control_requests));
	m.n_runs = live_runs(src, &runs);
	m.runs = runs;
	ret->status = 200;
	ret->content_type = "text/plain; version=0.0.4; charset=utf-8";
	ret->body = ctlview_metrics_text(&m);
	if (src->cluster) {
		struct sbuf b = { 0 };
		sbuf_adds(&b, ret->body);
		cluster_metrics(src->cluster, &b);
		free(ret->body);
		ret->body = sbuf_steal(&b, NULL);
	}
	ret->body_len = strlen(ret->body);
	free(runs);
}

/* GET /v1/jobs/NAME/results[/START]. */
static void handle_results(const struct control_source *src, const char *name, const char *start_text, bool get,
			   struct control_response *ret)
{
	const char *why = NULL;
	char *body = NULL;
	int64_t start = 0;

	if (!get) {
		ret->allow = "GET";
		reply_error(ret, 405, "method_not_allowed", "only GET is allowed on /v1/jobs/NAME/results");
		return;
	}
	if (start_text) {
		/* unix seconds of the occurrence, 1..CODEC_TIME_MAX */
		size_t n = strlen(start_text);
		if (n == 0 || n > 12 || strspn(start_text, "0123456789") != n ||
		    (start = strtoll(start_text, NULL, 10)) <= 0 || start > CODEC_TIME_MAX) {
			reply_error(ret, 404, "unknown_run", "the run is named by its start in unix seconds");
			return;
		}
	}
	/* (a job gone from the files keeps its results files: they answer,
	 * as batchcallctl reads them while the daemon is down) */
	if (!src->results || src->results(src->ctx, name, start, &body, &why) < 0) {
		reply_error(ret, 404, "no_results", "job '%s': %s", name, why ? why : "no results");
		return;
	}
	reply_text(ret, 200, body);
}

/* A POST body must be empty or one JSON object (its keys are ignored). */
static bool body_ok(const struct control_request *req)
{
	struct json_tokener *tok;
	struct json_object *o;
	bool ok;
	size_t i = 0;

	while (i < req->body_len && strchr(" \t\r\n", req->body[i]) && req->body[i])
		i++;
	if (i == req->body_len)
		return true;
	if (req->body_len > INT32_MAX)
		return false;
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
	ok = o && json_tokener_get_error(tok) == json_tokener_success && json_object_is_type(o, json_type_object);
	if (ok) {
		/* Nothing but whitespace may follow the object. */
		for (size_t k = json_tokener_get_parse_end(tok); k < req->body_len; k++)
			if (!strchr(" \t\r\n", req->body[k]) || !req->body[k])
				ok = false;
	}
	json_object_put(o);
	json_tokener_free(tok);
	return ok;
}

static const struct {
	const char *name;
	int kind;
	const char *done; /* what the operator is told */
} operations[] = {
	{ "cancel", RE_CANCEL_REQ, "cancel requested" },
	{ "retry", RE_RETRY_REQ, "retry requested" },
	{ "trigger", RE_TRIGGER_REQ, "submission triggered" },
	{ "pause", RE_PAUSE_REQ, "pause requested: dialling stops, the recipients not yet called are kept" },
	{ "resume", RE_RESUME_REQ, "resumed: the paused recipients are submitted" },
};

/* A cluster's standby knows the runs that have a record in etcd only: a
 * job of its files without one is the leader's to show and to operate
 * (409 naming it), not unknown. */
static bool standby_job(const struct control_source *src, const char *job, struct control_response *ret)
{
	const char *why = NULL;

	if (!src->cluster || cluster_role(src->cluster) == CLUSTER_LEADER || !daemonconf_find(src->conf(src->ctx), job))
		return false;
	src->request(src->ctx, job, 0, &why);
	reply_error(ret, 409, "refused", "job '%s' has no run recorded yet: %s", job, why ? why : "ask the leader");
	return true;
}

static void handle_operation(const struct control_source *src, const char *job, size_t op,
			     const struct log_peer *peer, struct control_response *ret)
{
	const struct run *r = src->run_of(src->ctx, job);
	struct log_fields f = { .job = job, .peer = peer };
	char who[80] = "";
	const char *why = NULL;
	char *job_text;
	int rc;

	if (!r && standby_job(src, job, ret))
		return;
	if (!r) {
		reply_error(ret, 404, "unknown_job", "no job named '%s'", job);
		return;
	}
	f.run_start = r->start;
	if (peer)
		snprintf(who, sizeof(who), " (uid %" PRIu32 ", gid %" PRIu32 ", pid %" PRId32 ")", peer->uid, peer->gid,
			 peer->pid);
	rc = src->request(src->ctx, job, operations[op].kind, &why);
	if (rc < 0) {
		if (!why)
			why = strerror(-rc);
		log_event(LOG_INFO, EV_CONTROL, &f, "operator request%s to %s job '%s' refused: %s", who,
			  operations[op].name, job, why);
		if (rc == -ENOENT && !src->run_of(src->ctx, job))
			reply_error(ret, 404, "unknown_job", "%s", why);
		else
			reply_error(ret, 409, "refused", "%s", why);
		return;
	}
	/* The request may have ended the run (a cancel before submission). */
	r = src->run_of(src->ctx, job);
	f.state = r ? run_state_name(r->state) : NULL;
	f.batch_id = r ? r->batch_id : NULL;
	log_event(LOG_NOTICE, EV_CONTROL, &f, "operator request%s: %s of job '%s'", who, operations[op].name, job);
	job_text = r ? ctlview_job_text(r, spec_of(src, r), NULL) : NULL;
	reply_text(ret, 200, xasprintf("{\"operation\":\"%s\",\"result\":\"%s\",\"job\":%s}", operations[op].name,
				       operations[op].done, job_text ? job_text : "null"));
	free(job_text);
}

/* POST /v1/suppressions: {"number": "+15550100001" or "whatsapp:ID",
 * "reason": "…" (optional)}. Answered once the addition is on stable
 * storage; anyone who may use the socket may add (as anyone may cancel),
 * and who did is logged. */
static void handle_suppress(const struct control_source *src, const struct control_request *req,
			    struct control_response *ret)
{
	struct json_tokener *tok;
	struct json_object *o = NULL, *v;
	const char *number = NULL, *reason = NULL, *why = NULL;
	char normal[SUPPRESS_NORMAL_MAX], *num_json, *text;
	int rc;

	if (!src->suppress) {
		reply_error(ret, 404, "unknown_route", "no such endpoint; try GET /v1/jobs or GET /metrics");
		return;
	}
	if (req->body_len > 0 && req->body_len <= INT32_MAX) {
		tok = json_tokener_new();
		o = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
		if (o && json_tokener_get_error(tok) != json_tokener_success) {
			json_object_put(o);
			o = NULL;
		}
		/* Nothing but whitespace may follow the object. */
		for (size_t k = o ? json_tokener_get_parse_end(tok) : req->body_len; k < req->body_len; k++)
			if (!strchr(" \t\r\n", req->body[k]) || !req->body[k]) {
				json_object_put(o);
				o = NULL;
				break;
			}
		json_tokener_free(tok);
	}
	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "number", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v)) {
		json_object_put(o);
		reply_error(ret, 400, "bad_request",
			    "the body must be a JSON object with \"number\" (\"+15550100001\" or \"whatsapp:ID\") and "
			    "optionally \"reason\"");
		return;
	}
	number = json_object_get_string(v);
	if (json_object_object_get_ex(o, "reason", &v) && v) {
		if (!json_object_is_type(v, json_type_string) ||
		    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v)) {
			json_object_put(o);
			reply_error(ret, 400, "bad_request", "\"reason\" must be a string");
			return;
		}
		reason = json_object_get_string(v);
	}
	rc = src->suppress(src->ctx, number, reason, req->peer, normal, &why);
	json_object_put(o);
	if (rc == -EINVAL) {
		reply_error(ret, 400, "bad_target", "%s", why ? why : "not a number or WhatsApp id");
		return;
	}
	if (rc == -EAGAIN) {
		/* a cluster's standby: the leader adds */
		reply_error(ret, 409, "refused", "%s", why ? why : "not now");
		return;
	}
	if (rc < 0) {
		reply_error(ret, 507, "state_error", "%s: %s; not added", why ? why : "the state folder refused it",
			    strerror(-rc));
		return;
	}
	v = json_object_new_string(normal);
	num_json = xstrdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	json_object_put(v);
	text = xasprintf("{\"operation\":\"suppress\",\"result\":\"%s\",\"number\":%s}",
			 rc == 0 ? "added to the do-not-call list" : "already on the do-not-call list", num_json);
	free(num_json);
	reply_text(ret, 200, text);
}

void control_handle(const struct control_source *src, const struct control_counters *cnt,
		    const struct control_request *req, int64_t now, struct control_response *ret)
{
	static const char prefix[] = "/v1/jobs/";
	const char *path = req->path ? req->path : "";
	bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
	char name[JOB_NAME_MAX + 1];
	const char *rest, *slash;
	size_t len;

	memset(ret, 0, sizeof(*ret));
	if (strcmp(path, "/metrics") == 0) {
		if (!get) {
			ret->allow = "GET";
			reply_error(ret, 405, "method_not_allowed", "%s /metrics: only GET is allowed", req->method);
			return;
		}
		handle_metrics(src, cnt, ret);
		return;
	}
	if (!req->metrics_only && strcmp(path, "/v1/suppressions") == 0) {
		if (!post) {
			ret->allow = "POST";
			reply_error(ret, 405, "method_not_allowed", "%s /v1/suppressions: only POST is allowed",
				    req->method);
			return;
		}
		handle_suppress(src, req, ret);
		return;
	}
	if (!req->metrics_only && strcmp(path, "/v1/cluster") == 0) {
		if (!src->cluster) {
			reply_error(ret, 404, "not_a_cluster", "this daemon runs alone (no 'cluster' in its configuration)");
			return;
		}
		if (!get) {
			ret->allow = "GET";
			reply_error(ret, 405, "method_not_allowed", "%s /v1/cluster: only GET is allowed", req->method);
			return;
		}
		reply_text(ret, 200, cluster_info_json(src->cluster));
		return;
	}
	if (req->metrics_only || strncmp(path, "/v1/jobs", 8) != 0) {
		reply_error(ret, 404, "unknown_route", "no such endpoint; try GET /v1/jobs or GET /metrics");
		return;
	}
	if (strcmp(path, "/v1/jobs") == 0) {
		if (!get) {
			ret->allow = "GET";
			reply_error(ret, 405, "method_not_allowed", "%s /v1/jobs: only GET is allowed", req->method);
			return;
		}
		handle_list(src, now, ret);
		return;
	}
	if (strncmp(path, prefix, sizeof(prefix) - 1) != 0) {
		reply_error(ret, 404, "unknown_route", "no such endpoint; try GET /v1/jobs or GET /metrics");
		return;
	}
	rest = path + sizeof(prefix) - 1;
	slash = strchr(rest, '/');
	len = slash ? (size_t)(slash - rest) : strlen(rest);
	if (len == 0 || len > JOB_NAME_MAX) {
		reply_error(ret, 404, len ? "unknown_job" : "unknown_route", "%s",
			    len ? "no such job (names are at most 64 characters)" : "no job name given");
		return;
	}
	memcpy(name, rest, len);
	name[len] = '\0';
	if (!job_name_valid(name)) {
		reply_error(ret, 404, "unknown_job", "no such job (names use only A-Z a-z 0-9 . _ -)");
		return;
	}
	if (!slash) {
		const struct run *r;
		if (!get) {
			ret->allow = "GET";
			reply_error(ret, 405, "method_not_allowed", "%s /v1/jobs/NAME: only GET is allowed",
				    req->method);
			return;
		}
		r = src->run_of(src->ctx, name);
		if (!r && standby_job(src, name, ret))
			return;
		if (!r) {
			reply_error(ret, 404, "unknown_job", "no job named '%s'", name);
			return;
		}
		struct ctlview_results res = { 0 };
		if (src->results_counts)
			src->results_counts(src->ctx, r, &res);
		reply_text(ret, 200, ctlview_job_text(r, spec_of(src, r), &res));
		return;
	}
	if (strncmp(slash + 1, "results", 7) == 0 && (slash[8] == '\0' || slash[8] == '/')) {
		handle_results(src, name, slash[8] ? slash + 9 : NULL, get, ret);
		return;
	}
	for (size_t op = 0; op < ARRAY_SIZE(operations); op++) {
		if (strcmp(slash + 1, operations[op].name) != 0)
			continue;
		if (!post) {
			ret->allow = "POST";
			reply_error(ret, 405, "method_not_allowed", "%s /v1/jobs/NAME/%s: only POST is allowed",
				    req->method, operations[op].name);
			return;
		}
		if (!body_ok(req)) {
			reply_error(ret, 400, "bad_request", "the body must be empty or a JSON object");
			return;
		}
		handle_operation(src, name, op, req->peer, ret);
		return;
	}
	reply_error(ret, 404, "unknown_route", "no such operation; use cancel, retry, trigger, pause or resume");
}

/* --- the engine as a source -------------------------------------------------- */

static const struct daemonconf *eng_conf(void *ctx)
{
	return engine_conf(ctx);
}

static size_t eng_n_runs(void *ctx)
{
	return engine_n_runs(ctx);
}

static const struct run *eng_run_at(void *ctx, size_t i)
{
	return engine_run_at(ctx, i);
}

static const struct run *eng_run_of(void *ctx, const char *job)
{
	return engine_run_of(ctx, job);
}

static int eng_request(void *ctx, const char *job, int kind, const char **why)
{
	return engine_request(ctx, job, kind, why);
}

static const struct stats *eng_stats(void *ctx)
{
	return engine_get_stats(ctx);
}

static int eng_results(void *ctx, const char *job, int64_t start, char **ret, const char **why)
{
	return report_render(ctx, job, start, ret, why);
}

static void eng_results_counts(void *ctx, const struct run *r, struct ctlview_results *ret)
{
	report_counts(ctx, r->job, r->start, ret);
	engine_touch_next(ctx, r->job, r->start, &ret->touch_next, &ret->touch_due);
}

static int eng_suppress(void *ctx, const char *target, const char *reason, const struct log_peer *peer, char *normal,
			const char **why)
{
	return engine_suppress(ctx, target, reason, peer, normal, why);
}

/* --- connections ------------------------------------------------------------- */

static void conn_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct conn *k = arg;

	/* libevent may report a close twice (reset, then free): once is
	 * enough. */
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	if (k->on_close)
		k->on_close(k->on_close_arg);
	*k->prevp = k->next;
	if (k->next)
		k->next->prevp = k->prevp;
	event_free(k->deadline);
	k->srv->cnt->open--;
	k->srv->n_conns--;
	free(k);
}

/* A connection may live its server's lifetime_s at most, whatever it does:
 * a client trickling bytes keeps resetting the idle timeout. */
static void conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *k = arg;

	(void)fd;
	(void)what;
	evhttp_connection_free(k->evcon); /* runs conn_close_cb */
}

static const char control_busy[] =
	"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
	"Content-Length: 92\r\n\r\n"
	"{\"error\":{\"code\":\"busy\",\"message\":\"too many connections to the control socket; try again\"}}\n";

static void refuse(struct server *srv, struct bufferevent *bev, struct evhttp_connection *evcon)
{
	evutil_socket_t fd = bufferevent_getfd(bev);
	ssize_t w;

	/* A fresh socket's buffer takes these few bytes at once; if not, the
	 * client just sees the connection close. */
	if (fd >= 0)
		w = write(fd, srv->busy, strlen(srv->busy));
	(void)w;
	srv->cnt->refused++;
	evhttp_connection_free(evcon);
}

static void fresh_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;
	struct fresh *v = c->fresh;
	size_t n = c->n_fresh;

	(void)fd;
	(void)what;
	c->fresh = NULL;
	c->n_fresh = c->cap_fresh = 0;
	for (size_t i = 0; i < n; i++) {
		void *cbarg = NULL;
		struct evhttp_connection *evcon;
		struct timeval life = { .tv_sec = v[i].srv->lifetime_s };
		struct conn *k;

		bufferevent_getcb(v[i].bev, NULL, NULL, NULL, &cbarg);
		evcon = cbarg;
		if (!evcon)
			continue;
		if (v[i].srv->n_conns >= v[i].srv->max_conns) {
			refuse(v[i].srv, v[i].bev, evcon);
			continue;
		}
		k = xcalloc(1, sizeof(*k));
		k->c = c;
		k->srv = v[i].srv;
		k->srv->n_conns++;
		k->evcon = evcon;
		k->deadline = evtimer_new(c->base, conn_deadline_cb, k);
		evtimer_add(k->deadline, &life);
		k->next = c->conns;
		if (k->next)
			k->next->prevp = &k->next;
		k->prevp = &c->conns;
		c->conns = k;
		k->srv->cnt->open++;
		evhttp_connection_set_closecb(evcon, conn_close_cb, k);
	}
	free(v);
}

/* evhttp asks for the bufferevent of each accepted connection before it
 * knows the socket; the connection is looked at in fresh_cb. */
static struct bufferevent *bev_cb(struct event_base *base, void *arg)
{
	struct server *srv = arg;
	struct control *c = srv->c;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);

	if (!bev)
		return NULL;
	srv->accept_failures = 0; /* an accept worked */
	xgrow((void **)&c->fresh, &c->cap_fresh, c->n_fresh + 1, sizeof(*c->fresh));
	c->fresh[c->n_fresh++] = (struct fresh){ .bev = bev, .srv = srv };
	event_active(c->fresh_ev, EV_TIMEOUT, 0);
	return bev;
}

/* --- requests ---------------------------------------------------------------- */

/* The credentials of the process at the other end of the unix socket, as
 * the kernel recorded them when it connected. */
static int peer_of(struct evhttp_request *req, struct log_peer *ret)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0 || len != sizeof(uc))
		return -EINVAL;
	ret->uid = (uint32_t)uc.uid;
	ret->gid = (uint32_t)uc.gid;
	ret->pid = (int32_t)uc.pid;
	return 0;
}

static const char *method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_PATCH: return "PATCH";
	default: return "OTHER";
	}
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 507: return "Insufficient Storage";
	default: return NULL;
	}
}

static void request_cb(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	struct control *c = srv->c;
	struct evbuffer *in = evhttp_request_get_input_buffer(req), *out;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const char *uri = evhttp_request_get_uri(req);
	struct control_request cr = { .metrics_only = srv->metrics_only };
	struct control_response resp;
	struct log_peer peer;
	char *path;

	path = xstrndup(uri, strcspn(uri, "?#"));
	cr.method = method_name(evhttp_request_get_command(req));
	cr.path = path;
	cr.body_len = evbuffer_get_length(in);
	cr.body = cr.body_len ? (const char *)evbuffer_pullup(in, -1) : "";
	if (!srv->metrics_only && peer_of(req, &peer) == 0)
		cr.peer = &peer;
	if (cr.body_len > CONTROL_MAX_BODY) {
		/* evhttp refuses larger bodies itself; this is the guard if
		 * that limit ever changes. */
		memset(&resp, 0, sizeof(resp));
		resp.status = 413;
		resp.content_type = content_json;
		resp.body = ctlview_error_text("body_too_large", "the body is larger than 64 KiB");
		resp.body_len = strlen(resp.body);
	} else {
		control_handle(&c->src, &c->cnt, &cr, (int64_t)time(NULL), &resp);
	}
	if (resp.status / 100 >= 2 && resp.status / 100 <= 5)
		c->cnt.requests[resp.status / 100]++;
	evhttp_add_header(h, "Content-Type", resp.content_type);
	if (resp.allow)
		evhttp_add_header(h, "Allow", resp.allow);
	out = evbuffer_new();
	evbuffer_add(out, resp.body, resp.body_len);
	evhttp_send_reply(req, resp.status, reason(resp.status), out);
	evbuffer_free(out);
	free(resp.body);
	free(path);
}

/* Every live server: libevent hands a listener's error callback the
 * evhttp (the listener's user data), and this finds its server. */
static struct server *all_servers;

static struct server *server_of_http(const struct evhttp *http)
{
	for (struct server *s = all_servers; s; s = s->next_all)
		if (s->http == http)
			return s;
	return NULL;
}

static void server_forget(struct server *srv)
{
	for (struct server **p = &all_servers; *p; p = &(*p)->next_all) {
		if (*p == srv) {
			*p = srv->next_all;
			break;
		}
	}
	if (srv->resume)
		event_free(srv->resume);
	srv->resume = NULL;
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(srv->listener);
}

/* accept() failed for a reason that waiting for readability will not cure
 * (EMFILE, ENFILE, ENOBUFS, ENOMEM): the socket stays readable, so a
 * listener left enabled would call accept again at once, forever. Pause it
 * and listen again after a delay that doubles while the failures go on
 * (BACKOFF_ACCEPT). */
static void accept_error_cb(struct evconnlistener *l, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();
	struct server *srv = server_of_http(arg);
	struct timeval tv;
	int64_t ms;

	if (!srv)
		return;
	evconnlistener_disable(l);
	srv->cnt->accept_errors++;
	ms = backoff_wait_ms(BACKOFF_ACCEPT, srv->accept_failures, 0, -1);
	if (srv->accept_failures == 0)
		log_event(LOG_WARNING, EV_CONTROL_ACCEPT, NULL,
			  "cannot accept connections on '%s': %s; pausing it, listening again in %" PRId64 " ms",
			  srv->what, strerror(err), ms);
	if (srv->accept_failures < INT_MAX)
		srv->accept_failures++;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(srv->resume, &tv);
}

/* Serve requests of listener l (taken over) on srv's evhttp. */
static int server_listen(struct server *srv, struct evconnlistener *l)
{
	if (!evhttp_bind_listener(srv->http, l)) {
		evconnlistener_free(l);
		return -ENOMEM;
	}
	srv->listener = l;
	/* evhttp set the accept callback and its argument, the evhttp. */
	evconnlistener_set_error_cb(l, accept_error_cb);
	return 0;
}

/* srv's evhttp with o's limits (o->what is set later by the callers). */
static struct evhttp *server_http_new(struct control *c, struct server *srv, const struct control_serve *o)
{
	struct evhttp *http = evhttp_new(c->base);

	if (!http)
		return NULL;
	srv->c = c;
	srv->http = http;
	srv->max_conns = o->max_conns;
	srv->lifetime_s = o->lifetime_s;
	srv->busy = o->busy;
	srv->cnt = o->cnt;
	srv->resume = evtimer_new(c->base, resume_cb, srv);
	if (!srv->resume) {
		evhttp_free(http);
		srv->http = NULL;
		return NULL;
	}
	srv->next_all = all_servers;
	all_servers = srv;
	evhttp_set_max_body_size(http, o->max_body);
	evhttp_set_max_headers_size(http, o->max_headers);
	evhttp_set_timeout(http, o->idle_timeout_s);
	/* Every common method reaches the handler, which answers 405 itself. */
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
						 EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(http, o->request_cb, o->arg ? o->arg : srv);
	evhttp_set_bevcb(http, bev_cb, srv);
	return http;
}

/* The control socket's and the metrics listener's limits. */
static struct control_serve control_limits(struct control *c, size_t max_conns)
{
	return (struct control_serve){
		.max_conns = max_conns,
		.lifetime_s = CONTROL_CONN_LIFETIME_S,
		.idle_timeout_s = CONTROL_IDLE_TIMEOUT_S,
		.max_body = CONTROL_MAX_BODY,
		.max_headers = CONTROL_MAX_HEADERS,
		.busy = control_busy,
		.cnt = &c->cnt.conns,
		.request_cb = request_cb,
	};
}

/* --- the unix socket --------------------------------------------------------- */

/* Is a daemon answering on the socket at path? A stale file refuses
 * connections. */
static bool socket_alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	alive = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EAGAIN ||
		errno == EINPROGRESS;
	close(fd);
	return alive;
}

static int open_unix(struct control *c, const struct daemonconf *conf, int *ret_fd, char **cause)
{
	const char *path = conf->control_socket;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd = -1, r;

	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path)) {
		*cause = xasprintf("control socket path '%s' is empty or longer than %zu bytes", path ? path : "",
				   sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			*cause = xasprintf("'%s' exists and is not a socket; not replacing it", path);
			return -EEXIST;
		}
		if (socket_alive(&sa)) {
			*cause = xasprintf("another daemon answers on the control socket '%s'", path);
			return -EADDRINUSE;
		}
		/* A stale socket from a daemon that did not stop cleanly. */
		if (unlink(path) < 0 && errno != ENOENT) {
			r = -errno;
			*cause = xasprintf("cannot remove the stale control socket '%s': %s", path, strerror(errno));
			return r;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		*cause = xasprintf("cannot create the control socket: %s", strerror(errno));
		return r;
	}
	/* Never let the socket exist with wider permissions, even briefly. */
	old = umask(0117);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0) {
		r = -errno;
		*cause = xasprintf("cannot bind the control socket '%s': %s", path, strerror(errno));
		goto fail;
	}
	if (stat(path, &st) < 0) {
		r = -errno;
		*cause = xasprintf("cannot stat the control socket '%s': %s", path, strerror(errno));
		goto fail;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->path = xstrdup(path);
	if (chmod(path, 0660) < 0) {
		r = -errno;
		*cause = xasprintf("cannot chmod the control socket '%s': %s", path, strerror(errno));
		goto fail;
	}
	if (conf->control_group) {
		struct group gr, *res = NULL;
		char buf[4096];
		int e = getgrnam_r(conf->control_group, &gr, buf, sizeof(buf), &res);
		if (!res) {
			r = e ? -e : -ENOENT;
			*cause = xasprintf("control_group '%s': %s", conf->control_group,
					   e ? strerror(e) : "no such group");
			goto fail;
		}
		/* Under the unit the group is the service's own (Group=): the
		 * socket was born with it, and the sandbox would refuse a
		 * chown anyway (SystemCallFilter=~@privileged). */
		if (st.st_gid != gr.gr_gid && chown(path, (uid_t)-1, gr.gr_gid) < 0) {
			r = -errno;
			*cause = xasprintf("cannot give the control socket '%s' to group '%s': %s (under systemd, "
					   "make it the service's group: Group=%s in a drop-in)", path,
					   conf->control_group, strerror(errno), conf->control_group);
			goto fail;
		}
	}
	if (listen(fd, 128) < 0) {
		r = -errno;
		*cause = xasprintf("cannot listen on the control socket '%s': %s", path, strerror(errno));
		goto fail;
	}
	*ret_fd = fd;
	return 0;
fail:
	close(fd);
	return r;
}

static int open_tcp(struct control *c, const char *addr, char **cause)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	struct evconnlistener *l;

	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &len) < 0) {
		*cause = xasprintf("metrics_listen '%s' is not an address and port", addr);
		return -EINVAL;
	}
	struct control_serve o = control_limits(c, CONTROL_MAX_METRICS_CONNECTIONS);

	if (!server_http_new(c, &c->tcp, &o)) {
		*cause = xstrdup("cannot create the metrics HTTP server");
		return -ENOMEM;
	}
	c->tcp.metrics_only = true;
	c->tcp.what = addr;
	l = evconnlistener_new_bind(c->base, NULL, NULL,
				    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, 64,
				    (struct sockaddr *)&ss, len);
	if (!l) {
		int e = errno;
		*cause = xasprintf("cannot listen on metrics_listen '%s': %s", addr, strerror(e));
		return e ? -e : -EADDRINUSE;
	}
	if (server_listen(&c->tcp, l) < 0) {
		*cause = xasprintf("cannot serve metrics on '%s'", addr);
		return -ENOMEM;
	}
	return 0;
}

void control_engine_source(struct engine *e, struct control_source *ret)
{
	*ret = (struct control_source){
		.ctx = e,
		.conf = eng_conf,
		.n_runs = eng_n_runs,
		.run_at = eng_run_at,
		.run_of = eng_run_of,
		.request = eng_request,
		.stats = eng_stats,
		.results = eng_results,
		.results_counts = eng_results_counts,
		.suppress = eng_suppress,
	};
}

void control_set_source(struct control *c, const struct control_source *src)
{
	c->src = *src;
}

int control_new(struct event_base *base, struct engine *e, const struct daemonconf *conf, struct control **ret,
		char **cause)
{
	struct control_source src;

	control_engine_source(e, &src);
	return control_new_src(base, &src, conf, ret, cause);
}

int control_new_src(struct event_base *base, const struct control_source *src, const struct daemonconf *conf,
		    struct control **ret, char **cause)
{
	struct control *c = xcalloc(1, sizeof(*c));
	struct control_serve o = control_limits(c, CONTROL_MAX_CONNECTIONS);
	struct evconnlistener *l;
	int fd = -1, r;

	c->base = base;
	c->src = *src;
	c->fresh_ev = event_new(base, -1, 0, fresh_cb, c);
	if (!c->fresh_ev || !server_http_new(c, &c->sock, &o)) {
		*cause = xstrdup("cannot create the control HTTP server");
		r = -ENOMEM;
		goto fail;
	}
	r = open_unix(c, conf, &fd, cause);
	if (r < 0)
		goto fail;
	l = evconnlistener_new(base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (!l) {
		close(fd);
		*cause = xstrdup("cannot listen on the control socket");
		r = -ENOMEM;
		goto fail;
	}
	c->sock.what = c->path;
	if (server_listen(&c->sock, l) < 0) {
		*cause = xstrdup("cannot serve the control socket");
		r = -ENOMEM;
		goto fail;
	}
	if (conf->metrics_listen) {
		r = open_tcp(c, conf->metrics_listen, cause);
		if (r < 0)
			goto fail;
	}
	log_event(LOG_INFO, EV_CONTROL_LISTENING, NULL, "control socket listening on '%s'%s%s", c->path, conf->metrics_listen ? ", metrics on " : "",
		conf->metrics_listen ? conf->metrics_listen : "");
	*ret = c;
	return 0;
fail:
	control_free(c);
	return r;
}

void control_free(struct control *c)
{
	struct stat st;

	if (!c)
		return;
	/* Freeing the servers closes their connections (conn_close_cb). */
	server_forget(&c->sock);
	server_forget(&c->tcp);
	if (c->sock.http)
		evhttp_free(c->sock.http);
	if (c->tcp.http)
		evhttp_free(c->tcp.http);
	if (c->fresh_ev)
		event_free(c->fresh_ev);
	free(c->fresh);
	while (c->conns) {
		struct conn *k = c->conns;
		c->conns = k->next;
		event_free(k->deadline);
		free(k);
	}
	if (c->path && stat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	free(c->path);
	free(c);
}

int control_serve(struct control *c, struct evconnlistener *l, const struct control_serve *o,
		  struct control_server **ret)
{
	struct control_server *s = xcalloc(1, sizeof(*s));

	if (!server_http_new(c, &s->srv, o)) {
		evconnlistener_free(l);
		free(s);
		return -ENOMEM;
	}
	s->srv.what = o->what;
	if (server_listen(&s->srv, l) < 0) {
		control_server_free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

void control_server_free(struct control_server *s)
{
	struct control *c;
	size_t k = 0;

	if (!s)
		return;
	c = s->srv.c;
	server_forget(&s->srv);
	/* Freeing the evhttp closes its connections (conn_close_cb); one that
	 * libevent freed without telling, and a connection not yet looked
	 * at, must not point at the server after it. */
	if (s->srv.http)
		evhttp_free(s->srv.http);
	for (struct conn **p = &c->conns; *p;) {
		struct conn *q = *p;
		if (q->srv != &s->srv) {
			p = &q->next;
			continue;
		}
		*p = q->next;
		if (q->next)
			q->next->prevp = p;
		event_free(q->deadline);
		s->srv.cnt->open--;
		free(q);
	}
	for (size_t i = 0; i < c->n_fresh; i++)
		if (c->fresh[i].srv != &s->srv)
			c->fresh[k++] = c->fresh[i];
	c->n_fresh = k;
	free(s);
}

void control_server_watch(struct control_server *s, struct evhttp_connection *evcon, void (*cb)(void *arg),
			  void *arg)
{
	for (struct conn *k = s->srv.c->conns; k; k = k->next) {
		if (k->evcon == evcon && k->srv == &s->srv) {
			k->on_close = cb;
			k->on_close_arg = arg;
			return;
		}
	}
}
