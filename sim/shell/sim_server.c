/*
 * server: evhttp glue for batchcall-sim.
 *
 * Everything about what to answer lives in api.c; this file only knows
 * sockets: it timestamps a request on arrival, holds delayed requests on a
 * timer (a delay fault, the --service-time of every API request, or both
 * added), closes connections for the drop and close_after faults, and wraps
 * connections in TLS when a certificate is given. It also carries out the
 * post-call webhook deliveries that sim_hooks.c hands out, one at a time,
 * with libevent's HTTP client, and wakes itself when the next one is due.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <math.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "sim_api.h"
#include "sim_server.h"
#include "util.h"

struct delayed;

/* How long a webhook receiver may take to answer (seconds). */
#define HOOK_TIMEOUT_SECS 10

struct server {
	struct event_base *base;
	struct evhttp *http;
	struct sim_api *api;
	SSL_CTX *ssl;
	struct delayed *delayed; /* requests held by delay faults or the service time */
	int service_time_ms;
	struct event *hook_timer; /* the next webhook delivery is due */
	struct evhttp_connection *hook_conn; /* the delivery in flight, or NULL */
	uint64_t hook_id;
	enum evhttp_request_error hook_error;
	bool hook_failed;
	struct event *hook_reap; /* frees a finished delivery's connection */
	struct evhttp_connection *hook_dead;
};

/* A request held back by a delay fault. */
struct delayed {
	struct delayed *next, **prevp;
	struct server *srv;
	struct evhttp_request *req;
	struct event *timer;
	uint64_t seq;
	struct sim_fault_hit fault;
};

static int64_t real_now_us(void)
{
	struct timespec ts;

	/* CLOCK_REALTIME on purpose: libfaketime and the daemon's own clock
	 * must agree with the simulator's */
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
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
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	default: return "UNKNOWN";
	}
}

/* Request fields as sim_api wants them; path and query are split copies of
 * the raw URI (freed by request_fields_clear). */
struct fields {
	struct sim_request r;
	char *path, *query;
};

static void request_fields(struct evhttp_request *req, struct fields *f)
{
	const char *uri = evhttp_request_get_uri(req);
	const char *q = strchr(uri, '?');
	struct evbuffer *in = evhttp_request_get_input_buffer(req);

	memset(f, 0, sizeof(*f));
	f->path = q ? xstrndup(uri, (size_t)(q - uri)) : xstrdup(uri);
	f->query = q ? xstrdup(q + 1) : NULL;
	if (f->query) {
		char *hash = strchr(f->query, '#');
		if (hash)
			*hash = '\0';
	}
	f->r.method = method_name(evhttp_request_get_command(req));
	f->r.path = f->path;
	f->r.query = f->query;
	f->r.api_key = evhttp_find_header(evhttp_request_get_input_headers(req), "xi-api-key");
	f->r.body_len = evbuffer_get_length(in);
	f->r.body = f->r.body_len ? (const char *)evbuffer_pullup(in, -1) : "";
}

static void request_fields_clear(struct fields *f)
{
	free(f->path);
	free(f->query);
}

static void shutdown_connection(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;

	/* the peer sees the connection end; libevent notices the dead socket
	 * on its next read or write and frees the connection itself */
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

/* libevent's table lacks some codes clients log (429 above all) */
static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return NULL;
	}
}

static void close_after_cb(struct evhttp_request *req, void *arg)
{
	(void)arg;
	shutdown_connection(req);
}

static void send_response(struct server *srv, struct evhttp_request *req, struct sim_response *r)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *body = NULL;
	time_t t = (time_t)(sim_api_now_us(srv->api, real_now_us()) / 1000000);
	struct tm tm;
	char date[64];

	if (r->action == SIM_ACT_DROP) {
		shutdown_connection(req);
		/* answering releases the request; the bytes go nowhere */
		evhttp_send_reply(req, 500, NULL, NULL);
		return;
	}
	/* the simulated clock's, not the real one (evhttp would add that) */
	if (gmtime_r(&t, &tm) && strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0)
		evhttp_add_header(h, "Date", date);
	if (r->content_type)
		evhttp_add_header(h, "Content-Type", r->content_type);
	if (r->retry_after[0])
		evhttp_add_header(h, "Retry-After", r->retry_after);
	if (r->allow)
		evhttp_add_header(h, "Allow", r->allow);
	if (r->action == SIM_ACT_SEND_THEN_CLOSE)
		evhttp_request_set_on_complete_cb(req, close_after_cb, NULL);
	if (r->body_len > 0) {
		body = evbuffer_new();
		evbuffer_add(body, r->body, r->body_len);
	}
	evhttp_send_reply(req, r->status, reason(r->status), body);
	if (body)
		evbuffer_free(body);
}

