/*
 * test_http: the curl+libevent client against an in-process server. Proves
 * the properties the daemon's exactly-once promise rests on: bodies and
 * headers arrive, concurrency and rate limits hold (measured at the
 * server), timeouts and resets report maybe_sent, refused and unverified
 * connections do not, and a non-idempotent request is never silently
 * re-sent by libcurl's dead-keep-alive retry.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "http.h"
#include "http_testsrv.h"
#include "util.h"

/* What one callback saw, copied out of the response. */
struct got {
	bool done;
	int calls;
	long status;
	char *body;
	size_t len;
	char *retry_after;
	int curl_code;
	char error[256];
	bool maybe_sent, reused, too_big, withdrawn;
	struct http_timing timing;
};

static struct event_base *base;
static struct testsrv *srv;
static struct http *client;

static void got_cb(const struct http_response *res, void *arg)
{
	struct got *g = arg;
	g->calls++;
	g->done = true;
	g->status = res->status;
	free(g->body);
	g->body = xstrndup(res->body, res->len);
	g->len = res->len;
	free(g->retry_after);
	g->retry_after = res->retry_after_raw ? xstrdup(res->retry_after_raw) : NULL;
	g->curl_code = res->curl_code;
	snprintf(g->error, sizeof(g->error), "%s", res->error);
	g->maybe_sent = res->maybe_sent;
	g->reused = res->reused;
	g->too_big = res->too_big;
	g->withdrawn = res->withdrawn;
	g->timing = res->timing;
}

static void got_clear(struct got *g)
{
	free(g->body);
	free(g->retry_after);
	memset(g, 0, sizeof(*g));
}

static const struct http_options default_opts = {
	.timeout_ms = 5000,
	.max_concurrent = 4,
	.user_agent = "batchcalld-test/1",
};

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	srv = testsrv_new(base, NULL);
	client = http_new(base, &default_opts);
	ck_assert_ptr_nonnull(client);
}

static void teardown(void)
{
	http_free(client);
	client = NULL;
	testsrv_free(srv);
	srv = NULL;
	event_base_free(base);
	base = NULL;
}

static void replace_client(const struct http_options *o)
{
	http_free(client);
	client = http_new(base, o);
	ck_assert_ptr_nonnull(client);
}

/* Submit with a body cap (0: the client's) and run the loop until the
 * answer (15 s deadline). */
static void fetch_capped(const char *method, const char *path, const char *const *headers, const char *body,
			 unsigned flags, size_t max_body, struct got *g)
{
	char *url = testsrv_url(srv, path);
	got_clear(g);
	ck_assert_int_eq(http_submit(client, method, url, headers, body, flags, max_body, got_cb, g, NULL), 0);
	free(url);
	ck_assert(testsrv_run_until(base, &g->done, 15000));
	ck_assert_int_eq(g->calls, 1);
}

static void fetch(const char *method, const char *path, const char *const *headers, const char *body,
		  unsigned flags, struct got *g)
{
	fetch_capped(method, path, headers, body, flags, 0, g);
}

START_TEST(test_get_post_delete_arrive)
{
	struct got g = { 0 };
	const char *hdr[] = { "X-Test: hello", NULL };

	fetch("GET", "/echo?x=1", hdr, NULL, 0, &g);
	ck_assert_int_eq(g.status, 200);
	ck_assert_str_eq(g.body, "GET ");
	ck_assert_int_eq(g.curl_code, 0);
	ck_assert_str_eq(g.error, "");
	ck_assert(g.maybe_sent);
	ck_assert_uint_eq(srv->n_log, 1);
	ck_assert_str_eq(srv->log[0].uri, "/echo?x=1");
	ck_assert_str_eq(srv->log[0].user_agent, "batchcalld-test/1");
	ck_assert_str_eq(srv->log[0].x_test, "hello");

	const char *jh[] = { "Content-Type: application/json", NULL };
	fetch("POST", "/echo", jh, "{\"a\":1}", 0, &g);
	ck_assert_int_eq(g.status, 200);
	ck_assert_str_eq(g.body, "POST {\"a\":1}");
	ck_assert_str_eq(srv->log[1].method, "POST");
	ck_assert_str_eq(srv->log[1].body, "{\"a\":1}");
	ck_assert_str_eq(srv->log[1].content_type, "application/json");

	/* cancel/retry are POSTs without a body. */
	fetch("POST", "/echo", NULL, NULL, HTTP_NO_REUSE, &g);
	ck_assert_str_eq(g.body, "POST ");
	ck_assert_uint_eq(srv->log[2].body_len, 0);
	ck_assert_ptr_null(srv->log[2].content_type);

	fetch("DELETE", "/echo", NULL, NULL, 0, &g);
	ck_assert_str_eq(g.body, "DELETE ");
	ck_assert_str_eq(srv->log[3].method, "DELETE");
	ck_assert_uint_eq(srv->n_log, 4);
	ck_assert_uint_eq(http_pending(client), 0);
	got_clear(&g);
}
END_TEST

