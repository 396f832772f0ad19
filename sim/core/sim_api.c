/*
 * api: one request in, one response (and a connection action) out.
 *
 * Order of checks follows the real server (FastAPI): route (404 / 405),
 * then request validation (422, before authentication, as observed on
 * ElevenLabs), then the xi-api-key (401), then the batch lookup (404) and
 * the operation. Simulated time is the real clock handed in plus whatever
 * /_sim/advance added; the model is brought up to it on every request.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sim_api.h"
#include "sim_conv.h"
#include "sim_hooks.h"
#include "sim_render.h"
#include "util.h"
#include "sim_validate.h"

struct fault {
	int64_t id;
	enum sim_endpoint endpoint; /* SIM_EP_NONE = every endpoint ("*") */
	enum sim_fault_kind kind;
	int status;
	char retry_after[64];
	bool has_body; /* status: a proxy's page instead of the API's error body */
	char body[SIM_FAULT_BODY_MAX + 1];
	int64_t delay_ms;
	int64_t count;     /* as created; -1 = forever */
	int64_t remaining; /* -1 = forever */
	double probability;
	int64_t hits;
};

struct logged_request {
	uint64_t seq;
	int64_t time_us;
	char *method, *path, *query, *body;
	size_t body_len;
	enum sim_endpoint endpoint;
	bool api_key_ok;
	int status; /* -1 = no answer (dropped, or still being served) */
	enum sim_fault_kind fault;
	char batch_id[40];
};

struct sim_api {
	struct sim_model *m;
	struct sim_hooks *hooks;
	char *api_key;
	uint64_t rng;
	int64_t offset_us; /* added by /_sim/advance */
	struct fault *faults;
	size_t n_faults, cap_faults;
	int64_t next_fault_id;
	struct logged_request *log;
	size_t n_log, cap_log;
	uint64_t next_seq;
};

static const char *const endpoint_names[] = {"submit", "list",   "get",          "cancel",
					     "retry",  "delete", "export",       "conversation",
					     "conversations"};
static const char *const fault_names[] = {"none",      "status",    "delay",          "drop",       "apply_then_drop",
					  "malformed", "truncated", "apply_then_500", "close_after"};

static const char *sim_endpoint_name(enum sim_endpoint ep)
{
	return ep >= 0 && ep < SIM_EP_COUNT ? endpoint_names[ep] : NULL;
}

static const char *sim_fault_kind_name(enum sim_fault_kind k)
{
	return (unsigned)k < ARRAY_SIZE(fault_names) ? fault_names[k] : "none";
}

