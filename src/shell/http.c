/*
 * http: libcurl multi + libevent, in the shape of curl's hiperfifo example:
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to
 * wake it (CURLMOPT_TIMERFUNCTION); each socket gets one persistent event,
 * the client has one curl timer, and finished transfers are drained after
 * every curl_multi_socket_action. On top of that sits admission control: a
 * FIFO of requests not yet handed to curl, released while a concurrency slot
 * and a rate token are both free, otherwise re-tried by one libevent timer
 * at the moment the next token becomes available. Urgent requests have a
 * FIFO of their own that is always served first.
 *
 * Each request notes when it went through each step (http_timing), and
 * which moment the slot it took became free: the slots' release times wait
 * in a ring, oldest first, so a request admitted late can be told from one
 * that waited for a slot.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "http.h"
#include "ratelimit.h"
#include "sbuf.h"
#include "util.h"

#define HTTP_DEFAULT_TIMEOUT_MS 30000L
#define HTTP_DEFAULT_CONNECT_MS 10000L
#define HTTP_DEFAULT_MAX_BODY ((size_t)64 << 20)
/* Requests that can wait go out under the rate limit this many at a time
 * at most, held for the group no longer than this (admit_upto): 4 at
 * 100 requests/s, one at a time below 20/s. */
#define ADMIT_GROUP 4
#define ADMIT_GROUP_WAIT_US 50000

/* REQ_FINISHED: out of curl (or never started), in h->done waiting for
 * its callback; REQ_DONE: its callback runs or ran. */
enum req_state { REQ_QUEUED, REQ_RUNNING, REQ_FINISHED, REQ_DONE };

struct http_request {
	struct http *h;
	struct http_request *prev, *next; /* in h->queued or h->running */
	enum req_state state;
	CURL *easy; /* made when it leaves the queue (start_easy) */
	char *method, *url;
	unsigned flags;
	struct curl_slist *headers;
	char *body; /* request body, owned: curl reads it in place */
	http_done_cb cb;
	void *arg;
	http_go_cb go; /* asked when it leaves the queue (NULL: always goes) */
	void *go_arg;
	bool fenced;       /* HTTP_NO_REUSE: the client's fence is asked too */
	bool urgent;       /* HTTP_URGENT: in h->urgent while queued */
	int64_t hold_us;   /* not started before this wall-clock instant (us), or 0 */
	CURLcode result;   /* the transfer's end, between check_done's passes */
	bool unstarted;    /* its handle could not be set up: nothing was sent */
	struct http_timing t;
	bool fence_refused; /* the fence said no before a byte was written */
	/* Response being collected. */
	struct sbuf resp;
	size_t max_body;
	bool too_big;
	char *retry_after;
	char *date;
	char errbuf[CURL_ERROR_SIZE];
};

struct req_list {
	struct http_request *head, *tail;
	size_t n;
};

struct http {
	struct event_base *base;
	CURLM *multi;
	struct event *curl_timer;  /* curl's one timer */
	struct event *admit_timer; /* wakes the queue when a token is due */
	struct event *hold_timer;  /* and when the first held request's instant comes */
	int64_t hold_next_us;      /* http_hold_next: for the requests submitted now */
	struct req_list queued, urgent, running;
	/* held to their instants (http_hold_next), earliest first: in no
	 * queue until then, so that they hold nothing else up (a clock
	 * stepped back holds them, not the client) */
	struct req_list held;
	/* finished, their callbacks still to run (check_done): in the client,
	 * so that a callback may cancel one of them */
	struct req_list done;
	struct event *done_ev; /* runs check_done for what admit could not start */
	/* when each free slot became free, a ring of max_concurrent, oldest
	 * at slot_head; slot_n of them are free */
	int64_t *slot_free;
	size_t slot_head, slot_n;
	struct ratelimit rl;
	long timeout_ms, connect_timeout_ms;
	size_t max_concurrent, max_body;
	char *ca_file, *user_agent;
	char *cert_file, *key_file;
	/* Re-entrancy: a completion callback may call http_free; the free is
	 * then finished by the dispatcher once the callback returned. */
	int dispatching;
	bool doomed;
	/* sockets curl asked to watch for writing while kick() ran: new
	 * connections, most of them up already on a near server */
	curl_socket_t kick_fds[16];
	size_t n_kick_fds;
	bool kicking;
	http_go_cb fence; /* asked for every HTTP_NO_REUSE request (http_set_fence) */
	void *fence_arg;
};