START_TEST(test_big_post_body_no_expect_stall)
{
	/* A body over libcurl's Expect: 100-continue threshold must go at
	 * once (the API never sends 100; curl would wait a second). */
	size_t n = 3 << 20;
	char *body = xmalloc(n + 1);
	memset(body, 'b', n);
	body[n] = '\0';
	struct got g = { 0 };
	fetch("POST", "/echo", NULL, body, HTTP_NO_REUSE, &g);
	ck_assert_int_eq(g.status, 200);
	ck_assert_uint_eq(srv->log[0].body_len, n);
	ck_assert_int_eq(memcmp(srv->log[0].body, body, n), 0);
	ck_assert_ptr_null(srv->log[0].expect);
	free(body);
	got_clear(&g);
}
END_TEST

START_TEST(test_max_concurrent_never_exceeded)
{
	struct http_options o = default_opts;
	o.max_concurrent = 3;
	replace_client(&o);
	enum { N = 10 };
	struct got g[N] = { 0 };
	char *url = testsrv_url(srv, "/delay?ms=300");
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(http_submit(client, "GET", url, NULL, NULL, 0, 0, got_cb, &g[i], NULL), 0);
	free(url);
	ck_assert_uint_eq(http_pending(client), N);
	ck_assert_uint_eq(http_running(client), 3);
	for (int i = 0; i < N; i++) {
		ck_assert(testsrv_run_until(base, &g[i].done, 10000));
		ck_assert_int_eq(g[i].status, 200);
		ck_assert_str_eq(g[i].body, "late");
		got_clear(&g[i]);
	}
	ck_assert_uint_eq(srv->n_log, N);
	/* Answers take 300 ms, so three at a time do overlap, and never four. */
	ck_assert_int_eq(srv->max_inflight, 3);
	ck_assert_uint_eq(http_pending(client), 0);
	/* FIFO: the server saw them in submission order is not observable
	 * with equal URLs; the completion order above already waited in order. */
}
END_TEST

START_TEST(test_fifo_order)
{
	struct http_options o = default_opts;
	o.max_concurrent = 1;
	replace_client(&o);
	enum { N = 6 };
	struct got g[N] = { 0 };
	for (int i = 0; i < N; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/echo?i=%d", i);
		char *url = testsrv_url(srv, path);
		ck_assert_int_eq(http_submit(client, "GET", url, NULL, NULL, 0, 0, got_cb, &g[i], NULL), 0);
		free(url);
	}
	ck_assert(testsrv_run_until(base, &g[N - 1].done, 5000));
	ck_assert_uint_eq(srv->n_log, N);
	for (int i = 0; i < N; i++) {
		char want[32];
		snprintf(want, sizeof(want), "/echo?i=%d", i);
		ck_assert_str_eq(srv->log[i].uri, want);
		ck_assert(g[i].done);
		got_clear(&g[i]);
	}
}
END_TEST

/* Urgent requests (submits) overtake the queue: with one slot busy and
 * reads queued before them, they are sent next, in their own order; the
 * reads follow in theirs. Each request's timing is in order, and one that
 * waited for the slot names the moment that slot came free: after the
 * request before it had been written, at or before its own start. */
START_TEST(test_urgent_first)
{
	struct http_options o = default_opts;
	o.max_concurrent = 1;
	replace_client(&o);
	enum { N = 5 };
	static const char *const paths[N] = { "/echo?i=0", "/echo?i=1", "/echo?i=2", "/echo?u=0", "/echo?u=1" };
	static const char *const want[N] = { "/echo?i=0", "/echo?u=0", "/echo?u=1", "/echo?i=1", "/echo?i=2" };
	struct got g[N] = { 0 };
	for (int i = 0; i < N; i++) {
		bool urgent = paths[i][6] == 'u';
		char *url = testsrv_url(srv, paths[i]);
		ck_assert_int_eq(http_submit(client, urgent ? "POST" : "GET", url, NULL, urgent ? "{}" : NULL,
					     urgent ? HTTP_NO_REUSE | HTTP_URGENT : 0, 0, got_cb, &g[i], NULL),
				 0);
		free(url);
	}
	ck_assert_uint_eq(http_urgent_queued(client), 2);
	for (int i = 0; i < N; i++)
		ck_assert(testsrv_run_until(base, &g[i].done, 5000));
	ck_assert_uint_eq(srv->n_log, N);
	for (int i = 0; i < N; i++)
		ck_assert_str_eq(srv->log[i].uri, want[i]);
	ck_assert_uint_eq(http_urgent_queued(client), 0);
	for (int i = 0; i < N; i++) {
		const struct http_timing *t = &g[i].timing;
		ck_assert_int_eq(g[i].status, 200);
		ck_assert(t->queued_us > 0 && t->queued_us <= t->started_us);
		ck_assert(t->started_us <= t->connected_us && t->connected_us <= t->written_us);
		ck_assert(t->written_us <= t->done_us);
	}
	/* the first found its slot free since the client started */
	ck_assert_int_eq(g[0].timing.slot_free_us, 0);
	/* u=0 took the slot i=0 left */
	ck_assert(g[3].timing.slot_free_us >= g[0].timing.written_us);
	ck_assert(g[3].timing.slot_free_us <= g[3].timing.started_us);
	ck_assert(g[3].timing.slot_free_us >= g[0].timing.done_us);
	for (int i = 0; i < N; i++)
		got_clear(&g[i]);
}
END_TEST

