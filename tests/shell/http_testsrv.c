/*
 * http_testsrv: the in-process HTTP(S) server the http and api tests talk
 * to. It shares the test's event loop, so "the server saw it" and "the
 * client got it" are ordered by that one loop and timed by one clock.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>

#include "http_testsrv.h"
#include "util.h"

struct testsrv_pending {
	struct testsrv *s;
	struct evhttp_request *req;
	struct event *ev; /* NULL for a dropped request: never answered */
	struct testsrv_pending *next;
};

struct testsrv_route {
	char *key; /* "METHOD URI" */
	int status;
	char *body;
	struct testsrv_route *next;
};

int64_t testsrv_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *method_name(enum evhttp_cmd_type c)
{
	switch (c) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_HEAD: return "HEAD";
	default: return "OTHER";
	}
}

static char *header_dup(struct evhttp_request *req, const char *name)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), name);
	return v ? xstrdup(v) : NULL;
}

static long query_long(const char *uri, const char *key, long dflt)
{
	struct evkeyvalq q;
	const char *qs = strchr(uri, '?');
	long v = dflt;
	if (!qs)
		return v;
	if (evhttp_parse_query_str(qs + 1, &q) == 0) {
		const char *s = evhttp_find_header(&q, key);
		if (s)
			v = strtol(s, NULL, 10);
	}
	evhttp_clear_headers(&q);
	return v;
}

static char *query_str(const char *uri, const char *key)
{
	struct evkeyvalq q;
	const char *qs = strchr(uri, '?');
	char *v = NULL;
	if (!qs)
		return NULL;
	if (evhttp_parse_query_str(qs + 1, &q) == 0) {
		const char *s = evhttp_find_header(&q, key);
		if (s)
			v = xstrdup(s);
	}
	evhttp_clear_headers(&q);
	return v;
}

static bool path_is(const char *uri, const char *path)
{
	size_t n = strlen(path);
	return strncmp(uri, path, n) == 0 && (uri[n] == '\0' || uri[n] == '?');
}

static void reply(struct testsrv *s, struct evhttp_request *req, int code, const char *body, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, body, len);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Status", b);
	evbuffer_free(b);
	s->inflight--;
}

static void unlink_pending(struct testsrv *s, struct testsrv_pending *p)
{
	for (struct testsrv_pending **pp = &s->pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			return;
		}
}

static void delayed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct testsrv_pending *p = arg;
	unlink_pending(p->s, p);
	reply(p->s, p->req, 200, "late", 4);
	event_free(p->ev);
	free(p);
}

static void request_cb(struct evhttp_request *req, void *arg)
{
	struct testsrv *s = arg;
	const char *uri = evhttp_request_get_uri(req);
	const char *method = method_name(evhttp_request_get_command(req));
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));

	xgrow((void **)&s->log, &s->cap_log, s->n_log + 1, sizeof(*s->log));
	struct testsrv_req *r = &s->log[s->n_log++];
	memset(r, 0, sizeof(*r));
	r->method = xstrdup(method);
	r->uri = xstrdup(uri);
	r->body_len = evbuffer_get_length(in);
	r->body = xmalloc(r->body_len + 1);
	evbuffer_copyout(in, r->body, r->body_len);
	r->body[r->body_len] = '\0';
	r->user_agent = header_dup(req, "User-Agent");
	r->api_key = header_dup(req, "xi-api-key");
	r->content_type = header_dup(req, "Content-Type");
	r->accept = header_dup(req, "Accept");
	r->x_test = header_dup(req, "X-Test");
	r->expect = header_dup(req, "Expect");
	r->t_us = testsrv_now_us();
	r->fd = bev ? (int)bufferevent_getfd(bev) : -1;

	s->inflight++;
	if (s->inflight > s->max_inflight)
		s->max_inflight = s->inflight;

	if (path_is(uri, "/echo")) {
		char *b = xasprintf("%s %s", method, r->body);
		reply(s, req, 200, b, strlen(b));
		free(b);
	} else if (path_is(uri, "/delay")) {
		long ms = query_long(uri, "ms", 0);
		struct testsrv_pending *p = xcalloc(1, sizeof(*p));
		p->s = s;
		p->req = req;
		p->ev = evtimer_new(s->base, delayed_cb, p);
		p->next = s->pending;
		s->pending = p;
		struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
		evtimer_add(p->ev, &tv);
	} else if (path_is(uri, "/status")) {
		int code = (int)query_long(uri, "code", 200);
		char *ra = query_str(uri, "ra");
		if (ra)
			evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", ra);
		free(ra);
		reply(s, req, code, "{}", 2);
	} else if (path_is(uri, "/big")) {
		size_t n = (size_t)query_long(uri, "n", 0);
		char *b = xmalloc(n + 1);
		memset(b, 'x', n);
		reply(s, req, 200, b, n);
		free(b);
	} else if (path_is(uri, "/gzip")) {
		/* n bytes of "{},{},..." sent gzip-compressed (about a
		 * thousandth of that on the wire), made by the gzip program */
		long n = query_long(uri, "n", 0);
		char *cmd = xasprintf("(yes '{},' | tr -d '\\n') 2>/dev/null | head -c %ld | gzip -1 -c", n);
		FILE *f = popen(cmd, "r");
		char *b = NULL;
		size_t len = 0, cap = 0, got;
		do {
			xgrow((void **)&b, &cap, len + 65536, 1);
			got = f ? fread(b + len, 1, 65536, f) : 0;
			len += got;
		} while (got > 0);
		if (!f || pclose(f) != 0)
			len = 0; /* no gzip: an empty (undecodable) answer fails the test loudly */
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Encoding", "gzip");
		reply(s, req, 200, b, len);
		free(b);
		free(cmd);
	} else if (path_is(uri, "/drop")) {
		/* The request was read in full; the answer never comes. The
		 * request stays ours (libevent detaches it on EOF) and is
		 * released at testsrv_free. */
		struct testsrv_pending *p = xcalloc(1, sizeof(*p));
		p->s = s;
		p->req = req;
		p->next = s->pending;
		s->pending = p;
		s->inflight--;
		if (r->fd >= 0)
			shutdown(r->fd, SHUT_RDWR);
	} else {
		char *key = xasprintf("%s %s", method, uri);
		struct testsrv_route *rt = s->routes;
		while (rt && strcmp(rt->key, key) != 0)
			rt = rt->next;
		free(key);
		if (rt)
			reply(s, req, rt->status, rt->body, strlen(rt->body));
		else
			reply(s, req, 404, "{\"detail\":\"Not Found\"}", 22);
	}
}