/* One watched socket: owned by curl's socket, handed back as socketp. */
struct http_sock {
	struct event *ev;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once_cb(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#if LIBCURL_VERSION_NUM >= 0x075000
/* The last moment before the request's first byte is written, the
 * connection up: a fenced request asks the fence once more (a leader whose
 * lease ran short since the request left the queue sends nothing). */
static int prereq_cb(void *clientp, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
	struct http_request *r = clientp;

	(void)primary_ip;
	(void)local_ip;
	(void)primary_port;
	(void)local_port;
	if (r->fenced && r->h->fence && !r->h->fence(r->h->fence_arg)) {
		r->fence_refused = true;
		return CURL_PREREQFUNC_ABORT;
	}
	/* libcurl writes the request as soon as this returns */
	r->t.written_us = now_us();
	return CURL_PREREQFUNC_OK;
}
#endif

static void list_push(struct req_list *l, struct http_request *r)
{
	r->next = NULL;
	r->prev = l->tail;
	if (l->tail)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
	l->n++;
}

static void list_remove(struct req_list *l, struct http_request *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		l->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		l->tail = r->prev;
	r->prev = r->next = NULL;
	l->n--;
}

/* A slot became free at now: its moment joins the ring. */
static void slot_release(struct http *h, int64_t now)
{
	if (h->slot_n < h->max_concurrent)
		h->slot_free[(h->slot_head + h->slot_n++) % h->max_concurrent] = now;
}

/* Take the slot free the longest: when it became free. */
static int64_t slot_take(struct http *h)
{
	int64_t at = 0;

	if (h->slot_n > 0) {
		at = h->slot_free[h->slot_head];
		h->slot_head = (h->slot_head + 1) % h->max_concurrent;
		h->slot_n--;
	}
	return at;
}

static struct req_list *queue_of(struct http *h, const struct http_request *r)
{
	if (r->hold_us > 0)
		return &h->held;
	return r->urgent ? &h->urgent : &h->queued;
}

/* r into l after `after` (NULL: at its head). */
static void list_insert_after(struct req_list *l, struct http_request *after, struct http_request *r)
{
	r->prev = after;
	r->next = after ? after->next : l->head;
	if (r->next)
		r->next->prev = r;
	else
		l->tail = r;
	if (after)
		after->next = r;
	else
		l->head = r;
	l->n++;
}

/* r into the held list, in the order of the instants (among equal ones,
 * of submission). */
static void held_insert(struct http *h, struct http_request *r)
{
	struct http_request *after = h->held.tail;

	while (after && after->hold_us > r->hold_us)
		after = after->prev;
	list_insert_after(&h->held, after, r);
}

/* The held requests whose instant has come go to the front of the urgent
 * queue, in their order: they go first. */
static void release_due(struct http *h)
{
	int64_t now;
	struct http_request *last = NULL;

	if (!h->held.head)
		return;
	now = wall_us();
	while (h->held.head && h->held.head->hold_us <= now) {
		struct http_request *r = h->held.head;
		list_remove(&h->held, r);
		r->hold_us = 0;
		r->urgent = true;
		/* after the ones released before it */
		list_insert_after(&h->urgent, last, r);
		last = r;
	}
}

static void request_free(struct http_request *r)
{
	if (!r)
		return;
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->method);
	free(r->url);
	free(r->body);
	sbuf_free(&r->resp);
	free(r->retry_after);
	free(r->date);
	free(r);
}

/* Take r out of its list (and out of curl when running) and free it. */
static void request_detach_free(struct http_request *r)
{
	struct http *h = r->h;
	if (r->state == REQ_RUNNING) {
		curl_multi_remove_handle(h->multi, r->easy);
		list_remove(&h->running, r);
		slot_release(h, now_us());
	} else if (r->state == REQ_FINISHED) {
		list_remove(&h->done, r); /* out of curl, its slot freed already */
	} else {
		list_remove(queue_of(h, r), r);
	}
	request_free(r);
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct http_request *r = userp;
	size_t n = size * nmemb;
	if (n > r->max_body - r->resp.len) {
		/* Returning short makes curl abort with CURLE_WRITE_ERROR. */
		r->too_big = true;
		return 0;
	}
	sbuf_add(&r->resp, data, n);
	return n;
}

/* The value of a header line "Name: value\r\n" if its name is name
 * (lower case, with the colon), else NULL. */
static char *header_value(const char *data, size_t n, const char *name)
{
	size_t k = strlen(name);
	const char *v, *e = data + n;

	if (n <= k || strncasecmp(data, name, k) != 0)
		return NULL;
	v = data + k;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return xstrndup(v, (size_t)(e - v));
}

static size_t header_cb(char *data, size_t size, size_t nitems, void *userp)
{
	struct http_request *r = userp;
	size_t n = size * nitems;
	char *v;

	/* A new status line starts a new header block (after a 100 Continue
	 * or an auth round): forget what the previous one said. */
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		free(r->retry_after);
		free(r->date);
		r->retry_after = r->date = NULL;
		return n;
	}
	if ((v = header_value(data, n, "retry-after:"))) {
		free(r->retry_after);
		r->retry_after = v;
	} else if ((v = header_value(data, n, "date:"))) {
		free(r->date);
		r->date = v;
	}
	return n;
}

