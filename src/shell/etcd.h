/*
 * etcd: a client of etcd 3.4's JSON gateway (etcdmsg.h builds and reads the
 * messages) over libcurl: plain HTTP(S), no gRPC stack. The endpoints are
 * tried in turn: a call that gets no HTTP answer from one (refused, reset,
 * timeout) goes on to the next, starting with the one that answered last,
 * until one answers or the call's time is spent. TLS: a CA bundle and a
 * client certificate and key, as options.
 *
 * Two ways to call: etcd_call blocks (the store's group commit needs its
 * answer before it returns, store.h); etcd_call_async runs on the daemon's
 * event loop through the http client (leases, keepalives, campaigns), so
 * a slow etcd never stalls the loop there.
 */
#ifndef BC_ETCD_H
#define BC_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcdmsg.h"

struct event_base;
struct etcd;
struct etcd_call;

struct etcd_options {
	const char *const *endpoints; /* "http://127.0.0.1:2379", ...: at least one */
	size_t n_endpoints;
	const char *ca_file;   /* NULL: the system's */
	const char *cert_file; /* client certificate (PEM); NULL: none */
	const char *key_file;  /* its key (PEM); NULL: none */
	long timeout_ms;       /* a whole call, over every endpoint tried; 0: 2000 */
};

/* A client on base (the options are copied; base NULL: blocking calls
 * only, etcd_call_async refuses with -EINVAL). NULL with *cause. */
struct etcd *etcd_new(struct event_base *base, const struct etcd_options *o, char **cause);
/* Cancels every async call without calling back. */
void etcd_free(struct etcd *c);

/* POST path (e.g. "/v3/kv/txn") with body, read the answer as kind.
 * 0 with *out filled (etcd_resp_clear it); -ETIMEDOUT/-ECONNREFUSED/-EIO
 * when no endpoint answered (the request may still have been applied:
 * etcd itself may have committed it); -EPROTO when one answered with an
 * error or something unreadable. *cause (caller frees) on failure. */
int etcd_call(struct etcd *c, const char *path, const char *body, enum etcd_kind kind, struct etcd_resp *out,
	      char **cause);

/* The same on the event loop: cb once, unless cancelled. out is valid
 * during the call only; cause is NULL when r == 0. */
typedef void (*etcd_cb)(int r, const struct etcd_resp *out, const char *cause, void *arg);
int etcd_call_async(struct etcd *c, const char *path, const char *body, enum etcd_kind kind, etcd_cb cb,
		    void *arg, struct etcd_call **ret);
/* Abandon an async call without calling back. */
void etcd_call_cancel(struct etcd_call *call);

/* The endpoint that answered last (the first before any answer). */
const char *etcd_endpoint(const struct etcd *c);
size_t etcd_n_endpoints(const struct etcd *c);
const char *etcd_endpoint_at(const struct etcd *c, size_t i);
/* POST path with body to endpoint i only (no failover), blocking: for the
 * health of each member (batchcallctl cluster). As etcd_call. */
int etcd_call_at(struct etcd *c, size_t i, const char *path, const char *body, enum etcd_kind kind,
		 struct etcd_resp *out, char **cause);

/* Counters: calls made, HTTP requests sent, request and answer bytes. */
struct etcd_counters {
	uint64_t calls, requests, bytes_out, bytes_in, failures;
};
const struct etcd_counters *etcd_get_counters(const struct etcd *c);

#endif
