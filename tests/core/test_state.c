/*
 * test_state: the on-disk record of a run. Property: every run the daemon
 * can produce (the domain state.h documents: every state, optional strings
 * present and absent, strings with UTF-8, quotes and control characters,
 * each number at the ends of its range, recipient lists empty and long) is
 * written by state_format and read back by state_parse equal, field by
 * field. Values just outside the domain, and every truncation of a record,
 * are refused: damage is never read as a run. The text is laid out as
 * json-c lays out the same document (SPACED, no slash escape), byte for
 * byte: the records written before state_format wrote them itself.
 *
 * The generator is seeded; the seed is printed and BC_SEED=N replays it.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "state.h"
#include "util.h"

#define RUNS 4000

static uint64_t seed;
static uint64_t rng_state;

/* splitmix64: small, good enough, and the same on every host. */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 0..n-1 */
static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static bool chance(unsigned percent)
{
	return below(100) < percent;
}

/* A value in min..max, at either end (or next to it) far more often than
 * chance would have it: the ends are where readers and writers disagree. */
static int64_t in_range(int64_t min, int64_t max)
{
	uint64_t span = (uint64_t)max - (uint64_t)min;

	switch (below(8)) {
	case 0:
		return min;
	case 1:
		return max;
	case 2:
		return span ? min + 1 : min;
	case 3:
		return span ? max - 1 : max;
	case 4:
		return min + (int64_t)below(span < 1000 ? span + 1 : 1000);
	default:
		return span == UINT64_MAX ? (int64_t)rnd() : (int64_t)((uint64_t)min + below(span + 1));
	}
}

/* Pieces strings are made of: plain text, JSON's special characters, every
 * kind of control character, UTF-8 of each length, separators that break
 * lines, and bytes that are not UTF-8 at all (a file or an API may hold
 * them; the record must carry them unchanged). */
static const char *const pieces[] = {
	"a", "Z", "0", " ", "-", "_", ".", "renewals", "\"", "\\", "/", "\\u0000", "'", "{", "}", "[", "]",
	":", ",", "\x01", "\x1f", "\t", "\n", "\r", "\b", "\f", "\x7f", "\xc3\xa9", "\xe2\x80\x94",
	"\xe2\x80\xa8", "\xf0\x9f\x93\x9e", "\xe6\x97\xa5\xe6\x9c\xac", "\xef\xbb\xbf", "\xff", "\xc3",
	"\xed\xa0\x80", "\x80", "+15550100001", "btcal_6701k8rhhgr7fcnbj9fdsdtxnmnc",
};

/* Long strings cost every cut of the truncation test a parse: it turns
 * them off. */
static bool short_strings;

/* A string of whatever bytes (never NUL), at least min_len long. */
static char *any_string(size_t min_len)
{
	size_t n = !short_strings && chance(3) ? 200 + below(2000) : below(12);
	size_t len = 0, cap = 0;
	char *s = NULL;

	xgrow((void **)&s, &cap, 1, 1);
	s[0] = '\0';
	for (size_t i = 0; i < n || len < min_len; i++) {
		char b[2] = { (char)(1 + below(255)), 0 };
		const char *p = chance(10) ? b : pieces[below(ARRAY_SIZE(pieces))];
		size_t k = strlen(p);
		xgrow((void **)&s, &cap, len + k + 1, 1);
		memcpy(s + len, p, k + 1);
		len += k;
	}
	return s;
}

static char *maybe_string(size_t min_len)
{
	return chance(30) ? NULL : any_string(min_len);
}

static char *job_name(void)
{
	static const char chars[] = "ABCXYZabcxyz0189._-";
	size_t n = chance(20) ? (chance(50) ? 1 : JOB_NAME_MAX) : 1 + below(JOB_NAME_MAX);
	char *s = xmalloc(n + 1);

	for (size_t i = 0; i < n; i++)
		s[i] = chars[below(sizeof(chars) - 1)];
	s[n] = '\0';
	return s;
}

static char **string_list(size_t *ret_n, bool allow_null)
{
	size_t n;
	char **v;

	*ret_n = 0;
	if (allow_null && chance(40))
		return NULL;
	switch (below(4)) {
	case 0:
		n = 0;
		break;
	case 1:
		n = short_strings ? 1 + below(3) : chance(2) ? JOB_MAX_RECIPIENTS : 1 + below(300);
		break;
	default:
		n = 1 + below(5);
		break;
	}
	v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = chance(95) ? xasprintf("+1555%07zu", i) : any_string(0);
	*ret_n = n;
	return v;
}

