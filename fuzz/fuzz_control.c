/*
 * fuzz_control: libFuzzer target for the control socket's request handling
 * (routing, job names, methods, POST bodies, the operator requests through
 * the real run state machine, the JSON and metrics pages), without sockets.
 *
 * The daemon is a fake control_source over three runs built afresh for
 * every input (a finished batch with failed recipients, an active batch, a
 * future run), so an input's outcome never depends on the ones before it.
 * An input is up to 8 requests separated by NUL bytes; each is
 *   "METHOD PATH\nBODY"
 * Every answer must have a status the API documents and a body that is
 * JSON (Prometheus text for /metrics), never a crash or a leak.
 *
 * Built with ./configure --enable-fuzzing CC=clang as fuzz/fuzz_control
 * (mk/fuzz.mk), replayed over its seeds by make check; scripts/fuzz
 * [SECONDS] control runs it from the seeds in fuzz/corpus/control.
 */
#include "config.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "run.h"
#include "log.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1796133900
#define N_JOBS 3

static struct jobspec jobs[N_JOBS];
static struct daemonconf conf;
static struct stats stats;
static struct run *runs[N_JOBS];

static void quiet(const struct log_entry *e, void *userdata)
{
	(void)e;
	(void)userdata;
}

static void setup(void)
{
	static const char *const names[N_JOBS] = { "a-done", "b-active", "c-future" };

	for (int i = 0; i < N_JOBS; i++) {
		jobs[i] = (struct jobspec){
			.name = (char *)names[i], .file = (char *)"fuzz.conf", .line = i + 1,
			.agent_id = (char *)"agent_fuzz", .timezone = (char *)"UTC",
			.start = NOW + (i - 1) * 3600, .n_recipients = 3, .max_lateness = 900, .enabled = true,
			.retry = { .max_retries = 2, .delay = 60, .backoff = 2.0, .max_delay = 600 },
		};
	}
	conf.jobs = jobs;
	conf.n_jobs = N_JOBS;
	stats.started_unix = NOW - 60;
	stats.last_reload_ok = true;
	log_set_writer(quiet, NULL);
}

static void reset_runs(void)
{
	for (int i = 0; i < N_JOBS; i++) {
		run_free(runs[i]);
		runs[i] = run_new(&jobs[i]);
	}
	runs[0]->state = RUN_COMPLETED;
	runs[0]->batch_id = xstrdup("btcal_done");
	runs[0]->batch.status = BATCH_COMPLETED;
	runs[0]->counts[BATCH_RCPT_COMPLETED] = 2;
	runs[0]->counts[BATCH_RCPT_FAILED] = 1;
	runs[0]->counts_valid = true;
	runs[0]->due_ms = 0;
	runs[1]->state = RUN_IN_PROGRESS;
	runs[1]->batch_id = xstrdup("btcal_active");
	runs[1]->batch.status = BATCH_IN_PROGRESS;
	runs[1]->due_ms = 0;
}

static const struct daemonconf *f_conf(void *ctx)
{
	(void)ctx;
	return &conf;
}

static size_t f_n_runs(void *ctx)
{
	(void)ctx;
	return N_JOBS;
}

static const struct run *f_run_at(void *ctx, size_t i)
{
	(void)ctx;
	return i < N_JOBS ? runs[i] : NULL;
}

static const struct run *f_run_of(void *ctx, const char *job)
{
	(void)ctx;
	for (int i = 0; i < N_JOBS; i++)
		if (strcmp(runs[i]->job, job) == 0)
			return runs[i];
	return NULL;
}

/* The engine's part of an operator request: the state machine decides;
 * the actions it returns are dropped (no I/O here). */
static int f_request(void *ctx, const char *job, int kind, const char **why)
{
	struct run_event ev = { .kind = kind, .retry_after_s = -1 };
	struct actions acts = { .n = 0 };
	struct run_ctx rc = { .now_ms = NOW * 1000LL, .rnd = 42, .grace_ms = 62000, .backoff_base_ms = 1000,
			      .backoff_cap_ms = 300000 };

	(void)ctx;
	for (int i = 0; i < N_JOBS; i++) {
		if (strcmp(runs[i]->job, job) != 0)
			continue;
		rc.spec = &jobs[i];
		return run_step(runs[i], &rc, &ev, &acts, why);
	}
	*why = "no such job";
	return -2;
}

static const struct stats *f_stats(void *ctx)
{
	(void)ctx;
	return &stats;
}

static void check(const struct control_request *req, const struct control_response *resp)
{
	static const int allowed[] = { 200, 400, 404, 405, 409 };
	bool ok = false;

	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
		ok |= resp->status == allowed[i];
	if (!ok || !resp->body || strlen(resp->body) != resp->body_len || !resp->content_type)
		abort();
	if (resp->status == 405 && !resp->allow)
		abort();
	if (strcmp(resp->content_type, "application/json") == 0) {
		struct json_object *o = json_tokener_parse(resp->body);
		if (!o)
			abort();
		json_object_put(o);
	} else if (strcmp(req->path, "/metrics") != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static const struct control_source src = {
		.conf = f_conf, .n_runs = f_n_runs, .run_at = f_run_at, .run_of = f_run_of,
		.request = f_request, .stats = f_stats,
	};
	struct control_counters cnt = { .conns = { .open = 1 } };
	char *text = xmalloc(size + 1);
	size_t at = 0;

	if (!ready) {
		setup();
		ready = true;
	}
	reset_runs();
	memcpy(text, data, size);
	text[size] = '\0';
	for (int k = 0; k < 8 && at <= size; k++) {
		char *req_text = text + at, *nl, *sp, method[16];
		size_t len = strnlen(req_text, size - at);
		struct control_request req = { 0 };
		struct control_response resp;
		char *path;

		at += len + 1;
		nl = memchr(req_text, '\n', len);
		sp = memchr(req_text, ' ', nl ? (size_t)(nl - req_text) : len);
		if (!sp || sp - req_text >= (long)sizeof(method))
			continue;
		memcpy(method, req_text, (size_t)(sp - req_text));
		method[sp - req_text] = '\0';
		path = xstrndup(sp + 1, nl ? (size_t)(nl - sp - 1) : len - (size_t)(sp + 1 - req_text));
		req.method = method;
		req.path = path;
		req.body = nl ? nl + 1 : "";
		req.body_len = nl ? len - (size_t)(nl + 1 - req_text) : 0;
		req.metrics_only = k == 7;
		control_handle(&src, &cnt, &req, NOW, &resp);
		check(&req, &resp);
		free(resp.body);
		free(path);
	}
	free(text);
	return 0;
}
