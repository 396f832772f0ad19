/*
 * api: one function per ElevenLabs batch-calling endpoint. Builds the URL
 * and headers, hands the request to http, and turns the answer into an
 * api_result: outcome (pure api_classify), whether the effect is unknown
 * (pure api_maybe_applied), the parsed object (codec) and a message that
 * never carries the API key.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "backoff.h"
#include "http.h"
#include "util.h"

#define API_PREFIX "/v1/convai/batch-calling"

struct api_call {
	struct api *a;
	struct api_call *prev, *next;
	enum api_op op;
	api_done_cb cb;
	void *arg;
	struct http_request *req;
	bool done; /* its callback is running: cancelling it is a no-op */
};

struct api {
	struct http *http;
	char *base_url;
	char *api_key;
	char *key_header;
	struct api_call *calls;
	size_t n_calls;
	struct api_clock *clock; /* NULL: not measured */
	api_clock_cb clock_cb;
	void *clock_arg;
};

static const char *const op_names[API_OP__MAX] = {
	[API_OP_SUBMIT] = "submit", [API_OP_LIST] = "list",   [API_OP_GET] = "get",
	[API_OP_CANCEL] = "cancel", [API_OP_RETRY] = "retry", [API_OP_DELETE] = "delete",
	[API_OP_CONVERSATION] = "conversation",
};

const char *api_op_name(enum api_op op)
{
	return (unsigned)op < API_OP__MAX ? op_names[op] : "unknown";
}

enum api_outcome api_classify(enum api_op op, long status, bool transport_ok, bool body_ok)
{
	/* A transfer cut short says nothing reliable, whatever status came. */
	if (!transport_ok)
		return API_TRANSIENT;
	if (status >= 200 && status <= 299)
		return body_ok ? API_OK : API_TRANSIENT;
	switch (status) {
	case 401:
	case 403:
		return API_AUTH;
	case 408:
	case 429:
		return API_TRANSIENT;
	case 404:
		/* On an id path, 404 means that batch is gone; on submit and
		 * list it means a wrong base URL: permanent either way, but
		 * only the former is news about a batch. */
		return op == API_OP_SUBMIT || op == API_OP_LIST ? API_REJECTED : API_NOT_FOUND;
	}
	if (status >= 400 && status <= 499)
		return API_REJECTED;
	/* 5xx, and codes the API never sends (1xx, 3xx, nonsense): not the
	 * documented answer, so transient (SPEC §5.4), never a lost run. */
	return API_TRANSIENT;
}

size_t api_max_body(enum api_op op)
{
	switch (op) {
	case API_OP_LIST:
		return API_MAX_BODY_LIST;
	case API_OP_GET:
		return API_MAX_BODY_DETAIL;
	case API_OP_CONVERSATION:
		return CONV_MAX_BODY;
	default:
		return API_MAX_BODY_BATCH;
	}
}

bool api_maybe_applied(long status, bool transport_ok, bool maybe_sent, bool body_ok)
{
	if (!transport_ok)
		return maybe_sent;
	if (status >= 200 && status <= 299)
		return !body_ok; /* it was applied, but we could not read how */
	/* A 4xx is the server refusing the request; anything else
	 * (5xx, "apply then 500", unexpected codes) leaves it open. */
	return !(status >= 400 && status <= 499);
}

bool api_origin_answered(long status, const char *body, size_t len)
{
	bool api_status = (status >= 400 && status <= 499 && status != 408) || status == 500 || status == 503;

	return api_status && body && codec_is_error_body(body, len);
}

char *api_url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = xmalloc(3 * n + 1), *o = out;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '.' || c == '_' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

char *api_build_url(const char *base_url, const char *path, const struct api_query *query, size_t n)
{
	size_t blen = strlen(base_url);
	while (blen > 0 && base_url[blen - 1] == '/')
		blen--;
	char *url = xasprintf("%.*s%s", (int)blen, base_url, path);
	char sep = '?';

	for (size_t i = 0; i < n; i++) {
		if (!query[i].value)
			continue;
		char *v = api_url_escape(query[i].value);
		char *u = xasprintf("%s%c%s=%s", url, sep, query[i].name, v);
		free(v);
		free(url);
		url = u;
		sep = '&';
	}
	return url;
}