static struct bufferevent *bev_cb(struct event_base *base, void *arg)
{
	struct testsrv *s = arg;
	s->n_conns++;
	if (s->ssl)
		return bufferevent_openssl_socket_new(base, -1, SSL_new(s->ssl), BUFFEREVENT_SSL_ACCEPTING,
						      BEV_OPT_CLOSE_ON_FREE);
	return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

struct testsrv *testsrv_new(struct event_base *base, SSL_CTX *ssl)
{
	struct testsrv *s = xcalloc(1, sizeof(*s));
	s->base = base;
	s->ssl = ssl;
	s->http = evhttp_new(base);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE | EVHTTP_REQ_PUT);
	evhttp_set_gencb(s->http, request_cb, s);
	evhttp_set_bevcb(s->http, bev_cb, s);
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
	if (!bs)
		abort();
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl) < 0)
		abort();
	s->port = ntohs(sa.sin_port);
	return s;
}

void testsrv_free(struct testsrv *s)
{
	if (!s)
		return;
	while (s->pending) {
		struct testsrv_pending *p = s->pending;
		s->pending = p->next;
		if (p->ev)
			event_free(p->ev);
		/* Frees the request whether or not its connection is gone. */
		evhttp_send_reply(p->req, 503, "Gone", NULL);
		free(p);
	}
	evhttp_free(s->http);
	for (size_t i = 0; i < s->n_log; i++) {
		struct testsrv_req *r = &s->log[i];
		free(r->method);
		free(r->uri);
		free(r->body);
		free(r->user_agent);
		free(r->api_key);
		free(r->content_type);
		free(r->accept);
		free(r->x_test);
		free(r->expect);
	}
	free(s->log);
	while (s->routes) {
		struct testsrv_route *rt = s->routes;
		s->routes = rt->next;
		free(rt->key);
		free(rt->body);
		free(rt);
	}
	free(s);
}

void testsrv_route(struct testsrv *s, const char *method, const char *uri, int status, const char *body)
{
	struct testsrv_route *rt = xcalloc(1, sizeof(*rt));
	rt->key = xasprintf("%s %s", method, uri);
	rt->status = status;
	rt->body = xstrdup(body);
	rt->next = s->routes;
	s->routes = rt;
}

int testsrv_count(const struct testsrv *s, const char *method, const char *path)
{
	int n = 0;
	for (size_t i = 0; i < s->n_log; i++)
		if (strcmp(s->log[i].method, method) == 0 && path_is(s->log[i].uri, path))
			n++;
	return n;
}

void testsrv_cut(struct testsrv *s, int fd)
{
	shutdown(fd, SHUT_RDWR);
}

char *testsrv_url(const struct testsrv *s, const char *path)
{
	return xasprintf("%s://127.0.0.1:%d%s", s->ssl ? "https" : "http", s->port, path);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	*(bool *)arg = true;
}

bool testsrv_run_until_cond(struct event_base *base, bool (*cond)(void *), void *arg, int ms)
{
	bool expired = false;
	struct event *ev = evtimer_new(base, deadline_cb, &expired);
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	evtimer_add(ev, &tv);
	/* EVLOOP_ONCE blocks until something happens; the deadline timer
	 * bounds the wait, so this neither spins nor hangs. */
	while (!cond(arg) && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
	return cond(arg);
}

static bool flag_cond(void *arg)
{
	return *(const bool *)arg;
}

bool testsrv_run_until(struct event_base *base, const bool *flag, int ms)
{
	return testsrv_run_until_cond(base, flag_cond, (void *)flag, ms);
}

int testsrv_silent_listener(int *ret_port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
		abort();
	*ret_port = ntohs(sa.sin_port);
	return fd;
}

int testsrv_make_cert(const char *dir)
{
	char *cmd = xasprintf("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
			      "-keyout '%s/key.pem' -out '%s/cert.pem' -days 2 -subj /CN=localhost "
			      "-addext subjectAltName=IP:127.0.0.1,DNS:localhost >/dev/null 2>&1",
			      dir, dir);
	int rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

SSL_CTX *testsrv_ssl_ctx(const char *dir)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char *cert = xasprintf("%s/cert.pem", dir), *key = xasprintf("%s/key.pem", dir);
	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		abort();
	}
	free(cert);
	free(key);
	return ctx;
}