/* Coverage of what the generator made, so that the test can say its runs
 * reached every corner it claims to check. */
static struct {
	unsigned states[RUN__MAX];
	unsigned batch_states[BATCH__MAX];
	unsigned start_min, start_max, count_max, due_negative, long_lists, empty_lists, null_strings;
} seen;

/* A run anywhere in the domain of state.h. */
static struct run *random_run(void)
{
	struct run *r = xcalloc(1, sizeof(*r));

	r->job = job_name();
	r->start = in_range(STATE_START_MIN, STATE_START_MAX);
	r->part = maybe_string(0);
	r->zone = maybe_string(0);
	r->rcpts = string_list(&r->n_rcpts, true);
	r->call_name = any_string(1);
	r->agent_id = maybe_string(0);
	r->state = (enum run_state)below(RUN__MAX);
	r->on_removal = chance(50) ? ON_REMOVAL_KEEP : ON_REMOVAL_CANCEL;
	r->batch_id = maybe_string(1);
	r->digest = chance(20) ? (chance(50) ? 0 : UINT64_MAX) : rnd();
	r->submit_attempts = (int)in_range(0, STATE_COUNT_MAX);
	r->intent_ms = in_range(0, STATE_INT_MAX);
	r->first_intent_ms = in_range(0, STATE_INT_MAX);
	r->sent_count = in_range(0, CODEC_COUNT_MAX);
	r->sent_digest = chance(20) ? (chance(50) ? 0 : UINT64_MAX) : rnd();
	r->lookup_only = chance(50);
	r->removal_cancel = chance(50);
	r->uncertain = chance(50);
	r->settle_ms = in_range(0, STATE_INT_MAX);
	r->retries = (int)in_range(0, STATE_COUNT_MAX);
	r->retry_expect = in_range(0, CODEC_RETRY_COUNT_MAX + 1);
	r->due_ms = in_range(-STATE_INT_MAX, STATE_INT_MAX);
	r->gen = (uint64_t)in_range(0, INT64_MAX);
	r->submit_at_ms = in_range(0, STATE_INT_MAX);
	r->close_ms = in_range(0, STATE_INT_MAX);
	r->follow = (enum follow_up)below(3);
	r->follow_n = (int)in_range(0, STATE_COUNT_MAX);
	/* written null when empty: the machine keeps it NULL then */
	r->unfinished = string_list(&r->n_unfinished, true);
	if (r->unfinished && r->n_unfinished == 0) {
		free(r->unfinished);
		r->unfinished = NULL;
	}
	r->suppressed = string_list(&r->n_suppressed, true);
	if (r->suppressed && r->n_suppressed == 0) {
		free(r->suppressed);
		r->suppressed = NULL;
	}
	r->over_limit = string_list(&r->n_over_limit, true);
	if (r->over_limit && r->n_over_limit == 0) {
		free(r->over_limit);
		r->over_limit = NULL;
	}
	r->contact_tag = below(3) ? rnd() : 0;
	r->contact_base = r->contact_tag ? (int)in_range(0, STATE_COUNT_MAX) : 0;
	r->touch = (int)in_range(0, RUN_TOUCH_MAX);
	/* NULL (unknown) and an empty list differ */
	r->retry_keys = string_list(&r->n_retry_keys, true);
	r->failures = (int)in_range(0, STATE_COUNT_MAX);
	r->cancel_wanted = chance(50);
	r->removing = chance(50);
	r->late_logged = chance(50);
	r->batch.status = (enum batch_status)below(BATCH__MAX);
	r->batch.created_at_unix = in_range(0, CODEC_TIME_MAX);
	r->batch.scheduled_time_unix = in_range(0, CODEC_TIME_MAX);
	r->batch.last_updated_at_unix = in_range(0, CODEC_TIME_MAX);
	r->batch.total_calls_dispatched = in_range(0, CODEC_COUNT_MAX);
	r->batch.total_calls_scheduled = in_range(0, CODEC_COUNT_MAX);
	r->batch.total_calls_finished = in_range(0, CODEC_COUNT_MAX);
	r->batch.retry_count = in_range(0, CODEC_RETRY_COUNT_MAX);
	r->counts_valid = chance(60);
	for (int i = 0; r->counts_valid && i < BATCH_RCPT__MAX; i++)
		r->counts[i] = in_range(0, STATE_INT_MAX);
	r->error = maybe_string(0);
	r->submitted_at = in_range(0, STATE_INT_MAX);
	r->finished_at = in_range(0, STATE_INT_MAX);
	r->finished_ms = in_range(0, STATE_INT_MAX);
	/* not persisted: whatever the machine was doing reads as nothing */
	r->op = (enum run_op)below(OP_CANCEL + 1);