/* Replace every occurrence of the key in s (owned) with a marker. */
static char *scrub_key(char *s, const char *key)
{
	size_t klen = strlen(key);
	char *hit;

	size_t from = 0;

	if (!s || klen == 0)
		return s;
	/* Search on after each marker: a key that is part of "[redacted]"
	 * must not be found in it again (it would never end). */
	while ((hit = strstr(s + from, key))) {
		size_t at = (size_t)(hit - s);
		char *t = xasprintf("%.*s[redacted]%s", (int)at, s, hit + klen);
		free(s);
		s = t;
		from = at + strlen("[redacted]");
	}
	return s;
}

static void call_unlink(struct api_call *c)
{
	struct api *a = c->a;
	if (c->prev)
		c->prev->next = c->next;
	else
		a->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	a->n_calls--;
}

/* Parse a 2xx body into the object op returns; 0 or -EBADMSG with cause. */
static int parse_body(enum api_op op, const struct http_response *h, struct api_result *res, char **cause)
{
	switch (op) {
	case API_OP_SUBMIT:
	case API_OP_CANCEL:
	case API_OP_RETRY:
		return codec_parse_batch(h->body, h->len, &res->batch, cause);
	case API_OP_GET:
		return codec_parse_detail(h->body, h->len, &res->detail, cause);
	case API_OP_LIST:
		return codec_parse_page(h->body, h->len, &res->page, cause);
	case API_OP_CONVERSATION: {
		int r = conv_parse(h->body, h->len, &res->conv, cause);
		if (r == 0) {
			res->body = xmalloc(h->len + 1);
			memcpy(res->body, h->body, h->len);
			res->body[h->len] = '\0';
			res->body_len = h->len;
		}
		return r;
	}
	case API_OP_DELETE:
	case API_OP__MAX:
		break;
	}
	return 0;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The API's clock from this answer: its Date, and then (the API's own
 * clock, where a proxy may have written the Date) a submit's creation. */
static void note_clock(struct api *a, const struct http_response *h, const struct api_result *res)
{
	int64_t recv = wall_ms(), sent = recv - (int64_t)(h->total_time * 1000.0), server;
	enum api_clock_change ch = API_CLOCK_SAME, c;

	if (!a->clock || h->status == 0)
		return;
	if (h->date_raw && backoff_parse_http_date(h->date_raw, recv / 1000, &server) == 0 &&
	    (c = api_clock_note(a->clock, sent, recv, server)) != API_CLOCK_SAME)
		ch = c;
	if (res->op == API_OP_SUBMIT && res->outcome == API_OK && res->batch.created_at_unix > 0 &&
	    (c = api_clock_note(a->clock, sent, recv, res->batch.created_at_unix)) != API_CLOCK_SAME)
		ch = ch == API_CLOCK_SAME || c == ch ? c : API_CLOCK_SAME; /* (off, then back: as it was) */
	if (ch != API_CLOCK_SAME && a->clock_cb)
		a->clock_cb(ch, a->clock, a->clock_arg);
}

