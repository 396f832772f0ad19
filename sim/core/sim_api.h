/*
 * sim_api: everything the simulator does with one HTTP request, without the
 * socket. Routing (FastAPI's 404/405 rules), auth, validation, the batch
 * endpoints, the fault table, the request log and the /_sim/ control
 * endpoints. The server (sim/shell/sim_server.c) turns the outcome into bytes on a
 * connection; the fuzz target calls the same functions directly.
 */
#ifndef BC_SIM_API_H
#define BC_SIM_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_hooks.h"
#include "sim_model.h"

/* Bodies above this are refused with 413 (documented in docs/simulator.md). */
#define SIM_MAX_BODY (16u * 1024 * 1024)

enum sim_endpoint {
	SIM_EP_NONE = -1,
	SIM_EP_SUBMIT,
	SIM_EP_LIST,
	SIM_EP_GET,
	SIM_EP_CANCEL,
	SIM_EP_RETRY,
	SIM_EP_DELETE,
	SIM_EP_EXPORT,
	SIM_EP_CONVERSATION,  /* GET /v1/convai/conversations/{conversation_id} */
	SIM_EP_CONVERSATIONS, /* GET /v1/convai/conversations */
	SIM_EP_COUNT,
};

enum sim_fault_kind {
	SIM_FAULT_NONE,
	SIM_FAULT_STATUS,          /* answer status (+ Retry-After) without doing anything */
	SIM_FAULT_DELAY,           /* wait delay_ms, then handle the request normally */
	SIM_FAULT_DROP,            /* read the request, close without an answer, do nothing */
	SIM_FAULT_APPLY_THEN_DROP, /* do the request, then close without an answer */
	SIM_FAULT_MALFORMED,       /* do the request, answer 200 with a body that is not JSON */
	SIM_FAULT_TRUNCATED,       /* do the request, answer 200 with half of the JSON body */
	SIM_FAULT_APPLY_THEN_500,  /* do the request, answer 500 internal_error */
	SIM_FAULT_CLOSE_AFTER,     /* answer normally (keep-alive), then close the connection */
};

/* The longest body a status fault may send instead of the API's error body. */
#define SIM_FAULT_BODY_MAX 4096

/* The fault picked for one request. */
struct sim_fault_hit {
	enum sim_fault_kind kind;
	int status;
	char retry_after[64]; /* empty when none */
	int64_t delay_ms;
	bool has_body;        /* status: send body (text/html), not the API's error body */
	char body[SIM_FAULT_BODY_MAX + 1];
};

/* One request as received (strings need not outlive the call). */
struct sim_request {
	const char *method;  /* "GET", "POST", ... */
	const char *path;    /* raw path, percent-encoded, without the query */
	const char *query;   /* raw query string or NULL */
	const char *api_key; /* xi-api-key header or NULL */
	const char *body;
	size_t body_len;
};

/* What to do with the connection once the response is known. */
enum sim_action {
	SIM_ACT_SEND,
	SIM_ACT_SEND_THEN_CLOSE,
	SIM_ACT_DROP,
};

struct sim_response {
	int status;
	const char *content_type; /* NULL: no body (204) */
	char *body;
	size_t body_len;
	char retry_after[64];     /* Retry-After header when not empty */
	const char *allow;        /* Allow header (405) or NULL */
	enum sim_action action;
};

struct sim_api;

struct sim_api *sim_api_new(const struct sim_params *p, const char *api_key);
void sim_api_free(struct sim_api *a);
/* The model behind the API (for tests). */
struct sim_model *sim_api_model(struct sim_api *a);
/* Start the simulated clock offset_us from the real one (--clock-offset;
 * negative: behind). Before the first request only: simulated time never
 * goes back. */
void sim_api_set_clock_offset(struct sim_api *a, int64_t offset_us);
/* The simulated now for a real time (what its Date header says). */
int64_t sim_api_now_us(struct sim_api *a, int64_t now_real_us);

/* True for /_sim/… paths, which sim_api_control() serves. */
bool sim_api_is_control(const char *path);
/* Serve a /_sim/ request. now_real_us is the real clock. */
void sim_api_control(struct sim_api *a, const struct sim_request *req, int64_t now_real_us,
		     struct sim_response *ret);

/* First half of an API request: log it (received at now_real_us) and pick
 * the fault it meets. Returns the log sequence number. */
uint64_t sim_api_begin(struct sim_api *a, const struct sim_request *req, int64_t now_real_us,
		       struct sim_fault_hit *ret_fault);
/* Second half: handle it at now_real_us under the fault picked by
 * sim_api_begin (a delay fault counts as already served) and record the
 * answer in the log entry seq. */
void sim_api_execute(struct sim_api *a, uint64_t seq, const struct sim_request *req, int64_t now_real_us,
		     const struct sim_fault_hit *fault, struct sim_response *ret);
/* Both halves, for callers that never delay (tests, the fuzzer). */
void sim_api_handle(struct sim_api *a, const struct sim_request *req, int64_t now_real_us,
		    struct sim_response *ret);

/* Webhooks: set the target, secret, subscriptions (a mask of
 * SIM_HOOK_*, 0 = keep) and retries; 0 or -EINVAL. */
int sim_api_configure_webhooks(struct sim_api *a, const char *url, const char *secret, unsigned events, bool retry);
/* The next webhook delivery due at now_real_us (the model is brought up
 * to that time first): true and *ret (free with sim_delivery_clear).
 * *ret_wake_real_us: the real time at which to ask again (INT64_MAX: after
 * the answer to a delivery in flight, or after a request). */
bool sim_api_webhook_next(struct sim_api *a, int64_t now_real_us, struct sim_delivery *ret,
			  int64_t *ret_wake_real_us);
/* The answer to delivery id: an HTTP status, or 0 and error when none. */
void sim_api_webhook_done(struct sim_api *a, uint64_t id, int status, const char *error, int64_t now_real_us);

/* Free the body of a response. */
void sim_response_clear(struct sim_response *r);

#endif