	seen.states[r->state]++;
	seen.batch_states[r->batch.status]++;
	seen.start_min += r->start == STATE_START_MIN;
	seen.start_max += r->start == STATE_START_MAX;
	seen.count_max += r->failures == STATE_COUNT_MAX;
	seen.due_negative += r->due_ms < 0;
	seen.long_lists += r->n_rcpts >= 1000;
	seen.empty_lists += r->rcpts && r->n_rcpts == 0;
	seen.null_strings += !r->part && !r->agent_id && !r->batch_id && !r->error;
	return r;
}

/* --- comparison --------------------------------------------------------- */

static int iteration;

#define SAME_INT(f)                                                                                    \
	ck_assert_msg(a->f == b->f, "seed %" PRIu64 " run %d: " #f " %" PRId64 " read back as %" PRId64, \
		      seed, iteration, (int64_t)a->f, (int64_t)b->f)

static void same_str(const char *what, const char *x, const char *y)
{
	ck_assert_msg((x == NULL) == (y == NULL) && (!x || strcmp(x, y) == 0),
		      "seed %" PRIu64 " run %d: %s '%s' read back as '%s'", seed, iteration, what, x ? x : "(null)",
		      y ? y : "(null)");
}

static void same_list(const char *what, char *const *x, size_t nx, char *const *y, size_t ny)
{
	ck_assert_msg((x == NULL) == (y == NULL) && nx == ny,
		      "seed %" PRIu64 " run %d: %s of %zu read back as %zu (%s)", seed, iteration, what, nx, ny,
		      (x == NULL) == (y == NULL) ? "both present or absent" : "presence differs");
	for (size_t i = 0; i < nx; i++)
		same_str(what, x[i], y[i]);
}

static void assert_same_run(const struct run *a, const struct run *b)
{
	same_str("job", a->job, b->job);
	SAME_INT(start);
	same_str("part", a->part, b->part);
	same_str("zone", a->zone, b->zone);
	same_list("recipients", a->rcpts, a->n_rcpts, b->rcpts, b->n_rcpts);
	same_str("call_name", a->call_name, b->call_name);
	same_str("agent_id", a->agent_id, b->agent_id);
	SAME_INT(state);
	SAME_INT(on_removal);
	same_str("batch_id", a->batch_id, b->batch_id);
	ck_assert_msg(a->digest == b->digest, "seed %" PRIu64 " run %d: digest", seed, iteration);
	SAME_INT(submit_attempts);
	SAME_INT(intent_ms);
	SAME_INT(first_intent_ms);
	SAME_INT(sent_count);
	ck_assert_msg(a->sent_digest == b->sent_digest, "seed %" PRIu64 " run %d: sent_digest", seed, iteration);
	SAME_INT(lookup_only);
	SAME_INT(removal_cancel);
	SAME_INT(uncertain);
	SAME_INT(settle_ms);
	SAME_INT(retries);
	SAME_INT(retry_expect);
	SAME_INT(due_ms);
	ck_assert_msg(a->gen == b->gen, "seed %" PRIu64 " run %d: gen", seed, iteration);
	SAME_INT(submit_at_ms);
	SAME_INT(close_ms);
	SAME_INT(follow);
	SAME_INT(follow_n);
	same_list("unfinished", a->unfinished, a->n_unfinished, b->unfinished, b->n_unfinished);
	same_list("suppressed", a->suppressed, a->n_suppressed, b->suppressed, b->n_suppressed);
	same_list("over_limit", a->over_limit, a->n_over_limit, b->over_limit, b->n_over_limit);
	ck_assert_msg(a->contact_tag == b->contact_tag, "seed %" PRIu64 " run %d: contact_tag", seed, iteration);
	SAME_INT(contact_base);
	same_list("retry_recipients", a->retry_keys, a->n_retry_keys, b->retry_keys, b->n_retry_keys);
	SAME_INT(failures);
	SAME_INT(cancel_wanted);
	SAME_INT(removing);
	SAME_INT(late_logged);
	SAME_INT(batch.status);
	SAME_INT(batch.created_at_unix);
	SAME_INT(batch.scheduled_time_unix);
	SAME_INT(batch.last_updated_at_unix);
	SAME_INT(batch.total_calls_dispatched);
	SAME_INT(batch.total_calls_scheduled);
	SAME_INT(batch.total_calls_finished);
	SAME_INT(batch.retry_count);
	same_str("batch.id", a->batch.id, b->batch.id);
	same_str("batch.name", a->batch.name, b->batch.name);
	same_str("batch.agent_id", a->batch.agent_id, b->batch.agent_id);
	SAME_INT(counts_valid);
	for (int i = 0; i < BATCH_RCPT__MAX; i++)
		SAME_INT(counts[i]);
	same_str("error", a->error, b->error);
	SAME_INT(submitted_at);
	SAME_INT(finished_at);
	SAME_INT(finished_ms);
	ck_assert_msg(b->op == OP_NONE, "seed %" PRIu64 " run %d: op read as %d", seed, iteration, b->op);
}

