/*
 * etcd: the JSON gateway client of etcd.h. Blocking calls run on one curl
 * easy handle kept for the client's life (its connection cache keeps the
 * connection to the endpoint that answered last alive); async calls go
 * through a struct http of the client's own (4 in flight, no rate limit),
 * so the daemon's API client and its fence are not involved.
 *
 * Failover: a call starts at the endpoint that answered last and moves on
 * when one gives no HTTP answer, or answers 503 (grpc Unavailable: a member
 * without a leader, or stopping), while the call's time lasts. Any other
 * answer ends the call: a request refused by one member would be refused
 * by all.
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "etcd.h"
#include "http.h"
#include "sbuf.h"
#include "util.h"

#define DEFAULT_TIMEOUT_MS 2000
/* The biggest answer read: a page of 1000 records (etcdmsg reads no more). */
#define MAX_ANSWER ((size_t)256 << 20)
#define HTTP_UNAVAILABLE 503

struct etcd_call {
	struct etcd *c;
	char *path, *body;
	enum etcd_kind kind;
	etcd_cb cb;
	void *arg;
	size_t ep;      /* the endpoint asked now */
	size_t tried;   /* endpoints asked so far */
	int64_t deadline_ms;
	int err;        /* the last endpoint's failure */
	struct sbuf why; /* every endpoint's failure, for the cause */
	struct http_request *req;
	struct etcd_call *prev, *next;
};

struct etcd {
	char **endpoints;
	size_t n;
	size_t cur; /* answered last */
	long timeout_ms;
	char *ca_file, *cert_file, *key_file;
	CURL *easy;
	struct curl_slist *headers;
	struct http *http;
	struct etcd_call *calls; /* async, in flight */
	struct etcd_counters ctr;
};

static const char *const json_headers[] = { "Content-Type: application/json", "Expect:", NULL };

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How long one endpoint may take: with endpoints to fall back on, a share
 * of the call's time (at least 250 ms), so that one that takes the
 * connection and never answers (a paused member, a hung disk) leaves time
 * for the others. */
static long attempt_timeout(const struct etcd *c, long left)
{
	long share = c->n > 1 ? left / (long)c->n : left;

	if (share < 250)
		share = left < 250 ? left : 250;
	return share;
}

/* How long to wait for a connection: half an attempt's time. */
static long connect_timeout(const struct etcd *c, long left)
{
	long t = attempt_timeout(c, left);

	return c->n > 1 && t > 2 ? t / 2 : t;
}

/* Endpoint i did not answer: the next call starts with the one after it. */
static void skip_endpoint(struct etcd *c, size_t i)
{
	if (c->cur == i)
		c->cur = (i + 1) % c->n;
}

/* --- one answer ---------------------------------------------------------------- */

/* Read an HTTP answer of endpoint ep: 0 with *out, or -EPROTO with *cause. */
static int read_answer(const char *ep, long status, const char *body, size_t len, enum etcd_kind kind,
		       struct etcd_resp *out, char **cause)
{
	char *why = NULL, *msg;
	int code = 0, r;

	if (status == 200) {
		r = etcdmsg_parse(body, len, kind, out, &why);
		if (r == 0)
			return 0;
		*cause = xasprintf("etcd %s: unreadable answer: %s", ep, why ? why : "?");
		free(why);
		return -EPROTO;
	}
	msg = etcdmsg_error(body, len, &code);
	if (msg)
		*cause = xasprintf("etcd %s: HTTP %ld: %s (code %d)", ep, status, msg, code);
	else
		*cause = xasprintf("etcd %s: HTTP %ld", ep, status);
	free(msg);
	return -EPROTO;
}

static int errno_of_curl(int code)
{
	switch (code) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	default:
		return -EIO;
	}
}

static char *failed_cause(struct sbuf *why, bool spent)
{
	char *s = sbuf_steal(why, NULL);
	char *cause = xasprintf("no etcd endpoint answered%s: %s", spent ? " in time" : "", s);

	free(s);
	return cause;
}