/* A request held to an instant (http_hold_next) starts at it and holds
 * nothing else up; http_release before the instant starts nothing;
 * without it the client's own timer lets it go. */
START_TEST(test_hold_until_instant)
{
	struct got g[2] = { 0 };
	struct timespec ts;
	int64_t wall, until;
	char *url = testsrv_url(srv, "/echo?held");
	char *url2 = testsrv_url(srv, "/echo?behind");

	clock_gettime(CLOCK_REALTIME, &ts);
	wall = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	until = wall + 150000;
	http_hold_next(client, until);
	ck_assert_int_eq(http_submit(client, "POST", url, NULL, "{}", HTTP_NO_REUSE | HTTP_URGENT, 0, got_cb, &g[0],
				     NULL), 0);
	http_hold_next(client, 0);
	ck_assert_int_eq(http_submit(client, "GET", url2, NULL, NULL, 0, 0, got_cb, &g[1], NULL), 0);
	/* the GET behind it went at once */
	ck_assert_uint_eq(http_running(client), 1);
	ck_assert_uint_eq(http_pending(client), 2);
	ck_assert_int_eq(http_held_until_us(client), until);
	http_release(client);
	ck_assert_uint_eq(http_running(client), 1);
	ck_assert(testsrv_run_until(base, &g[0].done, 5000));
	ck_assert(g[1].done);
	ck_assert_int_eq(g[0].status, 200);
	ck_assert_int_eq(g[1].status, 200);
	ck_assert_uint_eq(srv->n_log, 2);
	ck_assert_str_eq(srv->log[0].uri, "/echo?behind");
	ck_assert_str_eq(srv->log[1].uri, "/echo?held");
	ck_assert(g[0].timing.started_us - g[0].timing.queued_us >= 149000);
	ck_assert(g[1].timing.started_us - g[1].timing.queued_us < 100000);
	ck_assert(g[0].timing.held);
	ck_assert(!g[1].timing.held);
	ck_assert_int_eq(http_held_until_us(client), 0);
	got_clear(&g[0]);
	got_clear(&g[1]);
	free(url);
	free(url2);
}
END_TEST

/* The go callback is asked as a request leaves the queue: false withdraws
 * it unsent (a transport failure that never left this host), true lets it
 * go; a request that left at once is not asked. */
static int go_asked;
static bool go_no(void *arg)
{
	(void)arg;
	go_asked++;
	return false;
}

static bool go_yes(void *arg)
{
	(void)arg;
	go_asked++;
	return true;
}

START_TEST(test_go_withdraws_queued)
{
	struct http_options o = default_opts;
	o.max_concurrent = 1;
	replace_client(&o);
	struct got g[3] = { 0 };
	struct http_request *req[3];
	go_asked = 0;
	for (int i = 0; i < 3; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/echo?i=%d", i);
		char *url = testsrv_url(srv, path);
		ck_assert_int_eq(http_submit(client, "POST", url, NULL, "{}", HTTP_NO_REUSE, 0, got_cb, &g[i], &req[i]),
				 0);
		free(url);
	}
	http_set_go(req[0], go_no, NULL); /* already running: never asked */
	http_set_go(req[1], go_no, NULL);
	http_set_go(req[2], go_yes, NULL);
	ck_assert(testsrv_run_until(base, &g[2].done, 5000));
	ck_assert_int_eq(go_asked, 2);
	ck_assert(g[0].done && g[0].status == 200 && !g[0].withdrawn);
	ck_assert(g[1].done && g[1].status == 0 && g[1].withdrawn && !g[1].maybe_sent);
	ck_assert_int_ne(g[1].curl_code, 0);
	ck_assert_str_eq(g[1].error, "withdrawn before it was sent");
	ck_assert(g[2].done && g[2].status == 200 && !g[2].withdrawn);
	ck_assert_uint_eq(srv->n_log, 2);
	ck_assert_str_eq(srv->log[0].uri, "/echo?i=0");
	ck_assert_str_eq(srv->log[1].uri, "/echo?i=2");
	for (int i = 0; i < 3; i++)
		got_clear(&g[i]);
}
END_TEST