static void admit_upto(struct http *h, size_t max);

static void admit(struct http *h)
{
	admit_upto(h, SIZE_MAX);
}
static void complete_unsent(struct http *h, struct http_request *r, bool withdrawn);
static void kick(struct http *h);

/* Hand one finished transfer (out of curl and the running list already)
 * back to its owner. */
static void complete(struct http *h, struct http_request *r, CURLcode code)
{
	struct http_response res = { 0 };
	long status = 0;
	long req_size = 0, header_size = 0, num_connects = 0;
	curl_off_t total_us = 0, upload = 0, connect_us = 0, pretransfer_us = 0;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &num_connects);
	curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME_T, &total_us);
	curl_easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &req_size);
	curl_easy_getinfo(r->easy, CURLINFO_SIZE_UPLOAD_T, &upload);
	curl_easy_getinfo(r->easy, CURLINFO_HEADER_SIZE, &header_size);
	curl_easy_getinfo(r->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
	curl_easy_getinfo(r->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
	res.total_time = (double)total_us / 1e6;

	res.curl_code = (int)code;
	res.too_big = r->too_big;
	res.body = r->resp.s ? r->resp.s : (char *)"";
	res.len = r->resp.len;
	res.retry_after_raw = r->retry_after;
	res.date_raw = r->date;
	res.reused = num_connects == 0 && status != 0;
	/* An incomplete answer (cut-off body, over the cap) is still an
	 * answer: the status stands, curl_code says it is incomplete. */
	res.status = status;
	/* CURLINFO_REQUEST_SIZE counts the request bytes the first send
	 * handed to the socket (or TLS) layer in this transfer, SIZE_UPLOAD
	 * the bytes sent after it; both zero means nothing left this host,
	 * whatever the error. Any response byte means the server saw it. */
	res.maybe_sent = req_size > 0 || upload > 0 || header_size > 0 || status != 0;
	if (r->fence_refused) {
		/* refused by the fence before its first byte: never sent */
		res.maybe_sent = false;
		res.withdrawn = true;
	}
	if (code != CURLE_OK) {
		if (r->too_big)
			snprintf(res.error, sizeof(res.error), "response body over %zu bytes", r->max_body);
		else if (r->errbuf[0])
			snprintf(res.error, sizeof(res.error), "%s", r->errbuf);
		else
			snprintf(res.error, sizeof(res.error), "%s", curl_easy_strerror(code));
	}

	/* Connection up: the write moment less what libcurl spent between
	 * the connect and the pre-transfer step (both from its own start). */
	if (r->t.written_us) {
		if (res.reused || connect_us <= 0 || pretransfer_us < connect_us)
			r->t.connected_us = r->t.started_us;
		else
			r->t.connected_us = r->t.written_us - (int64_t)(pretransfer_us - connect_us);
		if (r->t.connected_us < r->t.started_us)
			r->t.connected_us = r->t.started_us;
	}
	res.timing = r->t;
	r->state = REQ_DONE;
	h->dispatching++;
	r->cb(&res, r->arg);
	h->dispatching--;
	request_free(r);
}

/* Move every finished transfer out of curl onto h->done, its slot freed. */
static void drain_done(struct http *h)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(h->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct http_request *r = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		r->result = msg->data.result;
		r->t.done_us = now_us();
		curl_multi_remove_handle(h->multi, r->easy);
		list_remove(&h->running, r);
		slot_release(h, r->t.done_us);
		r->state = REQ_FINISHED;
		list_push(&h->done, r);
	}
}

