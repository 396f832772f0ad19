/*
 * http: the daemon's only way out to the network. libcurl's multi interface
 * driven by the daemon's libevent loop (one event per socket, one timer),
 * bounded by a concurrency limit and a token bucket; requests beyond either
 * wait in a FIFO and are started by a libevent timer, never by polling.
 *
 * Exactly once: libcurl silently re-sends a request when a reused keep-alive
 * connection turns out dead before any response byte arrived. Requests that
 * must not be repeated (submit, retry, cancel) carry HTTP_NO_REUSE: they run
 * on a connection of their own, so that re-send path cannot trigger, and
 * their outcome is reported as unknown (maybe_sent) instead.
 *
 * The process must ignore SIGPIPE (CURLOPT_NOSIGNAL is set, so libcurl does
 * not install handlers of its own).
 */
#ifndef BC_HTTP_H
#define BC_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct http;
struct http_request;

struct http_options {
	long timeout_ms;         /* whole request; 0: 30 s */
	long connect_timeout_ms; /* TCP + TLS; 0: min(timeout, 10 s) */
	int max_concurrent;      /* requests in flight; < 1: 1 */
	double max_per_second;   /* token bucket rate; <= 0: unlimited */
	int burst;               /* token bucket size; < 1: max(1, floor(rate)) */
	size_t max_body;         /* response body cap of a request that gives none; 0: 64 MiB */
	const char *ca_file;     /* extra CA bundle (CURLOPT_CAINFO); NULL: system */
	const char *cert_file;   /* client certificate, PEM (CURLOPT_SSLCERT); NULL: none */
	const char *key_file;    /* its key, PEM (CURLOPT_SSLKEY); NULL: none */
	const char *user_agent;  /* NULL: none */
};

/* Flags of http_submit. */
enum {
	/* A fresh connection, closed afterwards: never re-sent by libcurl on a
	 * dead keep-alive connection. For every non-idempotent request. */
	HTTP_NO_REUSE = 1u << 0,
	/* Ahead of the queue: started before every request without it
	 * (FIFO among themselves). For the requests a burst is waiting on
	 * (submits), so that polls and lookups queued earlier wait. */
	HTTP_URGENT = 1u << 1,
};

/* When a request went through each step, CLOCK_MONOTONIC microseconds;
 * 0: not reached. */
struct http_timing {
	int64_t queued_us;    /* http_submit */
	int64_t slot_free_us; /* the concurrency slot it took became free
			       * (0: free since the client started) */
	int64_t started_us;   /* left the queue, handed to libcurl */
	int64_t connected_us; /* its connection was up (a reused one: started_us) */
	int64_t written_us;   /* its first byte was about to be written */
	int64_t done_us;      /* the transfer ended */
	bool held;            /* held to an instant (http_hold_next) */
};

struct http_response {
	long status;            /* HTTP status; 0: no HTTP answer */
	char *body;             /* NUL-terminated (len excludes the NUL); never NULL */
	size_t len;
	char *retry_after_raw;  /* raw Retry-After value, NULL when absent */
	char *date_raw;         /* raw Date value (the server's clock), NULL when absent */
	int curl_code;          /* CURLcode; 0 (CURLE_OK) when the transfer completed */
	/* The body went past the request's cap: reading stopped there
	 * (curl_code is CURLE_WRITE_ERROR, body holds at most the cap); the
	 * status and headers are complete. */
	bool too_big;
	char error[256];        /* transport error text, "" when curl_code == 0 */
	/* false only when the server certainly never saw the request (DNS,
	 * refused, TLS handshake, connect timeout: no request byte was
	 * written), so it is safe to send again blindly; true otherwise,
	 * including every timeout, reset or empty reply after the request was
	 * written, and every HTTP answer. */
	bool maybe_sent;
	bool reused;            /* ran on a connection that had served before */
	bool withdrawn;         /* its go callback said no: never sent (http_set_go) */
	double total_time;      /* seconds */
	struct http_timing timing;
};

/* Called once per request unless cancelled; res (and the request) are
 * valid only during the call. The callback may submit, cancel others, or
 * http_free the whole client. */
typedef void (*http_done_cb)(const struct http_response *res, void *arg);

/* A client on base; the options are copied. NULL if libcurl cannot start. */
struct http *http_new(struct event_base *base, const struct http_options *o);

/* Cancel every pending request without calling back and free the client. */
void http_free(struct http *h);

/* Queue one request: method "GET", "POST", "DELETE", ...; headers is a
 * NULL-terminated list of "Name: value" (may be NULL); body (may be NULL)
 * is copied and sent as the request body (a POST without body sends
 * Content-Length: 0). max_body caps the response body as handed over,
 * that is after decompression (a small gzip can inflate to gigabytes);
 * reading stops at the cap (see too_big); 0: the client's max_body.
 * 0 and *ret_req (if not NULL; valid until the callback or http_cancel),
 * or -EINVAL. */
int http_submit(struct http *h, const char *method, const char *url, const char *const *headers,
		const char *body, unsigned flags, size_t max_body, http_done_cb cb, void *arg,
		struct http_request **ret_req);

/* Abandon a request (queued or in flight) without calling back. A request
 * already on the wire may still reach the server. */
void http_cancel(struct http_request *r);

/* Asked once, when r leaves the queue (its rate-limit token and slot
 * taken), before a byte is sent: false withdraws it, and its callback
 * gets a transport failure (CURLE_ABORTED_BY_CALLBACK, maybe_sent false:
 * it never left this host). For a request whose body may have become
 * wrong while it waited. Not called for a request already sent or
 * cancelled. */
typedef bool (*http_go_cb)(void *arg);
void http_set_go(struct http_request *r, http_go_cb go, void *arg);

/* The fence of a cluster leader (cluster.h): asked for every HTTP_NO_REUSE
 * request in libcurl's pre-request callback, once the connection is up and
 * before the first byte is written; false withdraws it as http_set_go's go
 * does (maybe_sent false, withdrawn true; the callback comes from the
 * loop, never from inside http_submit). NULL: none. */
void http_set_fence(struct http *h, http_go_cb fence, void *arg);

/* Requests queued or in flight. */
size_t http_pending(const struct http *h);

/* Urgent requests (HTTP_URGENT) still waiting for a slot: a burst of
 * submits is being sent. */
size_t http_urgent_queued(const struct http *h);

/* Requests in flight (handed to libcurl). */
size_t http_running(const struct http *h);

/* The requests submitted from now on are not started before the wall
 * clock (CLOCK_REALTIME, us) reaches until_us; 0: no longer held. Held
 * requests wait apart, in the order of their instants, and hold nothing
 * else up; at its instant one goes to the front of the urgent queue. */
void http_hold_next(struct http *h, int64_t until_us);

/* The instant the request next in line is held to (us), or 0 when none
 * is held. */
int64_t http_held_until_us(const struct http *h);

/* Start what may start now: a holder's timer calls it at the instant
 * (the client's own timer would be up to a millisecond late). */
void http_release(struct http *h);

/* Connection slots a request submitted now would take at once (0 while
 * urgent requests wait for one). The rate limit is not asked. */
size_t http_free_slots(const struct http *h);

#endif