/* --- blocking calls ------------------------------------------------------------ */

static size_t sync_write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct sbuf *b = arg;

	if (b->len + size * n > MAX_ANSWER)
		return 0;
	sbuf_add(b, p, size * n);
	return size * n;
}

/* POST to endpoint i once: 0 with *ret_status and *ret_body, or the
 * failure's errno with *why added to. */
static int post_once(struct etcd *c, size_t i, const char *path, const char *body, long left, long *ret_status,
		     struct sbuf *ret_body, struct sbuf *why)
{
	char *url = xasprintf("%s%s", c->endpoints[i], path);
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *e = c->easy;
	CURLcode rc;
	long status = 0;

	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, left);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->n > 1 && left > 2 ? left / 2 : left);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, ret_body);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	c->ctr.requests++;
	c->ctr.bytes_out += strlen(body);
	rc = curl_easy_perform(e);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
	c->ctr.bytes_in += ret_body->len;
	free(url);
	if (rc != CURLE_OK) {
		sbuf_addf(why, "%s%s: %s", why->len ? "; " : "", c->endpoints[i], *errbuf ? errbuf : curl_easy_strerror(rc));
		return errno_of_curl(rc);
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	*ret_status = status;
	return 0;
}

/* endpoints from first, n of them at most, until one answers. */
static int call_from(struct etcd *c, size_t first, size_t n, bool failover, const char *path, const char *body,
		     enum etcd_kind kind, struct etcd_resp *out, char **cause)
{
	int64_t deadline = now_ms() + c->timeout_ms;
	struct sbuf why = { 0 };
	int r = -ETIMEDOUT;
	bool spent = false;

	c->ctr.calls++;
	for (size_t k = 0; k < n; k++) {
		size_t i = (first + k) % c->n;
		int64_t left = deadline - now_ms();
		struct sbuf ans = { 0 };
		long status = 0;

		if (left <= 0) {
			spent = true;
			r = -ETIMEDOUT;
			break;
		}
		r = post_once(c, i, path, body, k + 1 < n ? attempt_timeout(c, (long)left) : (long)left, &status, &ans,
			      &why);
		if (r < 0 && failover)
			skip_endpoint(c, i);
		if (r == 0 && status == HTTP_UNAVAILABLE && failover && k + 1 < n) {
			char *msg = etcdmsg_error(ans.s ? ans.s : "", ans.len, NULL);
			sbuf_addf(&why, "%s%s: HTTP 503%s%s", why.len ? "; " : "", c->endpoints[i], msg ? ": " : "",
				  msg ? msg : "");
			free(msg);
			sbuf_free(&ans);
			r = -EIO;
			continue;
		}
		if (r == 0) {
			if (failover)
				c->cur = i;
			r = read_answer(c->endpoints[i], status, ans.s ? ans.s : "", ans.len, kind, out, cause);
			sbuf_free(&ans);
			sbuf_free(&why);
			if (r < 0)
				c->ctr.failures++;
			return r;
		}
		sbuf_free(&ans);
	}
	c->ctr.failures++;
	*cause = failed_cause(&why, spent);
	return r;
}

int etcd_call(struct etcd *c, const char *path, const char *body, enum etcd_kind kind, struct etcd_resp *out,
	      char **cause)
{
	return call_from(c, c->cur, c->n, true, path, body, kind, out, cause);
}

int etcd_call_at(struct etcd *c, size_t i, const char *path, const char *body, enum etcd_kind kind,
		 struct etcd_resp *out, char **cause)
{
	if (i >= c->n) {
		*cause = xasprintf("no etcd endpoint %zu (there are %zu)", i, c->n);
		return -EINVAL;
	}
	return call_from(c, i, 1, false, path, body, kind, out, cause);
}

/* --- async calls ---------------------------------------------------------------- */