static struct run *read_back(const char *text, size_t len)
{
	struct run *r = NULL;
	char *cause = NULL;
	int rc = state_parse(text, len, &r, &cause);

	ck_assert_msg(rc == 0, "seed %" PRIu64 " run %d: the reader refused what the writer wrote (%s): %.600s",
		      seed, iteration, cause ? cause : "?", text);
	ck_assert_ptr_null(cause);
	return r;
}

/* --- tests ---------------------------------------------------------------- */

START_TEST(test_every_run_reads_back_equal)
{
	memset(&seen, 0, sizeof(seen));
	rng_state = seed;
	for (iteration = 0; iteration < RUNS; iteration++) {
		struct run *r = random_run(), *back, *again;
		char *text = state_format(r), *text2;

		back = read_back(text, strlen(text));
		assert_same_run(r, back);
		{
			/* json-c writes the same document the same way */
			struct json_object *o = json_tokener_parse(text);
			ck_assert_ptr_nonnull(o);
			ck_assert_msg(strcmp(json_object_to_json_string_ext(o, JSON_C_TO_STRING_SPACED |
										       JSON_C_TO_STRING_NOSLASHESCAPE),
					     text) == 0,
				      "seed %" PRIu64 " run %d: not json-c's layout: %.600s", seed, iteration, text);
			json_object_put(o);
		}
		/* the text is a fixed point: what was read writes the same */
		text2 = state_format(back);
		ck_assert_str_eq(text, text2);
		/* a journal line is the record and its newline */
		free(text2);
		text2 = xasprintf("%s\n", text);
		again = read_back(text2, strlen(text2));
		assert_same_run(r, again);
		run_free(again);
		free(text2);
		free(text);
		run_free(back);
		run_free(r);
	}
	/* the worlds reached every corner they claim to */
	for (int i = 0; i < RUN__MAX; i++)
		ck_assert_msg(seen.states[i] > 0, "seed %" PRIu64 ": no run in state %s", seed, run_state_name(i));
	for (int i = 0; i < BATCH__MAX; i++)
		ck_assert_msg(seen.batch_states[i] > 0, "seed %" PRIu64 ": no batch %s", seed, batch_status_name(i));
	ck_assert_uint_gt(seen.start_min, 0);
	ck_assert_uint_gt(seen.start_max, 0);
	ck_assert_uint_gt(seen.count_max, 0);
	ck_assert_uint_gt(seen.due_negative, 0);
	ck_assert_uint_gt(seen.long_lists, 0);
	ck_assert_uint_gt(seen.empty_lists, 0);
	ck_assert_uint_gt(seen.null_strings, 0);
}
END_TEST