START_TEST(test_token_bucket_spaces_requests)
{
	/* 20/s with a burst of 2: request k (0-based) cannot be started
	 * before (k - 1) * 50 ms after the first take, and the server cannot
	 * receive it before it is started. t0 is read before the first
	 * submit, so these bounds hold on any machine, however slow. */
	struct http_options o = default_opts;
	o.max_concurrent = 16;
	o.max_per_second = 20;
	o.burst = 2;
	replace_client(&o);
	enum { N = 8 };
	struct got g[N] = { 0 };
	char *url = testsrv_url(srv, "/echo");
	int64_t t0 = testsrv_now_us();
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(http_submit(client, "GET", url, NULL, NULL, 0, 0, got_cb, &g[i], NULL), 0);
	free(url);
	/* Only the burst is let through at once (plus a token per 50 ms
	 * if this loop was slow). */
	int64_t t1 = testsrv_now_us();
	ck_assert_uint_ge(http_running(client), 2);
	ck_assert_uint_le(http_running(client), 2 + (size_t)((t1 - t0) / 50000));
	ck_assert_uint_eq(http_pending(client), N);
	for (int i = 0; i < N; i++)
		ck_assert(testsrv_run_until(base, &g[i].done, 10000));
	ck_assert_uint_eq(srv->n_log, N);
	for (int k = 2; k < N; k++) {
		/* Receive times are sorted by arrival; the k-th arrival needs
		 * at least k+1 tokens to have been taken. */
		int64_t min_us = (int64_t)(k - 1) * 50000;
		ck_assert_int_ge(srv->log[k].t_us - t0, min_us);
	}
	int64_t span = srv->log[N - 1].t_us - t0;
	ck_assert_int_ge(span, (int64_t)(N - 2) * 1000000 / 20);
	/* And the limiter does not crawl: well under 10x the ideal. */
	ck_assert_int_lt(span, 3000000);
	for (int i = 0; i < N; i++)
		got_clear(&g[i]);
}
END_TEST

START_TEST(test_timeout_is_maybe_sent)
{
	struct http_options o = default_opts;
	o.timeout_ms = 1500;
	replace_client(&o);
	struct got g = { 0 };
	fetch("POST", "/delay?ms=20000", NULL, "{}", HTTP_NO_REUSE, &g);
	ck_assert_int_eq(g.status, 0);
	ck_assert_int_eq(g.curl_code, CURLE_OPERATION_TIMEDOUT);
	ck_assert_int_eq(testsrv_count(srv, "POST", "/delay"), 1);
	ck_assert(g.maybe_sent);
	ck_assert_str_ne(g.error, "");
	got_clear(&g);
}
END_TEST

START_TEST(test_refused_is_not_sent)
{
	int port;
	int fd = testsrv_silent_listener(&port);
	close(fd); /* now nobody listens there */
	char *url = xasprintf("http://127.0.0.1:%d/x", port);
	struct got g = { 0 };
	ck_assert_int_eq(http_submit(client, "POST", url, NULL, "{}", HTTP_NO_REUSE, 0, got_cb, &g, NULL), 0);
	ck_assert(testsrv_run_until(base, &g.done, 5000));
	ck_assert_int_eq(g.status, 0);
	ck_assert_int_eq(g.curl_code, CURLE_COULDNT_CONNECT);
	ck_assert(!g.maybe_sent);
	free(url);
	got_clear(&g);
}
END_TEST

START_TEST(test_tls_handshake_timeout_is_not_sent)
{
	/* TCP connects (the kernel accepts into the backlog) but TLS never
	 * completes: the request cannot have been written. */
	struct http_options o = default_opts;
	o.timeout_ms = 400;
	replace_client(&o);
	int port;
	int fd = testsrv_silent_listener(&port);
	char *url = xasprintf("https://127.0.0.1:%d/x", port);
	struct got g = { 0 };
	ck_assert_int_eq(http_submit(client, "POST", url, NULL, "{}", HTTP_NO_REUSE, 0, got_cb, &g, NULL), 0);
	ck_assert(testsrv_run_until(base, &g.done, 5000));
	ck_assert_int_eq(g.status, 0);
	ck_assert_int_eq(g.curl_code, CURLE_OPERATION_TIMEDOUT);
	ck_assert(!g.maybe_sent);
	close(fd);
	free(url);
	got_clear(&g);
}
END_TEST

START_TEST(test_keepalive_reuse_and_no_reuse)
{
	struct got g = { 0 };
	fetch("GET", "/echo", NULL, NULL, 0, &g);
	ck_assert(!g.reused);
	fetch("GET", "/echo", NULL, NULL, 0, &g);
	ck_assert(g.reused);
	ck_assert_int_eq(srv->n_conns, 1);
	/* NO_REUSE opens its own connection although one is idle ... */
	fetch("POST", "/echo", NULL, "{}", HTTP_NO_REUSE, &g);
	ck_assert(!g.reused);
	ck_assert_int_eq(srv->n_conns, 2);
	/* ... and closes it: the next GET goes back to the first one. */
	fetch("GET", "/echo", NULL, NULL, 0, &g);
	ck_assert(g.reused);
	ck_assert_int_eq(srv->n_conns, 2);
	ck_assert_int_eq(srv->log[3].fd, srv->log[0].fd);
	fetch("POST", "/echo", NULL, "{}", HTTP_NO_REUSE, &g);
	ck_assert(!g.reused);
	ck_assert_int_eq(srv->n_conns, 3);
	got_clear(&g);
}
END_TEST