static void http_answer_cb(const struct http_response *h, void *arg)
{
	struct api_call *c = arg;
	struct api *a = c->a;
	struct api_result res = { .op = c->op, .http_status = h->status, .retry_after_s = -1,
				  .elapsed = h->total_time, .timing = h->timing };
	/* Stopped at the cap, the answer is whole but for its body: the
	 * status still says what the server did. */
	bool transport_ok = h->curl_code == 0 || h->too_big;
	bool body_ok = !h->too_big;
	char *cause = NULL;

	if (h->too_big)
		cause = xasprintf("answer over %zu bytes, not read", api_max_body(c->op));
	else if (transport_ok && h->status >= 200 && h->status <= 299)
		body_ok = parse_body(c->op, h, &res, &cause) == 0;
	res.outcome = api_classify(c->op, h->status, transport_ok, body_ok);
	res.withdrawn = h->withdrawn;
	res.maybe_applied = res.outcome != API_OK &&
			    api_maybe_applied(h->status, transport_ok, h->maybe_sent, body_ok);
	/* only a whole answer can be told to be the API's own */
	res.origin_answered = res.outcome != API_OK && h->curl_code == 0 &&
			      api_origin_answered(h->status, h->body, h->len);
	if (h->retry_after_raw) {
		int64_t s;
		if (backoff_parse_retry_after(h->retry_after_raw, (int64_t)time(NULL), &s) == 0)
			res.retry_after_s = s;
	}

	if (res.outcome != API_OK) {
		if (!transport_ok && h->status == 0) {
			res.message = xasprintf("no answer from the API: %s", h->error);
		} else if (!transport_ok) {
			res.message = xasprintf("incomplete answer (HTTP %ld): %s", h->status, h->error);
		} else if (h->too_big && !(h->status >= 200 && h->status <= 299)) {
			res.message = xasprintf("HTTP %ld: %s", h->status, cause);
		} else if (!body_ok) {
			res.message = xasprintf("unexpected answer (HTTP %ld): %s", h->status,
						cause ? cause : "unreadable body");
		} else {
			char *detail = codec_error_message(h->status, h->body, h->len);
			if (strncmp(detail, "HTTP ", 5) == 0)
				res.message = detail;
			else {
				res.message = xasprintf("HTTP %ld: %s", h->status, detail);
				free(detail);
			}
		}
		res.message = scrub_key(res.message, a->api_key);
	}
	free(cause);

	note_clock(a, h, &res);
	call_unlink(c);
	c->done = true;
	/* Nothing of a is touched after this: the callback may free it. */
	c->cb(&res, c->arg);
	free(c);
	free(res.message);
	batch_clear(&res.batch);
	batch_detail_clear(&res.detail);
	batch_page_clear(&res.page);
	conv_clear(&res.conv);
	free(res.body);
}

static int start(struct api *a, enum api_op op, const char *method, char *url, const char *body,
		 api_done_cb cb, void *arg, struct api_call **ret_call)
{
	static const char ua[] = "User-Agent: batchcalld/" PACKAGE_VERSION;
	const char *headers[5] = { a->key_header, "Accept: application/json", ua, NULL, NULL };
	/* Non-idempotent: a silent transport re-send could ring people twice.
	 * They are also what people wait for: ahead of polls and lookups. */
	unsigned flags = op == API_OP_SUBMIT || op == API_OP_CANCEL || op == API_OP_RETRY
				 ? HTTP_NO_REUSE | HTTP_URGENT
				 : 0;
	struct api_call *c = NULL;
	int rc = -EINVAL;

	if (!cb)
		goto out;
	if (body)
		headers[3] = "Content-Type: application/json";
	c = xcalloc(1, sizeof(*c));
	c->a = a;
	c->op = op;
	c->cb = cb;
	c->arg = arg;
	rc = http_submit(a->http, method, url, headers, body, flags, api_max_body(op), http_answer_cb, c, &c->req);
	if (rc < 0)
		goto out;
	c->next = a->calls;
	if (a->calls)
		a->calls->prev = c;
	a->calls = c;
	a->n_calls++;
	if (ret_call)
		*ret_call = c;
	c = NULL;
	rc = 0;
out:
	free(c);
	free(url);
	return rc;
}

/* "/v1/convai/batch-calling/{id}{suffix}", or NULL for an empty id. */
static char *id_url(struct api *a, const char *id, const char *suffix)
{
	if (!id || !*id)
		return NULL;
	char *e = api_url_escape(id);
	char *path = xasprintf(API_PREFIX "/%s%s", e, suffix);
	char *url = api_build_url(a->base_url, path, NULL, 0);
	free(e);
	free(path);
	return url;
}