/* Drain CURLMSG_DONE after every socket action and refill the freed slots
 * before any owner's callback runs: what a callback does (parse, step,
 * write the state) must not delay the next request's start. Then the
 * callbacks, then refill again with what they queued. */
static void check_done(struct http *h)
{
	drain_done(h);
	if (h->done.n > 0 && (h->urgent.head || h->queued.head)) {
		size_t before = h->running.n;
		/* (a withdrawal's callback may free the client: finished below) */
		h->dispatching++;
		admit(h);
		h->dispatching--;
		if (!h->doomed && h->running.n > before) {
			/* start them now, not after the callbacks */
			kick(h);
			drain_done(h);
		}
	}
	/* Each is taken off the list before its callback, which may cancel
	 * (or free the client with) the others. */
	while (!h->doomed && h->done.head) {
		struct http_request *r = h->done.head;
		list_remove(&h->done, r);
		if (r->unstarted)
			complete_unsent(h, r, false);
		else
			complete(h, r, r->result);
	}
	if (h->doomed) {
		if (h->dispatching == 0)
			http_free(h);
		return;
	}
	admit(h);
}

static void done_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	check_done(arg);
}

static void sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	int running;
	int action = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);

	curl_multi_socket_action(h->multi, fd, action, &running);
	check_done(h);
}

static void curl_timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	int running;

	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
}

/* CURLMOPT_SOCKETFUNCTION: (re)arm or drop the one event of socket s. */
static int curl_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http *h = userp;
	struct http_sock *hs = socketp;

	if (what == CURL_POLL_REMOVE) {
		if (hs) {
			event_free(hs->ev);
			free(hs);
			curl_multi_assign(h->multi, s, NULL);
		}
		return 0;
	}
	short kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (h->kicking && (what & CURL_POLL_OUT) && h->n_kick_fds < ARRAY_SIZE(h->kick_fds))
		h->kick_fds[h->n_kick_fds++] = s;
	if (!hs) {
		hs = xcalloc(1, sizeof(*hs));
		curl_multi_assign(h->multi, s, hs);
	} else {
		event_free(hs->ev);
	}
	hs->ev = event_new(h->base, s, kind, sock_event_cb, h);
	if (!hs->ev)
		return -1;
	event_add(hs->ev, NULL);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: curl wants to be woken in timeout_ms (-1: never).
 * Even 0 goes through the loop: socket_action must not be called from here. */
static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;

	if (timeout_ms < 0) {
		evtimer_del(h->curl_timer);
		return 0;
	}
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	evtimer_add(h->curl_timer, &tv);
	return 0;
}

static int start_easy(struct http *h, struct http_request *r);

