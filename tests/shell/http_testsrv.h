/*
 * http_testsrv: a small HTTP(S) server on 127.0.0.1:0 that runs on the
 * test's own libevent loop, so the client under test and the server share
 * one thread and one clock. It records every request (method, URI, body,
 * selected headers, receive time, which connection) and acts by path:
 *
 *   /echo              200, body "METHOD BODY"
 *   /delay?ms=N        200 "late" after N ms (counts requests in flight)
 *   /status?code=N&ra=V  status N, "Retry-After: V" when ra is given, body {}
 *   /big?n=N           200 with N bytes of 'x'
 *   /gzip?n=N          200, Content-Encoding: gzip, N bytes of "{},{},..." once decoded
 *   /drop              reads the request, then cuts the connection, no answer
 *   anything else      the canned route for "METHOD URI", else 404
 */
#ifndef BC_HTTP_TESTSRV_H
#define BC_HTTP_TESTSRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

struct testsrv_req {
	char *method;
	char *uri;
	char *body;
	size_t body_len;
	char *user_agent, *api_key, *content_type, *accept, *x_test, *expect;
	int64_t t_us;   /* receive time, CLOCK_MONOTONIC */
	int conn;       /* serial number of the connection it came on */
	int fd;         /* server-side socket of that connection */
};

struct testsrv {
	struct event_base *base;
	struct evhttp *http;
	SSL_CTX *ssl;
	int port;
	struct testsrv_req *log;
	size_t n_log, cap_log;
	int n_conns;                /* connections accepted */
	int inflight, max_inflight; /* requests received and not yet answered */
	struct testsrv_pending *pending;
	struct testsrv_route *routes;
};

/* Listen on 127.0.0.1 (a free port); TLS when ssl is not NULL. */
struct testsrv *testsrv_new(struct event_base *base, SSL_CTX *ssl);
void testsrv_free(struct testsrv *s);

/* Answer "METHOD URI" (URI with its query) with status and body. */
void testsrv_route(struct testsrv *s, const char *method, const char *uri, int status, const char *body);

/* How many requests of this method arrived on this path (URI up to '?'). */
int testsrv_count(const struct testsrv *s, const char *method, const char *path);

/* Cut a connection from the server side, as an idle timeout would. */
void testsrv_cut(struct testsrv *s, int fd);

/* "http://127.0.0.1:PORT" or "https://..." + path; caller frees. */
char *testsrv_url(const struct testsrv *s, const char *path);

/* CLOCK_MONOTONIC in microseconds. */
int64_t testsrv_now_us(void);

/* Run base until *flag becomes true or ms pass; returns *flag. */
bool testsrv_run_until(struct event_base *base, const bool *flag, int ms);

/* Run base until cond(arg) holds or ms pass; returns cond(arg). */
bool testsrv_run_until_cond(struct event_base *base, bool (*cond)(void *), void *arg, int ms);

/* A listening TCP socket on 127.0.0.1 that never accepts (the kernel still
 * completes handshakes into the backlog); *ret_port gets its port. */
int testsrv_silent_listener(int *ret_port);

/* Make a self-signed certificate for 127.0.0.1/localhost in dir with the
 * openssl CLI: dir/cert.pem and dir/key.pem. 0 or -1. */
int testsrv_make_cert(const char *dir);

/* A server SSL_CTX from dir/cert.pem and dir/key.pem. */
SSL_CTX *testsrv_ssl_ctx(const char *dir);

#endif
