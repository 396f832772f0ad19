/*
 * api: the ElevenLabs batch-calling endpoints the daemon uses (submit, list,
 * get, cancel, retry) on top of http and codec. Each call ends in one callback
 * with a classified outcome, a human message and the parsed object, so the
 * engine decides on outcomes, never on status codes or JSON.
 *
 * The API key is handed in by the caller; it goes into the xi-api-key
 * header and nowhere else: messages are scrubbed of it. submit, cancel and
 * retry run with HTTP_NO_REUSE (see http.h): libcurl never re-sends them;
 * and with HTTP_URGENT: they go before the queued reads (list, get).
 */
#ifndef BC_API_H
#define BC_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apiclock.h"
#include "codec.h"
#include "conv.h"
#include "http.h"

struct http;
struct api;
struct api_call;

enum api_op {
	API_OP_SUBMIT,
	API_OP_LIST,
	API_OP_GET,
	API_OP_CANCEL,
	API_OP_RETRY,
	/* Never issued: the daemon deletes no batch. Kept so that /metrics
	 * keeps its endpoint="delete" series (a page operators scrape). */
	API_OP_DELETE,
	/* GET /v1/convai/conversations/{id}: a recipient's conversation, for
	 * the results files (the polling fallback of issue 14). */
	API_OP_CONVERSATION,
	API_OP__MAX
};

enum api_outcome {
	API_OK,
	API_TRANSIENT, /* no answer, timeout, 408, 429, 5xx, 2xx without the documented JSON */
	API_AUTH,      /* 401, 403: the key is wrong or lacks permission */
	API_REJECTED,  /* other 4xx (400, 409, 422, ...; 404 on submit/list): permanent */
	API_NOT_FOUND, /* 404 on get/cancel/retry: the batch is gone */
	API_OUTCOME__MAX
};

struct api_result {
	enum api_op op;
	enum api_outcome outcome;
	long http_status;      /* 0: no HTTP answer */
	char *message;         /* NULL on API_OK, else one line of human text; never the key */
	int64_t retry_after_s; /* Retry-After in seconds from now, at most RETRY_AFTER_MAX_S
				* (backoff.h); -1 when absent or unreadable */
	/* The outcome is unknown: the request may have taken effect
	 * (timeout or reset after sending, 5xx, a 2xx whose body could not
	 * be read). Reconcile before repeating a submit. Never set on API_OK. */
	bool maybe_applied;
	/* The API itself answered this failure (api_origin_answered): what the
	 * request did is done, and a lookup now sees it. False for no answer
	 * and for anything a proxy or load balancer may have said instead, while
	 * the request may still reach the API. Never set on API_OK. */
	bool origin_answered;
	/* Withdrawn before it was sent (api_call_set_go): nothing left this
	 * host. */
	bool withdrawn;
	double elapsed;        /* seconds the HTTP request took */
	struct http_timing timing; /* when it went through each step (http.h) */
	struct batch batch;        /* API_OK on submit, cancel, retry */
	struct batch_detail detail; /* API_OK on get */
	struct batch_page page;     /* API_OK on list */
	struct conv conv;           /* API_OK on conversation */
	char *body;                 /* API_OK on conversation: the body as received */
	size_t body_len;
};

/* How much of an answer each call reads (after decompression), sized from
 * the largest legitimate answer with room to spare. Reading stops at the
 * cap: a 2xx answer past it is a transient failure that may have been
 * applied (like any 2xx the codec cannot read); any other status keeps its
 * meaning (a 422 stays a refusal), without the body's detail.
 * - submit, cancel, retry: one BatchCallResponse, which holds no
 *   recipients (about 1 KiB: ids, names, a few numbers), or an error body.
 * - list: a page of at most 100 of them (the daemon asks for 100; about
 *   100 KiB), with room for long batch names.
 * - get: a BatchCallDetailedResponse of up to 10,000 recipients (the API's
 *   limit). Each has about 350 bytes of its own (ids, phone number,
 *   status, timestamps) plus the echo of the conversation_initiation_client_data
 *   its submit sent (dynamic variables, overrides such as a system prompt;
 *   re-escaped by the server, non-ASCII text may grow up to three times
 *   as \uXXXX). 64 MiB is 6.7 KiB a recipient: e.g. a 4 KiB system prompt,
 *   a 200-character first message and 40 variables, which measure 54 MB
 *   for 10,000 recipients. It is also the cap every request had before,
 *   so no answer that was read then is refused now. The codec bounds
 *   what parsing such a body may cost (codec.h). */
#define API_MAX_BODY_BATCH ((size_t)256 << 10)
#define API_MAX_BODY_LIST ((size_t)2 << 20)
#define API_MAX_BODY_DETAIL ((size_t)64 << 20)

/* Pure: the response body cap of op (above). */
size_t api_max_body(enum api_op op);