/* Run the requests admit just handed to curl now: their connections are
 * opened, and a connection that is up already (a near server answers the
 * handshake within the connect call) is written at once rather than at
 * the next turn of the loop, after whatever the caller does meanwhile.
 * curl checks a socket it is told is writable before it trusts that. */
static void kick(struct http *h)
{
	int running;

	h->n_kick_fds = 0;
	h->kicking = true;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	h->kicking = false;
	for (size_t i = 0; i < h->n_kick_fds; i++)
		curl_multi_socket_action(h->multi, h->kick_fds[i], CURL_CSELECT_OUT, &running);
	h->n_kick_fds = 0;
}

/* admit from outside curl's callbacks and check_done: the requests it
 * started begin connecting (and, on a connection that is up at once,
 * writing) now rather than at the next turn of the loop, which may come
 * only after the caller's other work (a burst queues thousands). What
 * finishes meanwhile is drained by curl's timer, set to fire at once. */
static void admit_now(struct http *h)
{
	struct timeval zero = { 0, 0 };
	bool started = false;

	/* One at a time: each is connected (and written, when its
	 * connection is up at once) before the next is started, so that the
	 * first of a burst let go at its instant leaves first, not after the
	 * connects of all of them. */
	for (;;) {
		size_t before = h->running.n;
		/* (a withdrawal's callback may free the client: finished here) */
		h->dispatching++;
		admit_upto(h, 1);
		h->dispatching--;
		if (h->doomed) {
			if (h->dispatching == 0)
				http_free(h);
			return;
		}
		if (h->running.n <= before)
			break;
		kick(h);
		started = true;
	}
	if (!started)
		return;
	/* What finished inside kick (a near server answers at once) waits in
	 * h->done for the loop: the caller may be http_submit's, and curl's
	 * timer, which a later timeout change may take back, is not what
	 * drains it. */
	drain_done(h);
	if (h->done.head)
		event_active(h->done_ev, EV_TIMEOUT, 0);
	evtimer_add(h->curl_timer, &zero);
}

static void admit_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	admit_now(h);
}

/* The answer of a request that never left this host: withdrawn by its
 * owner, or its handle could not be set up (memory, misuse). */
static void complete_unsent(struct http *h, struct http_request *r, bool withdrawn)
{
	struct http_response res = { .body = (char *)"",
				     .curl_code = withdrawn ? CURLE_ABORTED_BY_CALLBACK : CURLE_FAILED_INIT,
				     .withdrawn = withdrawn };

	snprintf(res.error, sizeof(res.error), "%s",
		 withdrawn ? "withdrawn before it was sent" : "cannot start the request");
	r->state = REQ_DONE;
	h->dispatching++;
	r->cb(&res, r->arg);
	h->dispatching--;
	request_free(r);
}

/* Start queued requests (max at most) while a slot and a token are free
 * and the next in line is not held; otherwise wake up exactly when the
 * next token or instant is due (a slot frees on completion, which calls
 * admit again). */