START_TEST(test_server_closed_keepalive)
{
	/* The server drops an idle kept-alive connection (idle timeout):
	 * a NO_REUSE POST after that is received exactly once and a plain
	 * GET still works. */
	struct got g = { 0 };
	fetch("GET", "/echo", NULL, NULL, 0, &g);
	testsrv_cut(srv, srv->log[0].fd);
	fetch("POST", "/echo", NULL, "{\"n\":1}", HTTP_NO_REUSE, &g);
	ck_assert_int_eq(g.status, 200);
	ck_assert_int_eq(testsrv_count(srv, "POST", "/echo"), 1);
	fetch("GET", "/echo", NULL, NULL, 0, &g);
	ck_assert_int_eq(g.status, 200);
	ck_assert_str_eq(g.body, "GET ");
	ck_assert_int_eq(testsrv_count(srv, "GET", "/echo"), 2);
	ck_assert_int_eq(testsrv_count(srv, "POST", "/echo"), 1);
	got_clear(&g);
}
END_TEST

START_TEST(test_drop_after_post_no_resend)
{
	/* The trap set up exactly: an idle kept-alive connection exists, the
	 * server reads the POST and hangs up without a byte of answer. */
	struct got g = { 0 };
	fetch("GET", "/echo", NULL, NULL, 0, &g);
	fetch("POST", "/drop", NULL, "{\"submit\":1}", HTTP_NO_REUSE, &g);
	ck_assert_int_eq(g.status, 0);
	ck_assert_int_eq(g.curl_code, CURLE_GOT_NOTHING);
	ck_assert(g.maybe_sent);
	ck_assert_int_eq(testsrv_count(srv, "POST", "/drop"), 1);
	/* Still exactly once after the loop has had time for stragglers. */
	bool never = false;
	testsrv_run_until(base, &never, 300);
	ck_assert_int_eq(testsrv_count(srv, "POST", "/drop"), 1);
	/* The client is still usable. */
	fetch("GET", "/echo", NULL, NULL, 0, &g);
	ck_assert_int_eq(g.status, 200);
	got_clear(&g);
}
END_TEST

START_TEST(test_drop_on_reused_connection_is_resent_by_libcurl)
{
	/* Control experiment: without HTTP_NO_REUSE the same POST goes out
	 * on the idle connection, and libcurl silently sends it a second
	 * time on a new one. This is the hazard HTTP_NO_REUSE exists for;
	 * the test shows the harness can see a re-send when there is one. */
	struct got g = { 0 };
	fetch("GET", "/echo", NULL, NULL, 0, &g);
	fetch("POST", "/drop", NULL, "{\"submit\":1}", 0, &g);
	ck_assert_int_eq(g.status, 0);
	ck_assert(g.maybe_sent);
	ck_assert_int_eq(testsrv_count(srv, "POST", "/drop"), 2);
	got_clear(&g);
}
END_TEST

START_TEST(test_retry_after_captured)
{
	struct got g = { 0 };
	fetch("GET", "/status?code=429&ra=7", NULL, NULL, 0, &g);
	ck_assert_int_eq(g.status, 429);
	ck_assert_str_eq(g.retry_after, "7");
	ck_assert_str_eq(g.body, "{}");
	ck_assert_int_eq(g.curl_code, 0);
	fetch("GET", "/status?code=503&ra=Wed,%2021%20Oct%202026%2007:28:00%20GMT", NULL, NULL, 0, &g);
	ck_assert_int_eq(g.status, 503);
	ck_assert_str_eq(g.retry_after, "Wed, 21 Oct 2026 07:28:00 GMT");
	fetch("GET", "/status?code=200", NULL, NULL, 0, &g);
	ck_assert_int_eq(g.status, 200);
	ck_assert_ptr_null(g.retry_after);
	got_clear(&g);
}
END_TEST

START_TEST(test_body_cap)
{
	struct http_options o = default_opts;
	o.max_body = 1000;
	replace_client(&o);
	struct got g = { 0 };
	fetch("GET", "/big?n=1000", NULL, NULL, 0, &g);
	ck_assert_int_eq(g.status, 200);
	ck_assert_int_eq(g.curl_code, 0);
	ck_assert_uint_eq(g.len, 1000);
	ck_assert(!g.too_big);
	fetch("GET", "/big?n=1001", NULL, NULL, 0, &g);
	ck_assert_int_eq(g.status, 200);
	ck_assert_int_eq(g.curl_code, CURLE_WRITE_ERROR);
	ck_assert_str_eq(g.error, "response body over 1000 bytes");
	ck_assert(g.too_big);
	ck_assert(g.maybe_sent);
	ck_assert_uint_le(g.len, 1000);
	got_clear(&g);
}
END_TEST