static void call_unlink(struct etcd_call *k)
{
	struct etcd *c = k->c;

	if (k->prev)
		k->prev->next = k->next;
	else
		c->calls = k->next;
	if (k->next)
		k->next->prev = k->prev;
	k->prev = k->next = NULL;
}

static void call_free(struct etcd_call *k)
{
	free(k->path);
	free(k->body);
	sbuf_free(&k->why);
	free(k);
}

static void async_done_cb(const struct http_response *res, void *arg);

static int async_submit(struct etcd_call *k)
{
	struct etcd *c = k->c;
	char *url = xasprintf("%s%s", c->endpoints[k->ep], k->path);
	int r;

	c->ctr.requests++;
	c->ctr.bytes_out += strlen(k->body);
	r = http_submit(c->http, "POST", url, json_headers, k->body, 0, MAX_ANSWER, async_done_cb, k, &k->req);
	free(url);
	return r;
}

/* End k: unlinked and freed before cb, which may free the client. */
static void async_finish(struct etcd_call *k, int r, const struct etcd_resp *out, const char *cause)
{
	etcd_cb cb = k->cb;
	void *arg = k->arg;

	if (r < 0)
		k->c->ctr.failures++;
	call_unlink(k);
	call_free(k);
	cb(r, r == 0 ? out : NULL, r == 0 ? NULL : cause, arg);
}

static void async_done_cb(const struct http_response *res, void *arg)
{
	struct etcd_call *k = arg;
	struct etcd *c = k->c;
	const char *ep = c->endpoints[k->ep];
	struct etcd_resp out = { 0 };
	char *cause = NULL;
	int r;

	k->req = NULL;
	k->tried++;
	c->ctr.bytes_in += res->len;
	if (res->status == 0 || (res->status == HTTP_UNAVAILABLE && k->tried < c->n)) {
		if (res->status == 0) {
			sbuf_addf(&k->why, "%s%s: %s", k->why.len ? "; " : "", ep,
				  *res->error ? res->error : curl_easy_strerror((CURLcode)res->curl_code));
			k->err = errno_of_curl(res->curl_code);
			skip_endpoint(c, k->ep);
		} else {
			char *msg = etcdmsg_error(res->body, res->len, NULL);
			sbuf_addf(&k->why, "%s%s: HTTP 503%s%s", k->why.len ? "; " : "", ep, msg ? ": " : "",
				  msg ? msg : "");
			free(msg);
			k->err = -EIO;
		}
		if (k->tried < c->n && now_ms() < k->deadline_ms) {
			k->ep = (k->ep + 1) % c->n;
			if (async_submit(k) == 0)
				return;
			k->err = -EIO;
		}
		cause = failed_cause(&k->why, now_ms() >= k->deadline_ms);
		async_finish(k, now_ms() >= k->deadline_ms ? -ETIMEDOUT : k->err, NULL, cause);
		free(cause);
		return;
	}
	c->cur = k->ep;
	r = read_answer(ep, res->status, res->body, res->len, k->kind, &out, &cause);
	async_finish(k, r, &out, cause);
	etcd_resp_clear(&out);
	free(cause);
}

int etcd_call_async(struct etcd *c, const char *path, const char *body, enum etcd_kind kind, etcd_cb cb,
		    void *arg, struct etcd_call **ret)
{
	struct etcd_call *k;
	int r;

	if (!c->http)
		return -EINVAL; /* a client without an event loop */
	k = xcalloc(1, sizeof(*k));
	k->c = c;
	k->path = xstrdup(path);
	k->body = xstrdup(body);
	k->kind = kind;
	k->cb = cb;
	k->arg = arg;
	k->ep = c->cur;
	k->deadline_ms = now_ms() + c->timeout_ms;
	r = async_submit(k);
	if (r < 0) {
		call_free(k);
		return r;
	}
	c->ctr.calls++;
	k->next = c->calls;
	if (c->calls)
		c->calls->prev = k;
	c->calls = k;
	if (ret)
		*ret = k;
	return 0;
}