static void admit_upto(struct http *h, size_t max)
{
	size_t started = 0;

	release_due(h);
	if (h->held.head) {
		/* The owner's timer lets the next held one go at its instant
		 * (http_release); this one is the backstop. */
		int64_t wait = h->held.head->hold_us - wall_us();
		struct timeval tv = { .tv_sec = wait / 1000000, .tv_usec = wait % 1000000 };
		evtimer_add(h->hold_timer, &tv);
	}
	while ((h->urgent.head || h->queued.head) && h->running.n < h->max_concurrent && started < max) {
		int64_t wait = ratelimit_take(&h->rl, now_us());
		if (wait > 0) {
			struct timeval tv;
			/* Under the rate limit, requests that can wait (while no
			 * urgent one, a submit, is queued: one that comes sets
			 * the timer again for the next token alone) go out a few
			 * at a time, a token's worth of wait for each and at most
			 * ADMIT_GROUP_WAIT_US in all: the same rate, a wake-up
			 * for a group rather than for each one (a quarter of the
			 * operator workload's CPU). Two slots stay free for a
			 * submit that comes meanwhile. */
			size_t k = h->max_concurrent - h->running.n;
			/* (what the wait allows, and what the bucket lets go at once) */
			int64_t room = h->rl.tolerance_us < ADMIT_GROUP_WAIT_US ? h->rl.tolerance_us : ADMIT_GROUP_WAIT_US;
			size_t fit = 1 + (size_t)(room / h->rl.interval_us);
			k = k > 2 ? k - 2 : 1;
			if (k > h->queued.n)
				k = h->queued.n;
			if (k > ADMIT_GROUP)
				k = ADMIT_GROUP;
			if (k > fit)
				k = fit;
			if (!h->urgent.head && k > 1)
				wait += (int64_t)(k - 1) * h->rl.interval_us;
			tv.tv_sec = wait / 1000000;
			tv.tv_usec = wait % 1000000;
			evtimer_add(h->admit_timer, &tv);
			return;
		}
		struct http_request *r = h->urgent.head ? h->urgent.head : h->queued.head;
		bool withdrawn;
		list_remove(queue_of(h, r), r);
		/* its owner's last word before anything is sent */
		/* (the fence is asked in prereq_cb only: admit runs inside
		 * http_submit too, where a withdrawal's callback would reach a
		 * caller that has not finished queueing the request) */
		withdrawn = r->go && !r->go(r->go_arg);
		if (withdrawn || start_easy(h, r) < 0 || curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
			/* Withdrawn, or (only on memory exhaustion or misuse)
			 * not started: a transport failure that never left this
			 * host. */
			if (!withdrawn) {
				/* not from inside http_submit, whose caller has not
				 * finished with the request: from the loop */
				r->unstarted = true;
				r->state = REQ_FINISHED;
				list_push(&h->done, r);
				event_active(h->done_ev, EV_TIMEOUT, 0);
				continue;
			}
			complete_unsent(h, r, true);
			if (h->doomed) {
				if (h->dispatching == 0)
					http_free(h);
				return;
			}
			continue;
		}
		r->state = REQ_RUNNING;
		r->t.started_us = now_us();
		r->t.slot_free_us = slot_take(h);
		list_push(&h->running, r);
		started++;
	}
}

struct http *http_new(struct event_base *base, const struct http_options *o)
{
	pthread_once(&curl_once, curl_init_once_cb);
	if (curl_init_rc != CURLE_OK)
		return NULL;

	struct http *h = xcalloc(1, sizeof(*h));
	h->base = base;
	h->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
	h->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms
		: (h->timeout_ms < HTTP_DEFAULT_CONNECT_MS ? h->timeout_ms : HTTP_DEFAULT_CONNECT_MS);
	h->max_concurrent = o->max_concurrent > 0 ? (size_t)o->max_concurrent : 1;
	/* every slot free, since before anything was asked (0) */
	h->slot_free = xcalloc(h->max_concurrent, sizeof(*h->slot_free));
	h->slot_n = h->max_concurrent;
	h->max_body = o->max_body > 0 ? o->max_body : HTTP_DEFAULT_MAX_BODY;
	h->ca_file = o->ca_file ? xstrdup(o->ca_file) : NULL;
	h->user_agent = o->user_agent ? xstrdup(o->user_agent) : NULL;
	h->cert_file = o->cert_file ? xstrdup(o->cert_file) : NULL;
	h->key_file = o->key_file ? xstrdup(o->key_file) : NULL;
	int burst = o->burst;
	if (burst < 1)
		burst = o->max_per_second >= 1 && o->max_per_second < 1e6 ? (int)floor(o->max_per_second) : 1;
	ratelimit_init(&h->rl, o->max_per_second, burst);