static void hooks_pump(struct server *srv);

static void delayed_free(struct delayed *d)
{
	if (!d)
		return;
	*d->prevp = d->next;
	if (d->next)
		d->next->prevp = d->prevp;
	event_free(d->timer);
	free(d);
}

static void delayed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct delayed *d = arg;
	struct sim_response resp;
	struct fields f;

	(void)fd;
	(void)what;
	request_fields(d->req, &f);
	/* the submission takes effect now, when the delay ends */
	sim_api_execute(d->srv->api, d->seq, &f.r, real_now_us(), &d->fault, &resp);
	send_response(d->srv, d->req, &resp);
	sim_response_clear(&resp);
	request_fields_clear(&f);
	hooks_pump(d->srv);
	delayed_free(d);
}

/* --- webhook deliveries ------------------------------------------------ */

static const char *hook_error_str(enum evhttp_request_error e)
{
	switch (e) {
	case EVREQ_HTTP_TIMEOUT: return "timeout";
	case EVREQ_HTTP_EOF: return "connection closed without an answer";
	case EVREQ_HTTP_INVALID_HEADER: return "invalid answer";
	case EVREQ_HTTP_BUFFER_ERROR: return "connection failed";
	case EVREQ_HTTP_REQUEST_CANCEL: return "cancelled";
	case EVREQ_HTTP_DATA_TOO_LONG: return "answer too long";
	default: return "no answer";
	}
}

static void hook_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	if (srv->hook_dead) {
		evhttp_connection_free(srv->hook_dead);
		srv->hook_dead = NULL;
	}
	hooks_pump(srv);
}

static void hook_error_cb(enum evhttp_request_error e, void *arg)
{
	struct server *srv = arg;

	srv->hook_failed = true;
	srv->hook_error = e;
}

static void hook_done_cb(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	int status = req && !srv->hook_failed ? evhttp_request_get_response_code(req) : 0;
	struct timeval zero = {0, 0};

	sim_api_webhook_done(srv->api, srv->hook_id, status,
			     status > 0 ? NULL : srv->hook_failed ? hook_error_str(srv->hook_error) : "no answer",
			     real_now_us());
	/* the connection cannot be freed inside its own callback */
	srv->hook_dead = srv->hook_conn;
	srv->hook_conn = NULL;
	evtimer_add(srv->hook_reap, &zero);
}

/* Start one delivery: 0, or -1 when it could not even be sent. */
static int hook_send(struct server *srv, const struct sim_delivery *d)
{
	struct evhttp_uri *uri = evhttp_uri_parse(d->url);
	const char *host = uri ? evhttp_uri_get_host(uri) : NULL;
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL, *query = uri ? evhttp_uri_get_query(uri) : NULL;
	int port = uri ? evhttp_uri_get_port(uri) : -1;
	struct evhttp_request *req;
	struct evkeyvalq *h;
	char *target = NULL, *hosthdr = NULL;
	int r = -1;

	if (!host || !*host)
		goto out;
	if (port < 0)
		port = 80;
	srv->hook_conn = evhttp_connection_base_new(srv->base, NULL, host, (ev_uint16_t)port);
	if (!srv->hook_conn)
		goto out;
	evhttp_connection_set_timeout(srv->hook_conn, HOOK_TIMEOUT_SECS);
	evhttp_connection_set_retries(srv->hook_conn, 0);
	srv->hook_failed = false;
	req = evhttp_request_new(hook_done_cb, srv);
	evhttp_request_set_error_cb(req, hook_error_cb);
	h = evhttp_request_get_output_headers(req);
	hosthdr = strchr(host, ':') ? xasprintf("[%s]:%d", host, port) : xasprintf("%s:%d", host, port);
	evhttp_add_header(h, "Host", hosthdr);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "User-Agent", "batchcall-sim");
	evhttp_add_header(h, "ElevenLabs-Signature", d->signature);
	evhttp_add_header(h, "Connection", "close");
	evbuffer_add(evhttp_request_get_output_buffer(req), d->body, d->body_len);
	target = xasprintf("%s%s%s", path && *path ? path : "/", query ? "?" : "", query ? query : "");
	if (evhttp_make_request(srv->hook_conn, req, EVHTTP_REQ_POST, target) < 0) {
		/* libevent freed the request */
		evhttp_connection_free(srv->hook_conn);
		srv->hook_conn = NULL;
		goto out;
	}
	srv->hook_id = d->id;
	r = 0;
