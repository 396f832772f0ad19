/*
 * fuzz_codec: libFuzzer target for everything in codec that reads outside
 * input. Each input goes through the three response parsers and the error
 * message builder; besides "no crash, no leak" (ASan/UBSan), it checks the
 * contracts callers rely on: 0 or -EBADMSG, a cause exactly on failure,
 * outputs untouched on failure, counts that add up, and an error line that
 * is never NULL and never holds a control character.
 *
 * Seeds: fuzz/corpus/codec/ (the API document's bodies); dictionary:
 * fuzz/codec.dict.
 * Build: ./configure --enable-fuzzing CC=clang && make fuzz/fuzz_codec (mk/fuzz.mk).
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed parse must leave its output exactly as it was. */
#define CHECK_FAILED(r, cause, out, sentinel)                                      \
	do {                                                                       \
		if ((r) != -EBADMSG || !(cause) || memcmp(&(out), &(sentinel), sizeof(out)) != 0) \
			abort();                                                   \
	} while (0)

/* Every integer of an accepted batch lies within codec.h's bounds. */
static bool batch_in_bounds(const struct batch *b)
{
	return b->created_at_unix >= 0 && b->created_at_unix <= CODEC_TIME_MAX && b->scheduled_time_unix >= 0 &&
	       b->scheduled_time_unix <= CODEC_TIME_MAX && b->last_updated_at_unix >= 0 &&
	       b->last_updated_at_unix <= CODEC_TIME_MAX && b->total_calls_dispatched >= 0 &&
	       b->total_calls_dispatched <= CODEC_COUNT_MAX && b->total_calls_scheduled >= 0 &&
	       b->total_calls_scheduled <= CODEC_COUNT_MAX && b->total_calls_finished >= 0 &&
	       b->total_calls_finished <= CODEC_COUNT_MAX && b->retry_count >= 0 &&
	       b->retry_count <= CODEC_RETRY_COUNT_MAX;
}

static void fuzz_batch(const char *body, size_t size)
{
	struct batch b, sentinel;
	char *cause = NULL;
	int r;

	memset(&b, 0x5a, sizeof(b));
	memset(&sentinel, 0x5a, sizeof(sentinel));
	r = codec_parse_batch(body, size, &b, &cause);
	if (r == 0) {
		if (cause || !b.id || !*b.id || !b.name || !b.agent_id || (unsigned)b.status >= BATCH__MAX ||
		    !batch_in_bounds(&b))
			abort();
		batch_clear(&b);
	} else {
		CHECK_FAILED(r, cause, b, sentinel);
	}
	free(cause);
}

static void fuzz_detail(const char *body, size_t size)
{
	struct batch_detail d, sentinel;
	char *cause = NULL;
	size_t total = 0;
	int r;

	memset(&d, 0x5a, sizeof(d));
	memset(&sentinel, 0x5a, sizeof(sentinel));
	r = codec_parse_detail(body, size, &d, &cause);
	if (r == 0) {
		for (int i = 0; i < BATCH_RCPT__MAX; i++)
			total += d.counts[i];
		if (cause || total != d.n_rcpts || !batch_in_bounds(&d.batch))
			abort();
		for (size_t i = 0; i < d.n_rcpts; i++)
			if (!d.rcpts[i].id || (unsigned)d.rcpts[i].status >= BATCH_RCPT__MAX)
				abort();
		batch_detail_clear(&d);
	} else {
		CHECK_FAILED(r, cause, d, sentinel);
	}
	free(cause);
}

static void fuzz_page(const char *body, size_t size)
{
	struct batch_page p, sentinel;
	char *cause = NULL;
	int r;

	memset(&p, 0x5a, sizeof(p));
	memset(&sentinel, 0x5a, sizeof(sentinel));
	r = codec_parse_page(body, size, &p, &cause);
	if (r == 0) {
		if (cause || (p.n_batches > 0 && !p.batches))
			abort();
		for (size_t i = 0; i < p.n_batches; i++)
			if (!batch_in_bounds(&p.batches[i]))
				abort();
		batch_page_clear(&p);
	} else {
		CHECK_FAILED(r, cause, p, sentinel);
	}
	free(cause);
}

static void fuzz_error_message(long status, const char *body, size_t size)
{
	char *m = codec_error_message(status, body, size);

	if (!m || !*m)
		abort();
	for (const unsigned char *p = (const unsigned char *)m; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			abort();
	free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy so that ASan catches any read past the end:
	 * the codec must never rely on a terminating NUL */
	char *body = malloc(size ? size : 1);

	if (!body)
		return 0;
	memcpy(body, data, size);
	fuzz_batch(body, size);
	fuzz_detail(body, size);
	fuzz_page(body, size);
	fuzz_error_message(size ? 400 + data[0] % 200 : 500, body, size);
	free(body);
	return 0;
}
