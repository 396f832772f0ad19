/*
 * bench-parse: what parsing one answer costs the daemon's codec, in time
 * and peak resident memory (bench/bench-parse.sh runs each case in a
 * process of its own, so that every peak is its own).
 *
 *   bench-parse detail N PROMPT VARS   a detail of N recipients, each echoing
 *                                      client data: VARS dynamic variables, a
 *                                      first message and a PROMPT-byte prompt
 *   bench-parse empties BYTES          {"recipients":[{},{},...]} of BYTES
 *   bench-parse error BYTES            the same, read as an error body
 *
 * It prints one line: the body's size, the outcome, the time and the peak
 * RSS before and after the parse (the body itself is in the first figure,
 * as it is in the daemon, which holds the answer it parses).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "codec.h"
#include "util.h"

struct buf {
	char *s;
	size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	xgrow((void **)&b->s, &b->cap, b->len + (size_t)n + 1, 1);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void detail(struct buf *b, long n, long prompt_len, long vars)
{
	char *prompt = xmalloc((size_t)prompt_len + 1);
	static const char words[] = "You are a friendly renewals assistant. ";

	for (long i = 0; i < prompt_len; i++)
		prompt[i] = words[i % (sizeof(words) - 1)];
	prompt[prompt_len] = '\0';
	put(b, "{\"id\":\"btcal_6701k8rhhgr7fcnbj9fdsdtxnmnc\",\"phone_number_id\":\"phnum_2301k5a8c4wz9r7tq6m3ne1ydvsb\","
	       "\"phone_provider\":\"twilio\",\"whatsapp_params\":null,\"name\":\"Renewals 2026-12-01 09:00\","
	       "\"agent_id\":\"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\",\"branch_id\":null,\"environment\":null,"
	       "\"created_at_unix\":1792400000,\"scheduled_time_unix\":1792483200,\"timezone\":\"America/New_York\","
	       "\"total_calls_dispatched\":%ld,\"total_calls_scheduled\":%ld,\"total_calls_finished\":%ld,"
	       "\"last_updated_at_unix\":1792490000,\"status\":\"completed\",\"retry_count\":0,"
	       "\"telephony_call_config\":{\"ringing_timeout_secs\":60,\"twilio_call_recording_enabled\":false},"
	       "\"target_concurrency_limit\":null,\"agent_name\":\"Renewals Agent\",\"branch_name\":null,"
	       "\"recipients\":[",
	    n, n, n);
	for (long i = 0; i < n; i++) {
		put(b, "%s{\"id\":\"crm-%06ld\",\"phone_number\":\"+1555%07ld\",\"whatsapp_user_id\":null,"
		       "\"status\":\"completed\",\"created_at_unix\":1792400000,\"updated_at_unix\":1792483288,"
		       "\"conversation_id\":\"conv_6101k7v9x2bq4m8et3n5d%07ld\","
		       "\"conversation_initiation_client_data\":{\"dynamic_variables\":{",
		    i ? "," : "", i, i, i);
		for (long k = 0; k < vars; k++) {
			switch (k % 4) {
			case 0:
				put(b, "%s\"var_%02ld\":\"value %ld of customer %ld\"", k ? "," : "", k, k, i);
				break;
			case 1:
				put(b, ",\"var_%02ld\":%ld", k, i * 7 + k);
				break;
			case 2:
				put(b, ",\"var_%02ld\":%.3f", k, (double)i / 8.0 + (double)k);
				break;
			default:
				put(b, ",\"var_%02ld\":%s", k, k % 2 ? "true" : "false");
				break;
			}
		}
		put(b, "},\"conversation_config_override\":{\"agent\":{\"language\":\"en\",\"first_message\":\""
		       "Hello, this is a call about your renewal, customer %ld. Hello, this is a call about your renewal, "
		       "customer %ld. Hello, this is a call about your renewal, customer %ld. \",\"prompt\":{\"prompt\":"
		       "\"%s\"}},\"tts\":{\"voice_id\":\"21m00Tcm4TlvDq8ikWAM\"}}}}",
		    i, i, i, prompt);
	}
	put(b, "]}");
	free(prompt);
}

static void empties(struct buf *b, long bytes)
{
	put(b, "{\"recipients\":[{}");
	while ((long)b->len + 5 < bytes)
		put(b, ",{}");
	put(b, "]}");
}

static long peak_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
	struct buf b = { 0 };
	struct timespec t0, t1;
	char *cause = NULL;
	long before;
	int rc = 0;

	if (argc == 5 && strcmp(argv[1], "detail") == 0)
		detail(&b, atol(argv[2]), atol(argv[3]), atol(argv[4]));
	else if (argc == 3 && (strcmp(argv[1], "empties") == 0 || strcmp(argv[1], "error") == 0))
		empties(&b, atol(argv[2]));
	else {
		fprintf(stderr, "usage: bench-parse detail N PROMPT VARS | empties BYTES | error BYTES\n");
		return 2;
	}
	before = peak_kib();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (strcmp(argv[1], "error") == 0) {
		free(codec_error_message(500, b.s, b.len));
	} else {
		struct batch_detail d;
		rc = codec_parse_detail(b.s, b.len, &d, &cause);
		if (rc == 0)
			batch_detail_clear(&d);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%s: %.1f MB body, %s, %.0f ms, peak RSS %.1f MB with the body, %.1f MB after the parse\n", argv[1],
	       (double)b.len / 1e6, rc == 0 ? "read" : cause,
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
	       (double)before * 1024 / 1e6, (double)peak_kib() * 1024 / 1e6);
	free(cause);
	free(b.s);
	return 0;
}