out:
	free(target);
	free(hosthdr);
	if (uri)
		evhttp_uri_free(uri);
	return r;
}

/* Send the next webhook if one is due, else arm the timer for it. */
static void hooks_pump(struct server *srv)
{
	struct sim_delivery d;
	int64_t now, wake;

	while (!srv->hook_conn && !srv->hook_dead) {
		now = real_now_us();
		if (!sim_api_webhook_next(srv->api, now, &d, &wake)) {
			if (wake == INT64_MAX) {
				evtimer_del(srv->hook_timer);
			} else {
				int64_t us = wake - now;
				struct timeval tv = {.tv_sec = us / 1000000, .tv_usec = us % 1000000};
				evtimer_add(srv->hook_timer, &tv);
			}
			return;
		}
		if (hook_send(srv, &d) == 0) {
			sim_delivery_clear(&d);
			return;
		}
		/* not even sent: an answer of its own, then the next one */
		sim_api_webhook_done(srv->api, d.id, 0, "cannot connect", now);
		sim_delivery_clear(&d);
	}
}

static void hook_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	hooks_pump(arg);
}

static void request_cb(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	struct sim_response resp;
	struct sim_fault_hit fault;
	struct fields f;
	int64_t now = real_now_us();
	uint64_t seq;

	request_fields(req, &f);
	if (sim_api_is_control(f.path)) {
		sim_api_control(srv->api, &f.r, now, &resp);
		/* after a reset or a cleared log, give the memory back so RSS
		 * measurements of long runs mean something (glibc keeps it) */
		if (strcmp(f.r.method, "GET") != 0)
			malloc_trim(0);
		goto send;
	}
	seq = sim_api_begin(srv->api, &f.r, now, &fault);
	if (fault.kind == SIM_FAULT_DELAY || srv->service_time_ms > 0) {
		/* held on a timer of its own: the other connections go on */
		struct delayed *d = xcalloc(1, sizeof(*d));
		int64_t ms = (fault.kind == SIM_FAULT_DELAY ? fault.delay_ms : 0) + srv->service_time_ms;
		struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
		d->srv = srv;
		d->req = req;
		d->seq = seq;
		d->fault = fault;
		if (fault.kind == SIM_FAULT_DELAY)
			d->fault.kind = SIM_FAULT_NONE;
		d->timer = evtimer_new(srv->base, delayed_cb, d);
		d->next = srv->delayed;
		d->prevp = &srv->delayed;
		if (d->next)
			d->next->prevp = &d->next;
		srv->delayed = d;
		evtimer_add(d->timer, &tv);
		request_fields_clear(&f);
		return;
	}
	sim_api_execute(srv->api, seq, &f.r, now, &fault, &resp);
send:
	send_response(srv, req, &resp);
	sim_response_clear(&resp);
	request_fields_clear(&f);
	/* a request may have moved time, ended calls or set webhooks up */
	hooks_pump(srv);
}

static struct bufferevent *tls_bev_cb(struct event_base *base, void *arg)
{
	SSL_CTX *ctx = arg;