/* Called once per call unless cancelled. res and its contents live until
 * the callback returns; to keep a parsed object, move it out and zero the
 * field (e.g. take res->page, then memset(&res->page, 0, ...)). */
typedef void (*api_done_cb)(struct api_result *res, void *arg);

/* Told when the API's clock goes more than API_CLOCK_WARN_MS from ours,
 * or comes back (apiclock.h); clock is the one given to api_set_clock. */
typedef void (*api_clock_cb)(enum api_clock_change change, const struct api_clock *clock, void *arg);

/* Measure the API's clock into *clock (owned by the caller, which reads
 * it for lookups and metrics) from every answer: its Date header, and a
 * submit's created_at_unix. Noted before the answer's callback runs, so
 * that callback already sees this answer's measure. cb may be NULL. */
void api_set_clock(struct api *a, struct api_clock *clock, api_clock_cb cb, void *arg);

/* A client for base_url ("https://api.elevenlabs.io", no path; a trailing
 * '/' is ignored) with api_key, over http (not owned). 0 and *ret, or
 * -EINVAL when the URL is not http(s) or the key is empty or contains
 * characters that cannot go into a header. */
int api_new(struct http *http, const char *base_url, const char *api_key, struct api **ret);

/* Cancel the calls still pending (no callbacks) and free the client. */
void api_free(struct api *a);

/* POST /v1/convai/batch-calling/submit with json_body (copied). */
int api_submit(struct api *a, const char *json_body, api_done_cb cb, void *arg, struct api_call **ret_call);

/* GET /v1/convai/batch-calling/workspace; last_doc and agent_id may be NULL,
 * limit <= 0 leaves the server's default. */
int api_list(struct api *a, const char *last_doc, const char *agent_id, int limit, api_done_cb cb, void *arg,
	     struct api_call **ret_call);

/* GET /v1/convai/batch-calling/{batch_id} (with recipients). */
int api_get(struct api *a, const char *batch_id, api_done_cb cb, void *arg, struct api_call **ret_call);

/* POST /v1/convai/batch-calling/{batch_id}/cancel. */
int api_cancel(struct api *a, const char *batch_id, api_done_cb cb, void *arg, struct api_call **ret_call);

/* POST /v1/convai/batch-calling/{batch_id}/retry. */
int api_retry(struct api *a, const char *batch_id, api_done_cb cb, void *arg, struct api_call **ret_call);


/* GET /v1/convai/conversations/{conversation_id} (conversations document
 * §3); 404 is API_NOT_FOUND. The body is kept as received in res->body. */
int api_get_conversation(struct api *a, const char *conversation_id, api_done_cb cb, void *arg,
			 struct api_call **ret_call);

/* Abandon a call without calling back (a request on the wire may still
 * take effect). */
void api_call_cancel(struct api_call *c);

/* Ask go(arg) when the call leaves the HTTP client's queue, before it is
 * sent (http_set_go): false withdraws it, and its callback gets
 * API_TRANSIENT with maybe_applied false and withdrawn true. */
void api_call_set_go(struct api_call *c, bool (*go)(void *arg), void *arg);

/* Calls pending on this client. */
size_t api_pending(const struct api *a);

/* "submit", "list", ... for logs and metrics. */
const char *api_op_name(enum api_op op);

/* Pure: the outcome of op from the HTTP status (0: none), whether the
 * transfer completed, and whether a 2xx body parsed as documented. */
enum api_outcome api_classify(enum api_op op, long status, bool transport_ok, bool body_ok);

/* Pure: whether a non-OK result leaves the effect unknown (see
 * api_result.maybe_applied); maybe_sent comes from http_response. */
bool api_maybe_applied(long status, bool transport_ok, bool maybe_sent, bool body_ok);

/* Pure: whether a failed request's whole answer (status, body) comes from
 * the API itself: a status the API sends for a failed request (4xx but
 * 408; 500 and 503, the 5xx its error types name) with the API's documented
 * JSON error body (codec_is_error_body). Not 408, 502, 504 (timeouts and
 * gateways), 52x (a CDN between us and the API), other 5xx, nor any
 * status whose body is a proxy's page: a load balancer's 503 may have
 * been sent while the request is still on its way to the API. */
bool api_origin_answered(long status, const char *body, size_t len);

/* Pure: s percent-encoded for a path segment or query value (everything
 * but RFC 3986 unreserved characters). Caller frees. */
char *api_url_escape(const char *s);

/* One query parameter; a NULL value leaves it out. */
struct api_query {
	const char *name;
	const char *value;
};

/* Pure: base_url (a trailing '/' dropped) + path (segments already escaped)
 * + "?name=value&..." from the n query parameters, values escaped here.
 * Caller frees. */
char *api_build_url(const char *base_url, const char *path, const struct api_query *query, size_t n);

#endif