void etcd_call_cancel(struct etcd_call *k)
{
	if (!k)
		return;
	if (k->req)
		http_cancel(k->req);
	call_unlink(k);
	call_free(k);
}

/* --- the client ---------------------------------------------------------------- */

const char *etcd_endpoint(const struct etcd *c)
{
	return c->endpoints[c->cur];
}

size_t etcd_n_endpoints(const struct etcd *c)
{
	return c->n;
}

const char *etcd_endpoint_at(const struct etcd *c, size_t i)
{
	return i < c->n ? c->endpoints[i] : NULL;
}

const struct etcd_counters *etcd_get_counters(const struct etcd *c)
{
	return &c->ctr;
}

void etcd_free(struct etcd *c)
{
	if (!c)
		return;
	while (c->calls)
		etcd_call_cancel(c->calls);
	http_free(c->http);
	if (c->easy)
		curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->headers);
	for (size_t i = 0; i < c->n; i++)
		free(c->endpoints[i]);
	free(c->endpoints);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	free(c);
}

static bool setup_easy(struct etcd *c)
{
	CURL *e = c->easy;
	bool ok = true;

	for (size_t i = 0; json_headers[i]; i++) {
		struct curl_slist *l = curl_slist_append(c->headers, json_headers[i]);
		if (!l)
			return false;
		c->headers = l;
	}
#define SET(opt, val) (ok = ok && curl_easy_setopt(e, opt, val) == CURLE_OK)
	SET(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_HTTPHEADER, c->headers);
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_WRITEFUNCTION, sync_write_cb);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file)
		SET(CURLOPT_CAINFO, c->ca_file);
	if (c->cert_file)
		SET(CURLOPT_SSLCERT, c->cert_file);
	if (c->key_file)
		SET(CURLOPT_SSLKEY, c->key_file);
#undef SET
	return ok;
}

struct etcd *etcd_new(struct event_base *base, const struct etcd_options *o, char **cause)
{
	struct etcd *c;
	struct http_options ho = { 0 };

	if (o->n_endpoints == 0) {
		*cause = xstrdup("no etcd endpoint given");
		return NULL;
	}
	for (size_t i = 0; i < o->n_endpoints; i++) {
		const char *ep = o->endpoints[i];
		if (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0) {
			*cause = xasprintf("etcd endpoint '%s' is not an http:// or https:// URL", ep);
			return NULL;
		}
	}
	c = xcalloc(1, sizeof(*c));
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	c->endpoints = xcalloc(o->n_endpoints, sizeof(*c->endpoints));
	for (size_t i = 0; i < o->n_endpoints; i++) {
		size_t len = strlen(o->endpoints[i]);
		while (len > 0 && o->endpoints[i][len - 1] == '/')
			len--;
		c->endpoints[c->n++] = xstrndup(o->endpoints[i], len);
	}
	c->ca_file = o->ca_file ? xstrdup(o->ca_file) : NULL;
	c->cert_file = o->cert_file ? xstrdup(o->cert_file) : NULL;
	c->key_file = o->key_file ? xstrdup(o->key_file) : NULL;

	/* (an async call tries the endpoints in turn, each for its share) */
	ho.timeout_ms = attempt_timeout(c, c->timeout_ms);
	ho.connect_timeout_ms = connect_timeout(c, c->timeout_ms);
	ho.max_concurrent = 4;
	ho.max_body = MAX_ANSWER;
	ho.ca_file = c->ca_file;
	ho.cert_file = c->cert_file;
	ho.key_file = c->key_file;
	c->http = base ? http_new(base, &ho) : NULL;
	c->easy = curl_easy_init();
	if ((base && !c->http) || !c->easy || !setup_easy(c)) {
		*cause = xstrdup("cannot start libcurl for the etcd client");
		etcd_free(c);
		return NULL;
	}
	return c;
}
