/*
 * fuzz_sim_request: libFuzzer target for the simulator's request handling
 * (routing, query parsing, submit validation, the batch operations, the
 * /_sim/ control endpoints), without sockets.
 *
 * An input is up to 8 requests separated by NUL bytes; each is
 *   "METHOD PATH[?QUERY]\nAPI-KEY\nBODY"
 * where an empty API-KEY line means "no header", "{id}" in the path is
 * replaced by the newest batch's id and "{conv}" by the conversation id of
 * its first recipient, so sequences like submit -> advance -> retry or
 * submit -> advance -> GET conversation are reachable. Every answer must be
 * a well-formed HTTP status with a JSON body (CSV for export, nothing for
 * 204), never a crash or a leak. After each request the webhook sender is
 * asked for its due deliveries, each answered 200, 503, 400 or not at all
 * in turn, so /_sim/webhooks and /_sim/webhook-faults reach sim_hooks.c.
 *
 * Build and run: ./configure --enable-fuzzing CC=clang builds
 * fuzz/fuzz_sim_request (mk/fuzz.mk); scripts/fuzz [SECONDS] sim_request
 * runs it from the seeds in fuzz/corpus/sim.
 */
#include "config.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_api.h"
#include "sim_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define T0 (1800000000LL * 1000000LL)

static void run_one(struct sim_api *a, const char *req_text, size_t len, int64_t now)
{
	const char *nl1 = memchr(req_text, '\n', len), *nl2, *sp, *q;
	char method[16] = "GET", *target, *path, *query = NULL, *key = NULL, *id_at;
	struct sim_request r = {0};
	struct sim_response resp;
	struct sim_batch *newest[1];
	bool more;

	if (!nl1)
		return;
	sp = memchr(req_text, ' ', (size_t)(nl1 - req_text));
	if (!sp || sp - req_text >= (long)sizeof(method))
		return;
	memcpy(method, req_text, (size_t)(sp - req_text));
	method[sp - req_text] = '\0';
	target = strndup(sp + 1, (size_t)(nl1 - sp - 1));
	nl2 = memchr(nl1 + 1, '\n', len - (size_t)(nl1 + 1 - req_text));
	if (nl2 && nl2 > nl1 + 1)
		key = strndup(nl1 + 1, (size_t)(nl2 - nl1 - 1));
	/* substitute the newest batch's id, so later requests find it */
	id_at = strstr(target, "{id}");
	if (id_at && sim_model_list(sim_api_model(a), NULL, NULL, 1, newest, &more) == 1) {
		struct sim_batch_view v;
		char *t;
		sim_batch_view(sim_api_model(a), newest[0], &v);
		*id_at = '\0';
		if (asprintf(&t, "%s%s%s", target, v.id, id_at + 4) >= 0) {
			free(target);
			target = t;
		}
	}
	/* and its first recipient's conversation */
	id_at = strstr(target, "{conv}");
	if (id_at && sim_model_list(sim_api_model(a), NULL, NULL, 1, newest, &more) == 1) {
		struct sim_batch_view v;
		struct sim_rcp_view rv;
		char *t;
		sim_batch_view(sim_api_model(a), newest[0], &v);
		if (v.n_recipients > 0) {
			sim_recipient_view(sim_api_model(a), newest[0], 0, &rv);
			*id_at = '\0';
			if (asprintf(&t, "%s%s%s", target, rv.has_conversation ? rv.conversation_id : "conv_none",
				     id_at + 6) >= 0) {
				free(target);
				target = t;
			}
		}
	}
	q = strchr(target, '?');
	path = q ? strndup(target, (size_t)(q - target)) : strdup(target);
	if (q)
		query = strdup(q + 1);
	r.method = method;
	r.path = path;
	r.query = query;
	r.api_key = key;
	r.body = nl2 ? nl2 + 1 : "";
	r.body_len = nl2 ? len - (size_t)(nl2 + 1 - req_text) : 0;
	if (sim_api_is_control(path))
		sim_api_control(a, &r, now, &resp);
	else
		sim_api_handle(a, &r, now, &resp);
	/* a dropped request gets no answer at all (drop faults): no status */
	if (resp.action == SIM_ACT_DROP ? resp.status != 0 || resp.body : resp.status < 100 || resp.status > 599)
		abort();
	if (resp.content_type && strcmp(resp.content_type, "application/json") == 0 && resp.status != 200) {
		/* every error body is JSON (only faults may corrupt 200s) */
		json_object *o = json_tokener_parse(resp.body);
		if (!o)
			abort();
		json_object_put(o);
	}
	sim_response_clear(&resp);
	free(target);
	free(path);
	free(query);
	free(key);
	/* the deliveries now due, each with an answer (bounded: a request
	 * cannot make the loop spin) */
	for (int k = 0; k < 64; k++) {
		static const int answers[] = {200, 503, 400, 0};
		static unsigned turn;
		struct sim_delivery d;
		int64_t wake;
		int status = answers[turn++ % 4];
		if (!sim_api_webhook_next(a, now, &d, &wake))
			break;
		/* every delivery is a signed JSON envelope */
		if (strncmp(d.signature, "t=", 2) != 0 || !strstr(d.signature, ",v0=") || d.body_len != strlen(d.body))
			abort();
		{
			json_object *o = json_tokener_parse(d.body);
			if (!o)
				abort();
			json_object_put(o);
		}
		sim_api_webhook_done(a, d.id, status, status ? NULL : "refused", now);
		sim_delivery_clear(&d);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_params p;
	struct sim_api *a;
	char *buf = malloc(size + 1);
	size_t start = 0;
	int64_t now = T0;
	int n = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	sim_params_default(&p, 1, 1);
	a = sim_api_new(&p, "k");
	for (size_t i = 0; i <= size && n < 8; i++) {
		if (i == size || buf[i] == '\0') {
			/* copy each request so ASan sees its exact end */
			char *one = malloc(i - start + 1);
			if (one) {
				memcpy(one, buf + start, i - start);
				run_one(a, one, i - start, now);
				free(one);
			}
			start = i + 1;
			now += 3 * 1000000LL;
			n++;
		}
	}
	sim_api_free(a);
	free(buf);
	return 0;
}