	h->multi = curl_multi_init();
	h->curl_timer = evtimer_new(base, curl_timer_event_cb, h);
	h->admit_timer = evtimer_new(base, admit_timer_cb, h);
	h->hold_timer = evtimer_new(base, admit_timer_cb, h);
	h->done_ev = event_new(base, -1, 0, done_ev_cb, h);
	if (!h->multi || !h->curl_timer || !h->admit_timer || !h->hold_timer)
		goto fail;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return h;
fail:
	http_free(h);
	return NULL;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	/* Called from inside a completion callback: cancel the rest now (no
	 * more callbacks), and let the dispatcher free h once it unwinds. */
	while (h->urgent.head)
		request_detach_free(h->urgent.head);
	while (h->held.head)
		request_detach_free(h->held.head);
	while (h->queued.head)
		request_detach_free(h->queued.head);
	while (h->running.head)
		request_detach_free(h->running.head);
	while (h->done.head)
		request_detach_free(h->done.head);
	if (h->dispatching > 0) {
		h->doomed = true;
		return;
	}
	/* Cleaning the multi closes its connections through CURL_POLL_REMOVE,
	 * which frees our socket events. */
	if (h->multi)
		curl_multi_cleanup(h->multi);
	if (h->curl_timer)
		event_free(h->curl_timer);
	if (h->admit_timer)
		event_free(h->admit_timer);
	if (h->hold_timer)
		event_free(h->hold_timer);
	if (h->done_ev)
		event_free(h->done_ev);
	free(h->ca_file);
	free(h->user_agent);
	free(h->cert_file);
	free(h->key_file);
	free(h->slot_free);
	free(h);
}

/* The request's header list: the caller's and those the body calls for. */
static int build_headers(struct http_request *r, const char *const *headers)
{
	for (size_t i = 0; headers && headers[i]; i++) {
		struct curl_slist *l = curl_slist_append(r->headers, headers[i]);
		if (!l)
			return -ENOMEM;
		r->headers = l;
	}
	/* "Expect: 100-continue" would stall larger bodies for a second
	 * waiting for a go-ahead that the API never sends. */
	if (r->body) {
		struct curl_slist *l = curl_slist_append(r->headers, "Expect:");
		if (!l)
			return -ENOMEM;
		r->headers = l;
	}
	/* A POST without a body (cancel, retry) would otherwise be labelled
	 * a form (application/x-www-form-urlencoded). */
	if (!r->body && strcmp(r->method, "POST") == 0) {
		struct curl_slist *l = curl_slist_append(r->headers, "Content-Type:");
		if (!l)
			return -ENOMEM;
		r->headers = l;
	}
	return 0;
}

static int setup_easy(struct http *h, struct http_request *r)
{
	CURL *e = r->easy;
	const char *method = r->method, *url = r->url;
	unsigned flags = r->flags;
	int rc = -EINVAL;

#define SET(opt, val) do { if (curl_easy_setopt(e, opt, val) != CURLE_OK) goto out; } while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PRIVATE, r);
	SET(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	/* HTTP/1.1 only: the re-send analysis (HTTP_NO_REUSE, maybe_sent from
	 * CURLINFO_REQUEST_SIZE) is proven by the tests for HTTP/1.1, and
	 * HTTP/2 brings retry paths of its own (refused streams, GOAWAY).
	 * A handful of concurrent requests gains nothing from multiplexing. */
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_TIMEOUT_MS, h->timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_file)
		SET(CURLOPT_CAINFO, h->ca_file);
	if (h->user_agent)
		SET(CURLOPT_USERAGENT, h->user_agent);
	if (h->cert_file)
		SET(CURLOPT_SSLCERT, h->cert_file);
	if (h->key_file)
		SET(CURLOPT_SSLKEY, h->key_file);
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, r);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, r);
	SET(CURLOPT_ERRORBUFFER, r->errbuf);
	if (flags & HTTP_NO_REUSE) {
		/* libcurl re-sends a request whose reused connection died before
		 * any response byte; on a connection opened for this request
		 * alone that retry path does not exist (it requires reuse), and
		 * FORBID_REUSE keeps it from being reused by anybody later. */
		SET(CURLOPT_FRESH_CONNECT, 1L);
		SET(CURLOPT_FORBID_REUSE, 1L);
		r->fenced = true;
	}