/* A run at every extreme at once, and one at every low end. */
START_TEST(test_extremes)
{
	struct run hi = { 0 }, lo = { 0 };
	char *rc[] = { "+15550100001", "\xf0\x9f\x93\x9e \"\\\x01" }, *un[] = { "4915" };
	char name[JOB_NAME_MAX + 1];

	memset(name, 'x', JOB_NAME_MAX);
	name[JOB_NAME_MAX] = '\0';
	hi.job = name;
	hi.start = STATE_START_MAX;
	hi.part = "Asia/Tokyo, resume 1";
	hi.zone = "Asia/Tokyo";
	hi.rcpts = rc;
	hi.n_rcpts = ARRAY_SIZE(rc);
	hi.call_name = "\xe2\x80\xa8\"x\"\x7f";
	hi.agent_id = "agent_x";
	hi.state = RUN__MAX - 1;
	hi.on_removal = ON_REMOVAL_KEEP;
	hi.batch_id = "btcal_x";
	hi.digest = UINT64_MAX;
	hi.submit_attempts = hi.retries = hi.follow_n = hi.failures = STATE_COUNT_MAX;
	hi.intent_ms = hi.settle_ms = hi.due_ms = hi.submit_at_ms = hi.close_ms = STATE_INT_MAX;
	hi.first_intent_ms = STATE_INT_MAX;
	hi.sent_count = CODEC_COUNT_MAX;
	hi.sent_digest = UINT64_MAX;
	hi.lookup_only = hi.removal_cancel = true;
	hi.retry_expect = CODEC_RETRY_COUNT_MAX + 1;
	hi.gen = INT64_MAX;
	hi.follow = FOLLOW_PAUSE;
	hi.unfinished = un;
	hi.n_unfinished = 1;
	hi.uncertain = hi.cancel_wanted = hi.removing = hi.late_logged = true;
	hi.batch = (struct batch){ .status = BATCH_UNKNOWN,
				   .created_at_unix = CODEC_TIME_MAX,
				   .scheduled_time_unix = CODEC_TIME_MAX,
				   .last_updated_at_unix = CODEC_TIME_MAX,
				   .total_calls_dispatched = CODEC_COUNT_MAX,
				   .total_calls_scheduled = CODEC_COUNT_MAX,
				   .total_calls_finished = CODEC_COUNT_MAX,
				   .retry_count = CODEC_RETRY_COUNT_MAX };
	hi.counts_valid = true;
	for (int i = 0; i < BATCH_RCPT__MAX; i++)
		hi.counts[i] = STATE_INT_MAX;
	hi.error = "refused";
	hi.submitted_at = hi.finished_at = hi.finished_ms = STATE_INT_MAX;

	lo.job = "j";
	lo.start = STATE_START_MIN;
	lo.call_name = "c";
	lo.due_ms = -STATE_INT_MAX;

	const struct run *runs[] = { &hi, &lo };
	for (size_t i = 0; i < ARRAY_SIZE(runs); i++) {
		char *text = state_format(runs[i]);
		struct run *back = read_back(text, strlen(text));
		assert_same_run(runs[i], back);
		run_free(back);
		free(text);
	}
}
END_TEST

/* The text of a valid record with key's value replaced by raw. */
static char *with_value(const char *key, const char *raw)
{
	struct run r = { .job = "j", .call_name = "c", .start = 1796133600, .batch = { .status = BATCH_PENDING } };
	char *text = state_format(&r), *pat = xasprintf("\"%s\": ", key), *at = strstr(text, pat), *end, *out;

	ck_assert_msg(at != NULL, "no key %s in %s", key, text);
	at += strlen(pat);
	end = at + strcspn(at, ",}");
	out = xasprintf("%.*s%s%s", (int)(at - text), text, raw, end);
	free(pat);
	free(text);
	return out;
}

static void assert_value(const char *key, int64_t v, bool ok)
{
	char raw[32], *cause = NULL, *text;
	struct run *r = NULL;
	int rc;

	snprintf(raw, sizeof(raw), "%" PRId64, v);
	text = with_value(key, raw);
	rc = state_parse(text, strlen(text), &r, &cause);
	if (ok) {
		ck_assert_msg(rc == 0, "%s = %s refused: %s", key, raw, cause ? cause : "?");
	} else {
		ck_assert_msg(rc == -EBADMSG, "%s = %s accepted", key, raw);
		ck_assert_ptr_null(r);
		ck_assert_msg(cause && strstr(cause, key), "cause '%s' does not name %s", cause ? cause : "", key);
	}
	free(cause);
	run_free(r);
	free(text);
}