static uint64_t rng_next(struct sim_api *a)
{
	/* splitmix64: seeded by --seed so fault probabilities replay */
	uint64_t z = (a->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct sim_api *sim_api_new(const struct sim_params *p, const char *api_key)
{
	struct sim_api *a = xcalloc(1, sizeof(*a));

	a->m = sim_model_new(p);
	a->hooks = sim_hooks_new(a->m, p->seed, p->speed);
	a->api_key = xstrdup(api_key);
	a->rng = p->seed;
	a->next_fault_id = 1;
	a->next_seq = 1;
	return a;
}

static void logged_request_clear(struct logged_request *e)
{
	free(e->method);
	free(e->path);
	free(e->query);
	free(e->body);
}

static void log_clear(struct sim_api *a)
{
	for (size_t i = 0; i < a->n_log; i++)
		logged_request_clear(&a->log[i]);
	a->n_log = 0;
}

void sim_api_free(struct sim_api *a)
{
	if (!a)
		return;
	sim_hooks_free(a->hooks);
	sim_model_free(a->m);
	free(a->api_key);
	free(a->faults);
	log_clear(a);
	free(a->log);
	free(a);
}

struct sim_model *sim_api_model(struct sim_api *a)
{
	return a->m;
}

void sim_response_clear(struct sim_response *r)
{
	if (!r)
		return;
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

/* --- small helpers ------------------------------------------------------ */

static void set_body(struct sim_response *r, int status, const char *ctype, struct sbuf *b)
{
	free(r->body);
	r->status = status;
	r->content_type = ctype;
	r->body = sbuf_steal(b, &r->body_len);
}

static void set_json(struct sim_response *r, int status, const char *text)
{
	struct sbuf b = {0};

	sbuf_adds(&b, text);
	set_body(r, status, "application/json", &b);
}

static void set_json_owned(struct sim_response *r, int status, char *text)
{
	free(r->body);
	r->status = status;
	r->content_type = "application/json";
	r->body = text;
	r->body_len = strlen(text);
}

static void request_id(struct sim_api *a, char *buf)
{
	snprintf(buf, 33, "%016" PRIx64 "%016" PRIx64, rng_next(a), rng_next(a));
}

static void set_error_mirror(struct sim_api *a, struct sim_response *r, int status, const char *type,
			     const char *code, const char *message, const char *mirror)
{
	struct sbuf b = {0};
	char rid[33];

	request_id(a, rid);
	sim_render_error(&b, type, code, message, mirror, rid);
	set_body(r, status, "application/json", &b);
}

static void set_error(struct sim_api *a, struct sim_response *r, int status, const char *type,
		      const char *code, const char *message)
{
	set_error_mirror(a, r, status, type, code, message, code);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decode n bytes of s (and '+' as space when plus). */
static char *pct_decode(const char *s, size_t n, bool plus)
{
	char *out = xmalloc(n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else if (plus && s[i] == '+') {
			*o++ = ' ';
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

/* The last value of a query parameter (decoded, caller frees), or NULL. */
static char *query_get(const char *query, const char *name)
{
	char *found = NULL;
	size_t nl = strlen(name);

	for (const char *p = query; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t kl = eq ? (size_t)(eq - p) : len;
		char *k = pct_decode(p, kl, true);
		if (strlen(k) == nl && memcmp(k, name, nl) == 0) {
			free(found);
			found = eq ? pct_decode(eq + 1, len - kl - 1, true) : xstrdup("");
		}
		free(k);
		p = amp ? amp + 1 : NULL;
	}
	return found;
}

/* --- routing ------------------------------------------------------------ */

#define API_PREFIX "/v1/convai/batch-calling/"
#define CONV_PATH "/v1/convai/conversations"

enum route_result { ROUTE_OK, ROUTE_NOT_FOUND, ROUTE_METHOD };

/* FastAPI/Starlette rule: the first route matching path and method wins;
 * if only paths matched, 405 with the first such route's methods. */
static enum route_result route(const char *method, const char *raw_path, enum sim_endpoint *ret_ep,
			       char **ret_id, const char **ret_allow)
{
	static const struct {
		const char *method;
		const char *fixed; /* exact segment, or NULL for {batch_id} */
		const char *suffix; /* second segment, or NULL */
		enum sim_endpoint ep;
	} routes[] = {
		{"POST", "submit", NULL, SIM_EP_SUBMIT},  {"GET", "workspace", NULL, SIM_EP_LIST},
		{"GET", NULL, NULL, SIM_EP_GET},          {"POST", NULL, "cancel", SIM_EP_CANCEL},
		{"POST", NULL, "retry", SIM_EP_RETRY},    {"DELETE", NULL, NULL, SIM_EP_DELETE},
		{"GET", NULL, "export", SIM_EP_EXPORT},
	};
	char *path = pct_decode(raw_path, strlen(raw_path), false);
	const char *rest, *slash;
	char *seg1 = NULL;
	const char *seg2 = NULL;
	const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
	enum route_result res = ROUTE_NOT_FOUND;

	*ret_ep = SIM_EP_NONE;
	*ret_id = NULL;
	*ret_allow = NULL;
	if (strncmp(path, CONV_PATH, strlen(CONV_PATH)) == 0 &&
	    (path[strlen(CONV_PATH)] == '\0' || path[strlen(CONV_PATH)] == '/')) {
		/* GET /v1/convai/conversations[/{conversation_id}], GET only */
		const char *id = path[strlen(CONV_PATH)] ? path + strlen(CONV_PATH) + 1 : NULL;
		if (id && (!*id || strchr(id, '/')))
			goto out;
		if (strcmp(m, "GET") != 0) {
			res = ROUTE_METHOD;
			*ret_allow = "GET";
			goto out;
		}
		*ret_ep = id ? SIM_EP_CONVERSATION : SIM_EP_CONVERSATIONS;
		*ret_id = id ? xstrdup(id) : NULL;
		res = ROUTE_OK;
		goto out;
	}
	if (strncmp(path, API_PREFIX, strlen(API_PREFIX)) != 0)
		goto out;
	rest = path + strlen(API_PREFIX);
	slash = strchr(rest, '/');
	seg1 = slash ? xstrndup(rest, (size_t)(slash - rest)) : xstrdup(rest);
	if (slash) {
		seg2 = slash + 1;
		if (strchr(seg2, '/'))
			goto out;
	}
	if (!*seg1)
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		if (routes[i].fixed && (strcmp(seg1, routes[i].fixed) != 0 || seg2))
			continue;
		if (!routes[i].fixed && (routes[i].suffix ? !seg2 || strcmp(seg2, routes[i].suffix) != 0 : seg2 != NULL))
			continue;
		if (strcmp(m, routes[i].method) != 0) {
			if (res == ROUTE_NOT_FOUND) {
				res = ROUTE_METHOD;
				*ret_allow = routes[i].method;
			}
			continue;
		}
		*ret_ep = routes[i].ep;
		*ret_allow = NULL;
		if (!routes[i].fixed)
			*ret_id = xstrdup(seg1);
		res = ROUTE_OK;
		break;
	}
out:
	free(seg1);
	free(path);
	return res;
}

/* --- the batch endpoints ------------------------------------------------ */

static bool check_auth(struct sim_api *a, const struct sim_request *req, struct sim_response *r)
{
	/* the legacy "status" mirror differs from "code" here, as observed */
	if (!req->api_key) {
		set_error_mirror(a, r, 401, "authentication_error", "unauthorized",
				 "Neither authorization header nor xi-api-key received, please provide one.",
				 "needs_authorization");
		return false;
	}
	if (strcmp(req->api_key, a->api_key) != 0) {
		set_error_mirror(a, r, 401, "authentication_error", "unauthorized", "Invalid API key",
				 "invalid_api_key");
		return false;
	}
	return true;
}

static void not_found(struct sim_api *a, struct sim_response *r, const char *id)
{
	char *msg = xasprintf("Batch call %s not found.", id);

	set_error(a, r, 404, "not_found", "batch_call_not_found", msg);
	free(msg);
}

static void reply_batch(struct sim_api *a, struct sim_response *r, struct sim_batch *b, bool detailed)
{
	struct sbuf out = {0};

	sim_render_batch(&out, a->m, b, detailed);
	set_body(r, 200, "application/json", &out);
}

/* Handle a routed API request at simulated time now; *ret_batch names the
 * batch created or touched. */
static void handle_api(struct sim_api *a, enum sim_endpoint ep, const char *id, const struct sim_request *req,
		       int64_t now, struct sim_response *r, char *ret_batch)
{
	struct sim_parsed *parsed = NULL;
	struct sim_batch *b = NULL;
	char *detail = NULL, *limit_s = NULL, *agent = NULL, *last_doc = NULL;
	long long limit = 100;
	int err;

	sim_model_advance(a->m, now);
	/* 1. validation (422) comes before authentication */
	switch (ep) {
	case SIM_EP_SUBMIT:
		if (sim_validate_submit(req->body, req->body_len, &parsed, &detail) < 0) {
			set_json_owned(r, 422, detail);
			goto out;
		}
		break;
	case SIM_EP_CONVERSATIONS: {
		static const char *const verdicts[] = {"success", "failure", "unknown", "error"};
		static const char *const modes[] = {"exclude", "include"};
		char *v;
		limit = 30;
		limit_s = query_get(req->query, "page_size");
		if (limit_s)
			detail = sim_validate_query_int("page_size", limit_s, 1, 100, &limit);
		if ((v = query_get(req->query, "call_successful"))) {
			detail = sim_validate_join(detail, sim_validate_query_enum("call_successful", v, verdicts, 4));
			free(v);
		}
		if ((v = query_get(req->query, "summary_mode"))) {
			detail = sim_validate_join(detail, sim_validate_query_enum("summary_mode", v, modes, 2));
			free(v);
		}
		if (detail) {
			set_json_owned(r, 422, detail);
			goto out;
		}
		break;
	}
	case SIM_EP_CONVERSATION: {
		static const char *const formats[] = {"json", "opentelemetry"};
		char *v = query_get(req->query, "format");
		if (v) {
			detail = sim_validate_query_enum("format", v, formats, 2);
			free(v);
		}
		if (detail) {
			set_json_owned(r, 422, detail);
			goto out;
		}
		break;
	}
	case SIM_EP_LIST:
	case SIM_EP_EXPORT:
		limit_s = query_get(req->query, "limit");
		if (limit_s) {
			detail = sim_validate_query_int("limit", limit_s, 1, ep == SIM_EP_LIST ? 100 : -1, &limit);
			if (detail) {
				set_json_owned(r, 422, detail);
				goto out;
			}
		} else if (ep == SIM_EP_EXPORT) {
			limit = -1;
		}
		break;
	default:
		break;
	}
	/* 2. authentication */
	if (!check_auth(a, req, r))
		goto out;
	/* 3. the batch */
	if (id && ep != SIM_EP_CONVERSATION) {
		b = sim_model_find(a->m, id);
		if (!b) {
			not_found(a, r, id);
			goto out;
		}
		snprintf(ret_batch, 40, "%s", id);
	}
	switch (ep) {
	case SIM_EP_SUBMIT:
		b = sim_model_submit(a->m, sim_parsed_submit(parsed));
		{
			struct sim_batch_view v;
			sim_batch_view(a->m, b, &v);
			snprintf(ret_batch, 40, "%s", v.id);
		}
		reply_batch(a, r, b, false);
		break;
	case SIM_EP_LIST: {
		struct sim_batch **v = xcalloc((size_t)limit, sizeof(*v));
		struct sbuf out = {0};
		bool more;
		size_t n;
		agent = query_get(req->query, "agent_id");
		last_doc = query_get(req->query, "last_doc");
		n = sim_model_list(a->m, agent, last_doc && *last_doc ? last_doc : NULL, (size_t)limit, v, &more);
		sim_render_list(&out, a->m, v, n, more);
		set_body(r, 200, "application/json", &out);
		free(v);
		break;
	}
	case SIM_EP_GET:
		reply_batch(a, r, b, true);
		break;
	case SIM_EP_CANCEL:
		err = sim_model_cancel(a->m, b);
		if (err < 0) {
			struct sim_batch_view v;
			char *msg;
			sim_batch_view(a->m, b, &v);
			msg = xasprintf("Batch call cannot be cancelled in current state (%s).",
					sim_batch_status_str(v.status));
			set_error(a, r, 400, "invalid_request", "invalid_state", msg);
			free(msg);
			break;
		}
		reply_batch(a, r, b, false);
		break;
	case SIM_EP_RETRY:
		err = sim_model_retry(a->m, b);
		if (err == -EBUSY) {
			struct sim_batch_view v;
			char *msg;
			sim_batch_view(a->m, b, &v);
			msg = xasprintf("Batch call cannot be retried in current state (%s); only completed or "
					"failed batches can be retried.",
					sim_batch_status_str(v.status));
			set_error(a, r, 400, "invalid_request", "invalid_state", msg);
			free(msg);
			break;
		}
		if (err == -ENOENT) {
			set_error(a, r, 400, "invalid_request", "nothing_to_retry",
				  "Batch call has no failed or voicemail recipients to retry.");
			break;
		}
		reply_batch(a, r, b, false);
		break;
	case SIM_EP_DELETE:
		sim_model_delete(a->m, b);
		free(r->body);
		r->body = NULL;
		r->body_len = 0;
		r->status = 204;
		r->content_type = NULL;
		break;
	case SIM_EP_EXPORT: {
		struct sbuf out = {0};
		sim_render_csv(&out, a->m, b, limit < 0 ? SIZE_MAX : (size_t)limit);
		set_body(r, 200, "text/csv; charset=utf-8", &out);
		break;
	}
	case SIM_EP_CONVERSATION: {
		struct sim_conv_ref ref;
		struct sim_conv_view v;
		struct sbuf out = {0};
		char *fmt;
		if (!sim_model_find_conv(a->m, id, &ref)) {
			char *msg = xasprintf("Conversation %s not found.", id);
			set_error(a, r, 404, "not_found", "conversation_not_found", msg);
			free(msg);
			break;
		}
		fmt = query_get(req->query, "format");
		sim_conv_view(a->m, &ref, &v);
		sim_render_conv(&out, &v, fmt && strcmp(fmt, "opentelemetry") == 0);
		free(fmt);
		set_body(r, 200, "application/json", &out);
		break;
	}
	case SIM_EP_CONVERSATIONS: {
		struct sim_conv_query q = {.verdict = -1, .page_size = (size_t)limit};
		struct sbuf out = {0};
		char *v = query_get(req->query, "call_successful"), *mode = query_get(req->query, "summary_mode");
		agent = query_get(req->query, "agent_id");
		last_doc = query_get(req->query, "cursor");
		q.agent_id = agent && *agent ? agent : NULL;
		q.cursor = last_doc;
		q.verdict = v ? sim_verdict_filter_parse(v) : -1;
		q.with_summary = mode && strcmp(mode, "include") == 0;
		sim_render_conv_page(&out, a->m, &q);
		set_body(r, 200, "application/json", &out);
		free(v);
		free(mode);
		break;
	}
	default:
		break;
	}
out:
	free(limit_s);
	free(agent);
	free(last_doc);
	sim_parsed_free(parsed);
}

/* --- faults ------------------------------------------------------------- */

static void fault_status_reply(struct sim_api *a, const struct sim_fault_hit *f, struct sim_response *r)
{
	static const struct {
		int status;
		const char *type, *code;
	} map[] = {
		{400, "invalid_request", "invalid_request"},
		{401, "authentication_error", "unauthorized"},
		{402, "payment_required", "payment_required"},
		{403, "authorization_error", "forbidden"},
		{404, "not_found", "not_found"},
		{409, "conflict", "conflict"},
		{429, "rate_limit_error", "rate_limit_exceeded"},
		{500, "internal_error", "internal_error"},
		{503, "service_unavailable", "service_unavailable"},
	};
	const char *type = "internal_error", *code = "internal_error";
	char *msg;

	snprintf(r->retry_after, sizeof(r->retry_after), "%s", f->retry_after);
	if (f->has_body) {
		/* what a load balancer or a CDN would say, verbatim */
		struct sbuf b = {0};
		sbuf_adds(&b, f->body);
		set_body(r, f->status, "text/html", &b);
		return;
	}
	msg = xasprintf("Simulated fault: HTTP %d.", f->status);

	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (map[i].status == f->status) {
			type = map[i].type;
			code = map[i].code;
		}
	set_error(a, r, f->status, type, code, msg);
	free(msg);
}

static struct logged_request *log_find(struct sim_api *a, uint64_t seq)
{
	size_t lo = 0, hi = a->n_log;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->log[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < a->n_log && a->log[lo].seq == seq ? &a->log[lo] : NULL;
}

uint64_t sim_api_begin(struct sim_api *a, const struct sim_request *req, int64_t now_real_us,
		       struct sim_fault_hit *ret_fault)
{
	struct logged_request *e;
	enum sim_endpoint ep;
	const char *allow;
	char *id = NULL;

	memset(ret_fault, 0, sizeof(*ret_fault));
	route(req->method, req->path, &ep, &id, &allow);
	free(id);
	xgrow((void **)&a->log, &a->cap_log, a->n_log + 1, sizeof(*a->log));
	e = &a->log[a->n_log++];
	memset(e, 0, sizeof(*e));
	e->seq = a->next_seq++;
	e->time_us = now_real_us;
	e->method = xstrdup(req->method);
	e->path = xstrdup(req->path);
	e->query = req->query ? xstrdup(req->query) : NULL;
	/* a refused oversized body (413) is not worth keeping */
	if (req->body_len > 0 && req->body_len <= SIM_MAX_BODY) {
		e->body = xstrndup(req->body, req->body_len);
		e->body_len = req->body_len;
	}
	e->endpoint = ep;
	e->api_key_ok = req->api_key && strcmp(req->api_key, a->api_key) == 0;
	e->status = -1;
	if (ep == SIM_EP_NONE)
		return e->seq;
	for (size_t i = 0; i < a->n_faults; i++) {
		struct fault *f = &a->faults[i];
		if (f->remaining == 0 || (f->endpoint != SIM_EP_NONE && f->endpoint != ep))
			continue;
		if (f->probability < 1 && (double)(rng_next(a) >> 11) / 9007199254740992.0 >= f->probability)
			continue;
		if (f->remaining > 0)
			f->remaining--;
		f->hits++;
		ret_fault->kind = f->kind;
		ret_fault->status = f->status;
		ret_fault->delay_ms = f->delay_ms;
		snprintf(ret_fault->retry_after, sizeof(ret_fault->retry_after), "%s", f->retry_after);
		ret_fault->has_body = f->has_body;
		memcpy(ret_fault->body, f->body, sizeof(ret_fault->body));
		e->fault = f->kind;
		break;
	}
	return e->seq;
}

void sim_api_execute(struct sim_api *a, uint64_t seq, const struct sim_request *req, int64_t now_real_us,
		     const struct sim_fault_hit *fault, struct sim_response *r)
{
	enum sim_endpoint ep;
	enum route_result rr;
	struct logged_request *e;
	const char *allow;
	char *id = NULL;
	char batch[40] = "";

	memset(r, 0, sizeof(*r));
	r->action = SIM_ACT_SEND;
	rr = route(req->method, req->path, &ep, &id, &allow);
	if (rr == ROUTE_NOT_FOUND) {
		set_json(r, 404, "{\"detail\":\"Not Found\"}");
	} else if (rr == ROUTE_METHOD) {
		set_json(r, 405, "{\"detail\":\"Method Not Allowed\"}");
		r->allow = allow;
	} else if (req->body_len > SIM_MAX_BODY) {
		set_json(r, 413, "{\"detail\":\"Request Entity Too Large\"}");
	} else if (fault->kind == SIM_FAULT_STATUS) {
		fault_status_reply(a, fault, r);
	} else if (fault->kind == SIM_FAULT_DROP) {
		r->action = SIM_ACT_DROP;
	} else {
		handle_api(a, ep, id, req, now_real_us + a->offset_us, r, batch);
		switch (fault->kind) {
		case SIM_FAULT_APPLY_THEN_500:
			set_error(a, r, 500, "internal_error", "internal_error",
				  "An internal error occurred (simulated fault).");
			break;
		case SIM_FAULT_MALFORMED:
			set_json(r, 200, "<html><body><h1>502 Bad Gateway</h1>simulated malformed body</body></html>");
			break;
		case SIM_FAULT_TRUNCATED:
			if (r->body_len >= 2) {
				r->body_len /= 2;
				r->body[r->body_len] = '\0';
			} else {
				set_json(r, 200, "{");
			}
			r->status = 200;
			r->content_type = "application/json";
			break;
		case SIM_FAULT_APPLY_THEN_DROP:
			r->action = SIM_ACT_DROP;
			break;
		case SIM_FAULT_CLOSE_AFTER:
			r->action = SIM_ACT_SEND_THEN_CLOSE;
			break;
		default:
			break;
		}
	}
	free(id);
	e = log_find(a, seq);
	if (e) {
		e->status = r->action == SIM_ACT_DROP ? -1 : r->status;
		memcpy(e->batch_id, batch, sizeof(batch));
	}
}

void sim_api_handle(struct sim_api *a, const struct sim_request *req, int64_t now_real_us, struct sim_response *ret)
{
	struct sim_fault_hit f;
	uint64_t seq = sim_api_begin(a, req, now_real_us, &f);

	sim_api_execute(a, seq, req, now_real_us, &f, ret);
}

/* --- /_sim/ control ----------------------------------------------------- */

bool sim_api_is_control(const char *path)
{
	return strncmp(path, "/_sim/", 6) == 0;
}

static void bad_control(struct sim_response *r, const char *msg)
{
	struct sbuf b = {0};

	sbuf_adds(&b, "{\"error\":");
	sbuf_add_json_str(&b, msg);
	sbuf_adds(&b, "}");
	set_body(r, 400, "application/json", &b);
}

static void render_fault(struct sbuf *b, const struct fault *f)
{
	/* status/retry_after only mean something for "status", delay_ms
	 * only for "delay": null elsewhere, so a listing cannot mislead */
	sbuf_addf(b, "{\"id\":%" PRId64 ",\"endpoint\":\"%s\",\"kind\":\"%s\",\"status\":", f->id,
		  f->endpoint == SIM_EP_NONE ? "*" : sim_endpoint_name(f->endpoint), sim_fault_kind_name(f->kind));
	if (f->kind == SIM_FAULT_STATUS)
		sbuf_addf(b, "%d", f->status);
	else
		sbuf_adds(b, "null");
	sbuf_adds(b, ",\"retry_after\":");
	sbuf_add_json_str(b, f->retry_after[0] && f->kind == SIM_FAULT_STATUS ? f->retry_after : NULL);
	sbuf_adds(b, ",\"body\":");
	sbuf_add_json_str(b, f->has_body && f->kind == SIM_FAULT_STATUS ? f->body : NULL);
	sbuf_adds(b, ",\"delay_ms\":");
	if (f->kind == SIM_FAULT_DELAY)
		sbuf_addf(b, "%" PRId64, f->delay_ms);
	else
		sbuf_adds(b, "null");
	sbuf_addf(b, ",\"count\":%" PRId64 ",\"remaining\":%" PRId64 ",\"probability\":%.17g,\"hits\":%" PRId64 "}",
		  f->count, f->remaining, f->probability, f->hits);
}

static void control_add_fault(struct sim_api *a, const struct sim_request *req, struct sim_response *r)
{
	json_object *root = NULL, *v;
	struct fault f = {.endpoint = SIM_EP_NONE, .status = 503, .delay_ms = 5000, .count = 1, .probability = 1};
	struct sbuf b = {0};
	const char *s;
	bool found = false;

	if (req->body_len > 0 && req->body_len < 65536) {
		char *text = xstrndup(req->body, req->body_len);
		root = json_tokener_parse(text);
		free(text);
	}
	if (!root || !json_object_is_type(root, json_type_object)) {
		bad_control(r, "body must be a JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(root, "endpoint", &v) || !json_object_is_type(v, json_type_string)) {
		bad_control(r, "\"endpoint\" must be one of submit, list, get, cancel, retry, delete, export, "
			       "conversation, conversations, *");
		goto out;
	}
	s = json_object_get_string(v);
	if (strcmp(s, "*") == 0) {
		found = true;
	} else {
		for (int i = 0; i < SIM_EP_COUNT; i++)
			if (strcmp(s, endpoint_names[i]) == 0) {
				f.endpoint = (enum sim_endpoint)i;
				found = true;
			}
	}
	if (!found) {
		bad_control(r, "\"endpoint\" must be one of submit, list, get, cancel, retry, delete, export, "
			       "conversation, conversations, *");
		goto out;
	}
	found = false;
	if (json_object_object_get_ex(root, "kind", &v) && json_object_is_type(v, json_type_string))
		for (size_t i = 1; i < ARRAY_SIZE(fault_names); i++)
			if (strcmp(json_object_get_string(v), fault_names[i]) == 0) {
				f.kind = (enum sim_fault_kind)i;
				found = true;
			}
	if (!found) {
		bad_control(r, "\"kind\" must be one of status, delay, drop, apply_then_drop, malformed, "
			       "truncated, apply_then_500, close_after");
		goto out;
	}
	if (json_object_object_get_ex(root, "status", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int(v) < 100 ||
		    json_object_get_int(v) > 599) {
			bad_control(r, "\"status\" must be an integer HTTP status (100..599)");
			goto out;
		}
		f.status = json_object_get_int(v);
	}
	if (json_object_object_get_ex(root, "retry_after", &v) && v) {
		if (json_object_is_type(v, json_type_int))
			snprintf(f.retry_after, sizeof(f.retry_after), "%" PRId64, json_object_get_int64(v));
		else if (json_object_is_type(v, json_type_string) && strlen(json_object_get_string(v)) < sizeof(f.retry_after) &&
			 !strpbrk(json_object_get_string(v), "\r\n"))
			snprintf(f.retry_after, sizeof(f.retry_after), "%s", json_object_get_string(v));
		else {
			bad_control(r, "\"retry_after\" must be seconds or an HTTP date (a string, under 64 bytes)");
			goto out;
		}
	}
	if (json_object_object_get_ex(root, "body", &v) && v) {
		if (f.kind != SIM_FAULT_STATUS || !json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) > SIM_FAULT_BODY_MAX ||
		    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v)) {
			bad_control(r, "\"body\" must be a string of at most 4096 bytes without NUL, for kind status");
			goto out;
		}
		f.has_body = true;
		snprintf(f.body, sizeof(f.body), "%s", json_object_get_string(v));
	}
	if (json_object_object_get_ex(root, "delay_ms", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0) {
			bad_control(r, "\"delay_ms\" must be an integer >= 0");
			goto out;
		}
		f.delay_ms = json_object_get_int64(v);
	}
	if (json_object_object_get_ex(root, "count", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < -1) {
			bad_control(r, "\"count\" must be an integer >= -1 (-1 = forever)");
			goto out;
		}
		f.count = json_object_get_int64(v);
	}
	if (json_object_object_get_ex(root, "probability", &v)) {
		double p = json_object_get_double(v);
		if ((!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)) || !(p >= 0 && p <= 1)) {
			bad_control(r, "\"probability\" must be a number in [0, 1]");
			goto out;
		}
		f.probability = p;
	}
	f.remaining = f.count;
	f.id = a->next_fault_id++;
	xgrow((void **)&a->faults, &a->cap_faults, a->n_faults + 1, sizeof(*a->faults));
	a->faults[a->n_faults++] = f;
	sbuf_addf(&b, "{\"id\":%" PRId64 "}", f.id);
	set_body(r, 200, "application/json", &b);
out:
	json_object_put(root);
}

static void render_log_entry(struct sbuf *b, const struct logged_request *e)
{
	sbuf_addf(b, "{\"seq\":%" PRIu64 ",\"time_us\":%" PRId64 ",\"method\":", e->seq, e->time_us);
	sbuf_add_json_str(b, e->method);
	sbuf_adds(b, ",\"path\":");
	sbuf_add_json_str(b, e->path);
	sbuf_adds(b, ",\"query\":");
	sbuf_add_json_str(b, e->query);
	sbuf_adds(b, ",\"endpoint\":");
	sbuf_add_json_str(b, sim_endpoint_name(e->endpoint));
	sbuf_addf(b, ",\"api_key_ok\":%s,\"body\":", e->api_key_ok ? "true" : "false");
	sbuf_add_json_strn(b, e->body, e->body_len);
	if (e->status >= 0)
		sbuf_addf(b, ",\"status\":%d", e->status);
	else
		sbuf_adds(b, ",\"status\":null");
	sbuf_adds(b, ",\"fault\":");
	sbuf_add_json_str(b, e->fault ? sim_fault_kind_name(e->fault) : NULL);
	sbuf_adds(b, ",\"batch_id\":");
	sbuf_add_json_str(b, e->batch_id[0] ? e->batch_id : NULL);
	sbuf_adds(b, "}");
}

static void render_clock(struct sim_api *a, struct sbuf *b, int64_t now_real_us)
{
	int64_t now = now_real_us + a->offset_us;

	if (now < sim_model_now(a->m))
		now = sim_model_now(a->m);
	sbuf_addf(b, "{\"now\":%" PRId64 ",\"now_us\":%" PRId64 ",\"offset_us\":%" PRId64 "}", now / 1000000, now,
		  a->offset_us);
}

void sim_api_control(struct sim_api *a, const struct sim_request *req, int64_t now_real_us, struct sim_response *r)
{
	const char *p = req->path + strlen("/_sim/");
	bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0,
	     del = strcmp(req->method, "DELETE") == 0;
	struct sbuf b = {0};

	memset(r, 0, sizeof(*r));
	r->action = SIM_ACT_SEND;
	if (strcmp(p, "faults") == 0 && post) {
		control_add_fault(a, req, r);
	} else if (strcmp(p, "faults") == 0 && get) {
		sbuf_adds(&b, "{\"faults\":[");
		for (size_t i = 0; i < a->n_faults; i++) {
			if (i)
				sbuf_adds(&b, ",");
			render_fault(&b, &a->faults[i]);
		}
		sbuf_adds(&b, "]}");
		set_body(r, 200, "application/json", &b);
	} else if (strcmp(p, "faults") == 0 && del) {
		a->n_faults = 0;
		set_json(r, 200, "{\"ok\":true}");
	} else if (strcmp(p, "requests") == 0 && get) {
		char *since_s = query_get(req->query, "since");
		int64_t since = 0;
		if (since_s && parse_int64(since_s, 0, INT64_MAX, &since) < 0) {
			free(since_s);
			bad_control(r, "\"since\" must be a sequence number >= 0");
			return;
		}
		free(since_s);
		sbuf_adds(&b, "{\"requests\":[");
		for (size_t i = 0, n = 0; i < a->n_log; i++) {
			if (a->log[i].seq <= (uint64_t)since)
				continue;
			if (n++)
				sbuf_adds(&b, ",");
			render_log_entry(&b, &a->log[i]);
		}
		sbuf_adds(&b, "]}");
		set_body(r, 200, "application/json", &b);
	} else if (strcmp(p, "requests") == 0 && del) {
		log_clear(a);
		set_json(r, 200, "{\"ok\":true}");
	} else if (strcmp(p, "webhooks") == 0 || strcmp(p, "webhook-faults") == 0) {
		int status = sim_hooks_control(a->hooks, p, req->method, req->query, req->body, req->body_len, &b);
		set_body(r, status, "application/json", &b);
	} else if (strcmp(p, "reset") == 0 && post) {
		sim_model_reset(a->m);
		sim_hooks_reset(a->hooks);
		a->n_faults = 0;
		log_clear(a);
		set_json(r, 200, "{\"ok\":true}");
	} else if (strcmp(p, "advance") == 0 && post) {
		json_object *root = NULL, *v;
		char *text = xstrndup(req->body ? req->body : "", req->body_len < 4096 ? req->body_len : 0);
		double secs;
		root = json_tokener_parse(text);
		free(text);
		if (!root || !json_object_object_get_ex(root, "seconds", &v) ||
		    !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) ||
		    !((secs = json_object_get_double(v)) >= 0) || secs > 1e10) {
			json_object_put(root);
			bad_control(r, "body must be {\"seconds\": N} with N >= 0");
			return;
		}
		json_object_put(root);
		a->offset_us += (int64_t)llround(secs * 1e6);
		sim_model_advance(a->m, now_real_us + a->offset_us);
		render_clock(a, &b, now_real_us);
		set_body(r, 200, "application/json", &b);
	} else if (strcmp(p, "clock") == 0 && get) {
		render_clock(a, &b, now_real_us);
		set_body(r, 200, "application/json", &b);
	} else if (strncmp(p, "batches/", 8) == 0 && get) {
		/* A batch's detail for a test's own checks: what GET
		 * /v1/convai/batch-calling/ID answers, without the log or the
		 * faults, which are the daemon's */
		struct sim_batch *sb;
		int64_t now = now_real_us + a->offset_us;
		sim_model_advance(a->m, now < sim_model_now(a->m) ? sim_model_now(a->m) : now);
		if ((sb = sim_model_find(a->m, p + 8)))
			reply_batch(a, r, sb, true);
		else
			set_json(r, 404, "{\"error\":\"no such batch\"}");
	} else if (strcmp(p, "faults") == 0 || strcmp(p, "requests") == 0 || strcmp(p, "reset") == 0 ||
		   strcmp(p, "advance") == 0 || strcmp(p, "clock") == 0) {
		set_json(r, 405, "{\"detail\":\"Method Not Allowed\"}");
	} else {
		set_json(r, 404, "{\"detail\":\"Not Found\"}");
	}
}

/* --- webhooks ----------------------------------------------------------- */

int sim_api_configure_webhooks(struct sim_api *a, const char *url, const char *secret, unsigned events, bool retry)
{
	return sim_hooks_configure(a->hooks, url, secret, events, retry);
}

/* Simulated now for a real time (never behind the model). */
static int64_t sim_now(struct sim_api *a, int64_t now_real_us)
{
	int64_t now = now_real_us + a->offset_us;

	return now < sim_model_now(a->m) ? sim_model_now(a->m) : now;
}

int64_t sim_api_now_us(struct sim_api *a, int64_t now_real_us)
{
	return sim_now(a, now_real_us);
}

void sim_api_set_clock_offset(struct sim_api *a, int64_t offset_us)
{
	a->offset_us = offset_us;
}

bool sim_api_webhook_next(struct sim_api *a, int64_t now_real_us, struct sim_delivery *ret,
			  int64_t *ret_wake_real_us)
{
	int64_t now = sim_now(a, now_real_us), wake;
	bool got;

	sim_model_advance(a->m, now);
	got = sim_hooks_next(a->hooks, now, now_real_us, ret, &wake);
	/* back to the real clock; a wake already due means "now" */
	if (wake == INT64_MAX)
		*ret_wake_real_us = INT64_MAX;
	else
		*ret_wake_real_us = wake - a->offset_us < now_real_us ? now_real_us : wake - a->offset_us;
	return got;
}

void sim_api_webhook_done(struct sim_api *a, uint64_t id, int status, const char *error, int64_t now_real_us)
{
	int64_t now = sim_now(a, now_real_us);

	sim_model_advance(a->m, now);
	sim_hooks_done(a->hooks, id, status, error, now, now_real_us);
}