/* Each request carries its own cap; 0 falls back to the client's. */
START_TEST(test_body_cap_per_request)
{
	struct got g = { 0 };

	fetch_capped("GET", "/big?n=5000", NULL, NULL, 0, 5000, &g);
	ck_assert_int_eq(g.curl_code, 0);
	ck_assert(!g.too_big);
	ck_assert_uint_eq(g.len, 5000);
	fetch_capped("GET", "/big?n=5001", NULL, NULL, 0, 5000, &g);
	ck_assert_int_eq(g.status, 200); /* the status and headers are whole */
	ck_assert_int_eq(g.curl_code, CURLE_WRITE_ERROR);
	ck_assert(g.too_big);
	ck_assert_str_eq(g.error, "response body over 5000 bytes");
	ck_assert_uint_le(g.len, 5000);
	/* the next request, with the client's cap (64 MiB), reads it all */
	fetch_capped("GET", "/big?n=5001", NULL, NULL, 0, 0, &g);
	ck_assert_int_eq(g.curl_code, 0);
	ck_assert(!g.too_big);
	ck_assert_uint_eq(g.len, 5001);
	/* a POST of its own connection too */
	fetch_capped("POST", "/big?n=70000", NULL, "{}", HTTP_NO_REUSE, 65536, &g);
	ck_assert(g.too_big);
	ck_assert_uint_le(g.len, 65536);
	got_clear(&g);
}
END_TEST

/* 64 MiB of "{},{},..." gzip-compressed to about 64 KiB: the cap counts
 * what is decoded, and reading stops there, so a small transfer cannot
 * make the daemon hold (or parse) gigabytes. */
START_TEST(test_gzip_bomb_stops_at_cap)
{
	struct got g = { 0 };

	/* small enough: decoded and read in full */
	fetch_capped("GET", "/gzip?n=1048576", NULL, NULL, 0, 2 << 20, &g);
	ck_assert_int_eq(g.status, 200);
	ck_assert_int_eq(g.curl_code, 0);
	ck_assert_uint_eq(g.len, 1048576);
	ck_assert_int_eq(strncmp(g.body, "{},{},{},", 9), 0);

	fetch_capped("GET", "/gzip?n=67108864", NULL, NULL, 0, 65536, &g);
	ck_assert_int_eq(g.status, 200);
	ck_assert_int_eq(g.curl_code, CURLE_WRITE_ERROR);
	ck_assert(g.too_big);
	ck_assert(g.maybe_sent);
	ck_assert_str_eq(g.error, "response body over 65536 bytes");
	/* what was handed over is at most the cap, never the 64 MiB */
	ck_assert_uint_le(g.len, 65536);
	ck_assert_int_eq(strncmp(g.body, "{},{},{},", 9), 0);
	got_clear(&g);
}
END_TEST

static struct http_request *victim;

static void cancel_other_cb(const struct http_response *res, void *arg)
{
	got_cb(res, arg);
	http_cancel(victim);
	victim = NULL;
}

START_TEST(test_cancel_never_calls_back)
{
	struct http_options o = default_opts;
	o.max_concurrent = 1;
	replace_client(&o);
	struct got g[4] = { 0 };
	struct http_request *r[4];
	char *slow = testsrv_url(srv, "/delay?ms=100"), *fast = testsrv_url(srv, "/echo");
	ck_assert_int_eq(http_submit(client, "GET", slow, NULL, NULL, 0, 0, got_cb, &g[0], &r[0]), 0);
	ck_assert_int_eq(http_submit(client, "GET", fast, NULL, NULL, 0, 0, cancel_other_cb, &g[1], &r[1]), 0);
	ck_assert_int_eq(http_submit(client, "GET", fast, NULL, NULL, 0, 0, got_cb, &g[2], &r[2]), 0);
	ck_assert_int_eq(http_submit(client, "GET", fast, NULL, NULL, 0, 0, got_cb, &g[3], &r[3]), 0);
	ck_assert_uint_eq(http_pending(client), 4);
	/* Cancel the running one: the next queued one starts. */
	http_cancel(r[0]);
	ck_assert_uint_eq(http_pending(client), 3);
	ck_assert_uint_eq(http_running(client), 1);
	/* r[1]'s callback cancels r[3] (queued) from inside a callback. */
	victim = r[3];
	ck_assert(testsrv_run_until(base, &g[2].done, 5000));
	bool never = false;
	testsrv_run_until(base, &never, 250);
	ck_assert(!g[0].done);
	ck_assert_int_eq(g[1].calls, 1);
	ck_assert_int_eq(g[2].calls, 1);
	ck_assert(!g[3].done);
	ck_assert_uint_eq(http_pending(client), 0);
	ck_assert_int_eq(testsrv_count(srv, "GET", "/echo"), 2);
	free(slow);
	free(fast);
	for (int i = 0; i < 4; i++)
		got_clear(&g[i]);
}
END_TEST