#if LIBCURL_VERSION_NUM >= 0x075000
	/* the fence, and the moment the first byte goes out */
	SET(CURLOPT_PREREQFUNCTION, prereq_cb);
	SET(CURLOPT_PREREQDATA, r);
#endif

	if (strcmp(method, "GET") == 0) {
		SET(CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "POST") == 0) {
		SET(CURLOPT_POST, 1L);
	} else {
		SET(CURLOPT_CUSTOMREQUEST, method);
	}
	if (r->body || strcmp(method, "POST") == 0) {
		SET(CURLOPT_POSTFIELDS, r->body ? r->body : "");
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(r->body ? strlen(r->body) : 0));
	}

	if (r->headers)
		SET(CURLOPT_HTTPHEADER, r->headers);
#undef SET
	rc = 0;
out:
	return rc;
}

/* The curl handle of a request leaving the queue: made only now, so that
 * a queue of thousands holds no handles and queueing one costs little. */
static int start_easy(struct http *h, struct http_request *r)
{
	r->easy = curl_easy_init();
	if (!r->easy)
		return -ENOMEM;
	return setup_easy(h, r);
}

int http_submit(struct http *h, const char *method, const char *url, const char *const *headers,
		const char *body, unsigned flags, size_t max_body, http_done_cb cb, void *arg,
		struct http_request **ret_req)
{
	struct http_request *r = NULL;
	int rc = -EINVAL;

	if (!h || h->doomed || !method || !*method || !url || !cb)
		goto out;
	r = xcalloc(1, sizeof(*r));
	r->h = h;
	r->cb = cb;
	r->arg = arg;
	r->body = body ? xstrdup(body) : NULL;
	r->max_body = max_body > 0 ? max_body : h->max_body;
	r->method = xstrdup(method);
	r->url = xstrdup(url);
	r->flags = flags;
	rc = build_headers(r, headers);
	if (rc < 0)
		goto out;
	r->state = REQ_QUEUED;
	r->urgent = (flags & HTTP_URGENT) != 0;
	r->hold_us = h->hold_next_us;
	r->t.held = r->hold_us > 0;
	r->t.queued_us = now_us();
	if (r->hold_us > 0)
		held_insert(h, r);
	else
		list_push(queue_of(h, r), r);
	if (ret_req)
		*ret_req = r;
	r = NULL;
	/* Not from inside a completion: check_done refills afterwards. */
	if (h->dispatching == 0)
		admit_now(h);
	rc = 0;
out:
	request_free(r);
	return rc;
}

void http_set_fence(struct http *h, http_go_cb fence, void *arg)
{
	h->fence = fence;
	h->fence_arg = arg;
}

void http_set_go(struct http_request *r, http_go_cb go, void *arg)
{
	if (r && r->state == REQ_QUEUED) {
		r->go = go;
		r->go_arg = arg;
	}
}

void http_cancel(struct http_request *r)
{
	/* From inside its own callback the request is already finished;
	 * one finished but not yet called back goes without its callback. */
	if (!r || r->state == REQ_DONE)
		return;
	struct http *h = r->h;
	request_detach_free(r);
	if (h->dispatching == 0)
		admit_now(h);
}

size_t http_pending(const struct http *h)
{
	return h ? h->queued.n + h->urgent.n + h->held.n + h->running.n : 0;
}

size_t http_urgent_queued(const struct http *h)
{
	return h ? h->urgent.n : 0;
}

size_t http_running(const struct http *h)
{
	return h ? h->running.n : 0;
}

void http_hold_next(struct http *h, int64_t until_us)
{
	if (h)
		h->hold_next_us = until_us;
}

int64_t http_held_until_us(const struct http *h)
{
	return h && h->held.head ? h->held.head->hold_us : 0;
}

void http_release(struct http *h)
{
	if (h && h->dispatching == 0 && (h->urgent.head || h->queued.head || h->held.head))
		admit_now(h);
}

size_t http_free_slots(const struct http *h)
{
	if (!h || h->urgent.n > 0 || h->running.n >= h->max_concurrent)
		return 0;
	return h->max_concurrent - h->running.n;
}