/* Each number: its ends are read, one past them is damage. */
START_TEST(test_bounds_of_each_number)
{
	static const struct {
		const char *key;
		int64_t min, max;
	} keys[] = {
		{ "start", STATE_START_MIN, STATE_START_MAX },
		{ "submit_attempts", 0, STATE_COUNT_MAX },
		{ "retries", 0, STATE_COUNT_MAX },
		{ "follow_n", 0, STATE_COUNT_MAX },
		{ "failures", 0, STATE_COUNT_MAX },
		{ "retry_expect", 0, CODEC_RETRY_COUNT_MAX + 1 },
		{ "intent_ms", 0, STATE_INT_MAX },
		{ "first_intent_ms", 0, STATE_INT_MAX },
		{ "sent_count", 0, CODEC_COUNT_MAX },
		{ "settle_ms", 0, STATE_INT_MAX },
		{ "due_ms", -STATE_INT_MAX, STATE_INT_MAX },
		{ "submit_at_ms", 0, STATE_INT_MAX },
		{ "close_ms", 0, STATE_INT_MAX },
		{ "created_at_unix", 0, CODEC_TIME_MAX },
		{ "scheduled_time_unix", 0, CODEC_TIME_MAX },
		{ "last_updated_at_unix", 0, CODEC_TIME_MAX },
		{ "total_calls_dispatched", 0, CODEC_COUNT_MAX },
		{ "total_calls_scheduled", 0, CODEC_COUNT_MAX },
		{ "total_calls_finished", 0, CODEC_COUNT_MAX },
		{ "retry_count", 0, CODEC_RETRY_COUNT_MAX },
		{ "submitted_at", 0, STATE_INT_MAX },
		{ "finished_at", 0, STATE_INT_MAX },
		{ "finished_ms", 0, STATE_INT_MAX },
	};

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		assert_value(keys[i].key, keys[i].min, true);
		assert_value(keys[i].key, keys[i].max, true);
		assert_value(keys[i].key, keys[i].min - 1, false);
		assert_value(keys[i].key, keys[i].max + 1, false);
	}
	/* gen is unsigned in memory and written as a JSON integer */
	assert_value("gen", 0, true);
	assert_value("gen", INT64_MAX, true);
	assert_value("gen", -1, false);
	/* the instants a job's start can name: years 0000 and 9999 in the
	 * zones furthest from UTC, and scheduled_time_unix's own range */
	ck_assert_int_le(STATE_START_MIN, INT64_C(-62167219200) - 93599);
	ck_assert_int_ge(STATE_START_MAX, CODEC_TIME_MAX + 89999);
}
END_TEST

/* Cut a record anywhere: never a run, always a cause. */
START_TEST(test_every_truncation_is_refused)
{
	rng_state = seed ^ 0x5eed;
	short_strings = true;
	for (iteration = 0; iteration < 40; iteration++) {
		struct run *r = random_run();
		char *text = state_format(r);
		size_t len = strlen(text);

		for (size_t cut = 0; cut < len; cut++) {
			struct run *got = NULL;
			char *cause = NULL;
			char *part = xstrndup(text, cut);
			int rc = state_parse(part, cut, &got, &cause);
			ck_assert_msg(rc == -EBADMSG, "seed %" PRIu64 " run %d: the first %zu of %zu bytes read as a run",
				      seed, iteration, cut, len);
			ck_assert_ptr_null(got);
			ck_assert_msg(cause && *cause, "no cause for a cut at %zu", cut);
			free(cause);
			free(part);
		}
		free(text);
		run_free(r);
	}
	short_strings = false;
}
END_TEST

static Suite *state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("round_trip");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_every_run_reads_back_equal);
	tcase_add_test(tc, test_extremes);
	suite_add_tcase(s, tc);
	tc = tcase_create("damage");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_bounds_of_each_number);
	tcase_add_test(tc, test_every_truncation_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *env = getenv("BC_SEED");

	seed = env && *env ? strtoull(env, NULL, 0)
			   : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	printf("test_state: seed %" PRIu64 " (BC_SEED=%" PRIu64 " replays it)\n", seed, seed);
	fflush(stdout);
	SRunner *sr = srunner_create(state_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