/* Two requests time out in the same pass of curl: the first one's
 * callback cancels the other, finished but not yet called back. It goes
 * without its callback, and the client's counts stay whole. */
static struct http_request *pair[2];
static struct got *pair_got[2];

static void cancel_pair_cb(const struct http_response *res, void *arg)
{
	got_cb(res, arg);
	for (int i = 0; i < 2; i++)
		if (pair_got[i] != arg && pair[i])
			http_cancel(pair[i]);
	pair[0] = pair[1] = NULL;
}

START_TEST(test_cancel_finished_from_callback)
{
	struct http_options o = default_opts;
	o.timeout_ms = 300;
	o.max_concurrent = 2;
	replace_client(&o);
	struct got g[2] = { 0 };
	char *slow = testsrv_url(srv, "/delay?ms=20000");
	for (int i = 0; i < 2; i++) {
		pair_got[i] = &g[i];
		ck_assert_int_eq(http_submit(client, "GET", slow, NULL, NULL, 0, 0, cancel_pair_cb, &g[i], &pair[i]), 0);
	}
	ck_assert_uint_eq(http_running(client), 2);
	bool never = false;
	testsrv_run_until(base, &never, 1500);
	ck_assert_int_eq(g[0].calls + g[1].calls, 1);
	ck_assert_uint_eq(http_pending(client), 0);
	ck_assert_uint_eq(http_running(client), 0);
	free(slow);
	/* the client still works: its slots were not given back twice */
	struct got ok = { 0 };
	fetch("GET", "/echo", NULL, NULL, 0, &ok);
	ck_assert_int_eq(ok.status, 200);
	got_clear(&ok);
	for (int i = 0; i < 2; i++)
		got_clear(&g[i]);
}
END_TEST

/* A request whose handle cannot be set up (a URL over libcurl's 8 MB
 * limit) is answered from the loop, never inside http_submit, whose
 * caller has not finished with it. */
START_TEST(test_unstartable_answered_from_the_loop)
{
	struct got g = { 0 };
	size_t n = 8 * 1000 * 1000 + 64;
	char *url = xmalloc(n + 1), *base_url = testsrv_url(srv, "/echo?x=");
	size_t k = strlen(base_url);

	memcpy(url, base_url, k);
	memset(url + k, 'a', n - k);
	url[n] = '\0';
	ck_assert_int_eq(http_submit(client, "GET", url, NULL, NULL, 0, 0, got_cb, &g, NULL), 0);
	ck_assert_int_eq(g.calls, 0); /* not from inside http_submit */
	ck_assert(testsrv_run_until(base, &g.done, 5000));
	ck_assert_int_eq(g.calls, 1);
	ck_assert_int_eq(g.curl_code, CURLE_FAILED_INIT);
	ck_assert(!g.maybe_sent);
	ck_assert_uint_eq(http_pending(client), 0);
	free(url);
	free(base_url);
	got_clear(&g);
}
END_TEST

static void free_client_cb(const struct http_response *res, void *arg)
{
	got_cb(res, arg);
	http_free(client);
	client = NULL;
}

START_TEST(test_free_inside_callback)
{
	struct got g[3] = { 0 };
	char *fast = testsrv_url(srv, "/echo"), *slow = testsrv_url(srv, "/delay?ms=5000");
	ck_assert_int_eq(http_submit(client, "GET", fast, NULL, NULL, 0, 0, free_client_cb, &g[0], NULL), 0);
	ck_assert_int_eq(http_submit(client, "GET", slow, NULL, NULL, 0, 0, got_cb, &g[1], NULL), 0);
	ck_assert_int_eq(http_submit(client, "GET", slow, NULL, NULL, 0, 0, got_cb, &g[2], NULL), 0);
	ck_assert(testsrv_run_until(base, &g[0].done, 5000));
	bool never = false;
	testsrv_run_until(base, &never, 400);
	ck_assert(!g[1].done);
	ck_assert(!g[2].done);
	ck_assert_ptr_null(client);
	free(fast);
	free(slow);
	for (int i = 0; i < 3; i++)
		got_clear(&g[i]);
}
END_TEST

struct chain {
	struct got g;
	int left;
	char *url;
};

static void chain_cb(const struct http_response *res, void *arg)
{
	struct chain *c = arg;
	ck_assert_int_eq(res->status, 200);
	if (--c->left > 0)
		ck_assert_int_eq(http_submit(client, "GET", c->url, NULL, NULL, 0, 0, chain_cb, c, NULL), 0);
	else
		got_cb(res, &c->g);
}

START_TEST(test_submit_from_callback)
{
	struct chain c = { .left = 5, .url = testsrv_url(srv, "/echo") };
	ck_assert_int_eq(http_submit(client, "GET", c.url, NULL, NULL, 0, 0, chain_cb, &c, NULL), 0);
	ck_assert(testsrv_run_until(base, &c.g.done, 5000));
	ck_assert_int_eq(testsrv_count(srv, "GET", "/echo"), 5);
	ck_assert_int_eq(srv->n_conns, 1);
	free(c.url);
	got_clear(&c.g);
}
END_TEST