	return bufferevent_openssl_socket_new(base, -1, SSL_new(ctx), BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

static SSL_CTX *tls_context(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		fprintf(stderr, "batchcall-sim: cannot load certificate '%s': %s\n", cert,
			ERR_reason_error_string(ERR_get_error()));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		fprintf(stderr, "batchcall-sim: cannot load private key '%s': %s\n", key,
			ERR_reason_error_string(ERR_get_error()));
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

int sim_server_run(const struct sim_server_opts *o)
{
	struct server srv = {0};
	struct sim_params params;
	struct evhttp_bound_socket *bound;
	struct event *sigterm = NULL, *sigint = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int port = 0, r = -EIO;
	bool v6 = strchr(o->listen_host, ':') != NULL;

	signal(SIGPIPE, SIG_IGN);
	sim_params_default(&params, o->speed, o->seed);
	if (o->processing_secs >= 0)
		params.processing_us = llround(o->processing_secs * 1e6 / (o->speed > 0 ? o->speed : 1));
	srv.api = sim_api_new(&params, o->api_key);
	sim_api_set_clock_offset(srv.api, o->clock_offset_s * 1000000);
	if (o->webhook_url &&
	    sim_api_configure_webhooks(srv.api, o->webhook_url, o->webhook_secret, o->webhook_events, true) < 0) {
		fprintf(stderr, "batchcall-sim: cannot send webhooks to '%s'\n", o->webhook_url);
		goto out;
	}
	if (o->tls_cert) {
		srv.ssl = tls_context(o->tls_cert, o->tls_key);
		if (!srv.ssl)
			goto out;
	}
	srv.base = event_base_new();
	srv.service_time_ms = o->service_time_ms;
	srv.http = evhttp_new(srv.base);
	if (!srv.base || !srv.http)
		goto out;
	evhttp_set_allowed_methods(srv.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
						     EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	/* beyond this libevent refuses on its own; api.c answers 413 above
	 * SIM_MAX_BODY with the documented body */
	evhttp_set_max_body_size(srv.http, (ev_ssize_t)SIM_MAX_BODY * 4);
	evhttp_set_default_content_type(srv.http, NULL);
	/* Under an accelerated clock (libfaketime) this is read on the fake
	 * clock: --io-timeout keeps idle clients from being cut off. */
	evhttp_set_timeout(srv.http, o->io_timeout > 0 ? o->io_timeout : 120);
	evhttp_set_gencb(srv.http, request_cb, &srv);
	srv.hook_timer = evtimer_new(srv.base, hook_timer_cb, &srv);
	srv.hook_reap = evtimer_new(srv.base, hook_reap_cb, &srv);
	if (srv.ssl)
		evhttp_set_bevcb(srv.http, tls_bev_cb, srv.ssl);
	bound = evhttp_bind_socket_with_handle(srv.http, o->listen_host, (ev_uint16_t)o->port);
	if (!bound) {
		fprintf(stderr, "batchcall-sim: cannot listen on %s:%d: %s\n", o->listen_host, o->port, strerror(errno));
		goto out;
	}
	{
		/* accepted sockets inherit it: evhttp writes headers and body
		 * separately, and Nagle + delayed ACK would add 40 ms */
		int one = 1;
		setsockopt(evhttp_bound_socket_get_fd(bound), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &sl) == 0)
		port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
						: ntohs(((struct sockaddr_in *)&ss)->sin_port);
	sigterm = evsignal_new(srv.base, SIGTERM, signal_cb, srv.base);
	sigint = evsignal_new(srv.base, SIGINT, signal_cb, srv.base);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	/* the one line tests and the daemon's harness wait for */
	printf("batchcall-sim: listening on %s://%s%s%s:%d\n", srv.ssl ? "https" : "http", v6 ? "[" : "",
	       o->listen_host, v6 ? "]" : "", port);
	fflush(stdout);
	event_base_dispatch(srv.base);
	r = 0;
out:
	/* requests still held are dropped with their connections */
	while (srv.delayed)
		delayed_free(srv.delayed);
	if (srv.hook_conn)
		evhttp_connection_free(srv.hook_conn);
	if (srv.hook_dead)
		evhttp_connection_free(srv.hook_dead);
	if (srv.hook_timer)
		event_free(srv.hook_timer);
	if (srv.hook_reap)
		event_free(srv.hook_reap);
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	if (srv.http)
		evhttp_free(srv.http);
	if (srv.base)
		event_base_free(srv.base);
	if (srv.ssl)
		SSL_CTX_free(srv.ssl);
	sim_api_free(srv.api);
	return r;
}