int api_new(struct http *http, const char *base_url, const char *api_key, struct api **ret)
{
	if (!http || !base_url || !api_key || !*api_key)
		return -EINVAL;
	if (strncmp(base_url, "https://", 8) != 0 && strncmp(base_url, "http://", 7) != 0)
		return -EINVAL;
	/* A key with controls or spaces would break (or inject into) the
	 * header block. */
	for (const unsigned char *p = (const unsigned char *)api_key; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return -EINVAL;

	struct api *a = xcalloc(1, sizeof(*a));
	a->http = http;
	a->base_url = xstrdup(base_url);
	a->api_key = xstrdup(api_key);
	a->key_header = xasprintf("xi-api-key: %s", api_key);
	*ret = a;
	return 0;
}

void api_set_clock(struct api *a, struct api_clock *clock, api_clock_cb cb, void *arg)
{
	a->clock = clock;
	a->clock_cb = cb;
	a->clock_arg = arg;
}

void api_free(struct api *a)
{
	if (!a)
		return;
	while (a->calls)
		api_call_cancel(a->calls);
	/* The key does not linger in freed memory. */
	explicit_bzero(a->api_key, strlen(a->api_key));
	explicit_bzero(a->key_header, strlen(a->key_header));
	free(a->api_key);
	free(a->key_header);
	free(a->base_url);
	free(a);
}

void api_call_set_go(struct api_call *c, bool (*go)(void *arg), void *arg)
{
	if (c && !c->done)
		http_set_go(c->req, go, arg);
}

void api_call_cancel(struct api_call *c)
{
	if (!c || c->done)
		return;
	http_cancel(c->req);
	call_unlink(c);
	free(c);
}

size_t api_pending(const struct api *a)
{
	return a ? a->n_calls : 0;
}

int api_submit(struct api *a, const char *json_body, api_done_cb cb, void *arg, struct api_call **ret_call)
{
	if (!a || !json_body)
		return -EINVAL;
	return start(a, API_OP_SUBMIT, "POST", api_build_url(a->base_url, API_PREFIX "/submit", NULL, 0),
		     json_body, cb, arg, ret_call);
}

int api_list(struct api *a, const char *last_doc, const char *agent_id, int limit, api_done_cb cb, void *arg,
	     struct api_call **ret_call)
{
	char lim[16];
	if (!a)
		return -EINVAL;
	snprintf(lim, sizeof(lim), "%d", limit);
	const struct api_query q[] = {
		{ "limit", limit > 0 ? lim : NULL },
		{ "last_doc", last_doc },
		{ "agent_id", agent_id },
	};
	return start(a, API_OP_LIST, "GET",
		     api_build_url(a->base_url, API_PREFIX "/workspace", q, ARRAY_SIZE(q)), NULL, cb, arg,
		     ret_call);
}

/* The four endpoints on one batch id share this. */
static int by_id(struct api *a, enum api_op op, const char *method, const char *id, const char *suffix,
		 api_done_cb cb, void *arg, struct api_call **ret_call)
{
	if (!a)
		return -EINVAL;
	char *url = id_url(a, id, suffix);
	if (!url)
		return -EINVAL;
	return start(a, op, method, url, NULL, cb, arg, ret_call);
}

int api_get(struct api *a, const char *batch_id, api_done_cb cb, void *arg, struct api_call **ret_call)
{
	return by_id(a, API_OP_GET, "GET", batch_id, "", cb, arg, ret_call);
}

int api_cancel(struct api *a, const char *batch_id, api_done_cb cb, void *arg, struct api_call **ret_call)
{
	return by_id(a, API_OP_CANCEL, "POST", batch_id, "/cancel", cb, arg, ret_call);
}

int api_retry(struct api *a, const char *batch_id, api_done_cb cb, void *arg, struct api_call **ret_call)
{
	return by_id(a, API_OP_RETRY, "POST", batch_id, "/retry", cb, arg, ret_call);
}

int api_get_conversation(struct api *a, const char *conversation_id, api_done_cb cb, void *arg,
			 struct api_call **ret_call)
{
	char *e, *path, *url;

	if (!conversation_id || !*conversation_id)
		return -EINVAL;
	e = api_url_escape(conversation_id);
	path = xasprintf("/v1/convai/conversations/%s", e);
	url = api_build_url(a->base_url, path, NULL, 0);
	free(e);
	free(path);
	return start(a, API_OP_CONVERSATION, "GET", url, NULL, cb, arg, ret_call);
}