START_TEST(test_bad_arguments)
{
	struct got g = { 0 };
	ck_assert_int_eq(http_submit(client, NULL, "http://127.0.0.1/", NULL, NULL, 0, 0, got_cb, &g, NULL), -EINVAL);
	ck_assert_int_eq(http_submit(client, "GET", NULL, NULL, NULL, 0, 0, got_cb, &g, NULL), -EINVAL);
	ck_assert_int_eq(http_submit(client, "GET", "http://127.0.0.1/", NULL, NULL, 0, 0, NULL, &g, NULL), -EINVAL);
	ck_assert_uint_eq(http_pending(client), 0);
	/* Destructors and counters accept NULL. */
	http_free(NULL);
	http_cancel(NULL);
	ck_assert_uint_eq(http_pending(NULL), 0);
}
END_TEST

/* TLS: a self-signed certificate made now; verification must fail without
 * the CA file and succeed with it. */
static char tls_dir[] = "/tmp/test_http_tls.XXXXXX";

START_TEST(test_tls_verification)
{
	ck_assert_ptr_nonnull(mkdtemp(tls_dir));
	ck_assert_int_eq(testsrv_make_cert(tls_dir), 0);
	SSL_CTX *ctx = testsrv_ssl_ctx(tls_dir);
	struct testsrv *tsrv = testsrv_new(base, ctx);
	char *url = testsrv_url(tsrv, "/echo");
	ck_assert_int_eq(strncmp(url, "https://", 8), 0);
	struct got g = { 0 };
	/* Generous: loading a CA bundle under sanitizers on a busy host is
	 * slow, and a timeout here would hide the verification result. */
	struct http_options o = default_opts;
	o.timeout_ms = 25000;
	replace_client(&o);

	ck_assert_int_eq(http_submit(client, "POST", url, NULL, "{}", HTTP_NO_REUSE, 0, got_cb, &g, NULL), 0);
	ck_assert(testsrv_run_until(base, &g.done, 30000));
	ck_assert_int_eq(g.status, 0);
	ck_assert_int_eq(g.curl_code, CURLE_PEER_FAILED_VERIFICATION);
	ck_assert(!g.maybe_sent);
	ck_assert_uint_eq(tsrv->n_log, 0);

	char *ca = xasprintf("%s/cert.pem", tls_dir);
	o.ca_file = ca;
	replace_client(&o);
	got_clear(&g);
	ck_assert_int_eq(http_submit(client, "POST", url, NULL, "{\"tls\":1}", HTTP_NO_REUSE, 0, got_cb, &g, NULL), 0);
	ck_assert(testsrv_run_until(base, &g.done, 30000));
	ck_assert_int_eq(g.curl_code, 0);
	ck_assert_int_eq(g.status, 200);
	ck_assert_str_eq(g.body, "POST {\"tls\":1}");
	ck_assert_uint_eq(tsrv->n_log, 1);

	http_free(client);
	client = NULL;
	testsrv_free(tsrv);
	SSL_CTX_free(ctx);
	char *cmd = xasprintf("rm -rf '%s'", tls_dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(ca);
	free(url);
	got_clear(&g);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("client");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_get_post_delete_arrive);
	tcase_add_test(tc, test_big_post_body_no_expect_stall);
	tcase_add_test(tc, test_max_concurrent_never_exceeded);
	tcase_add_test(tc, test_fifo_order);
	tcase_add_test(tc, test_hold_until_instant);
	tcase_add_test(tc, test_go_withdraws_queued);
	tcase_add_test(tc, test_token_bucket_spaces_requests);
	tcase_add_test(tc, test_timeout_is_maybe_sent);
	tcase_add_test(tc, test_refused_is_not_sent);
	tcase_add_test(tc, test_tls_handshake_timeout_is_not_sent);
	tcase_add_test(tc, test_keepalive_reuse_and_no_reuse);
	tcase_add_test(tc, test_server_closed_keepalive);
	tcase_add_test(tc, test_drop_after_post_no_resend);
	tcase_add_test(tc, test_drop_on_reused_connection_is_resent_by_libcurl);
	tcase_add_test(tc, test_retry_after_captured);
	tcase_add_test(tc, test_body_cap);
	tcase_add_test(tc, test_body_cap_per_request);
	tcase_add_test(tc, test_gzip_bomb_stops_at_cap);
	tcase_add_test(tc, test_cancel_never_calls_back);
	tcase_add_test(tc, test_cancel_finished_from_callback);
	tcase_add_test(tc, test_unstartable_answered_from_the_loop);
	tcase_add_test(tc, test_free_inside_callback);
	tcase_add_test(tc, test_submit_from_callback);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_urgent_first);
	tcase_add_test(tc, test_tls_verification);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(http_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
