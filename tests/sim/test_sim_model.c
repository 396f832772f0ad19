/*
 * test_sim_model: the simulator's pure batch model, driven with plain
 * numbers for "now". Lifecycle and phase timing, the concurrency cap at
 * every instant, outcomes per last digit, cancel and retry semantics and
 * refusals, counters, ids, and list order/cursor.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sim_conv.h"
#include "sim_hooks.h"
#include "sim_model.h"
#include "sim_sign.h"
#include "util.h"

#define SEC 1000000LL
#define T0 (1800000000LL * SEC) /* an arbitrary "now" at the start of each test */

static struct sim_model *new_model(void)
{
	struct sim_params p;
	struct sim_model *m;

	sim_params_default(&p, 1, 42);
	m = sim_model_new(&p);
	sim_model_advance(m, T0);
	return m;
}

/* Submit one batch whose recipients have the given phone numbers. */
static struct sim_batch *submit(struct sim_model *m, const char *agent, long long tcl, const char *const *numbers,
				size_t n)
{
	struct sim_recipient_in *r = calloc(n ? n : 1, sizeof(*r));
	struct sim_submit s = {.call_name = "test", .agent_id = agent, .ringing_timeout_secs = 60};
	struct sim_batch *b;

	for (size_t i = 0; i < n; i++)
		r[i].phone_number = numbers[i];
	s.recipients = r;
	s.n_recipients = n;
	if (tcl > 0) {
		s.has_target_concurrency_limit = true;
		s.target_concurrency_limit = tcl;
	}
	b = sim_model_submit(m, &s);
	free(r);
	return b;
}

static enum sim_rcp_status rstatus(struct sim_model *m, struct sim_batch *b, size_t i)
{
	struct sim_rcp_view v;

	sim_recipient_view(m, b, i, &v);
	return v.status;
}

static struct sim_batch_view bview(struct sim_model *m, struct sim_batch *b)
{
	struct sim_batch_view v;

	sim_batch_view(m, b, &v);
	return v;
}

static size_t count_active(struct sim_model *m, struct sim_batch *b)
{
	struct sim_batch_view v = bview(m, b);
	size_t n = 0;

	for (size_t i = 0; i < v.n_recipients; i++) {
		enum sim_rcp_status s = rstatus(m, b, i);
		if (s == SIM_RCP_DISPATCHED || s == SIM_RCP_INITIATED || s == SIM_RCP_IN_PROGRESS)
			n++;
	}
	return n;
}

START_TEST(test_params_speed)
{
	struct sim_params p;

	sim_params_default(&p, 1, 0);
	ck_assert_int_eq(p.dial_us, 1 * SEC);
	ck_assert_int_eq(p.ring_us, 2 * SEC);
	ck_assert_int_eq(p.talk_us, 5 * SEC);
	ck_assert_int_eq(p.default_cap, 10);
	sim_params_default(&p, 10, 0);
	ck_assert_int_eq(p.dial_us, 100000);
	ck_assert_int_eq(p.ring_us, 200000);
	ck_assert_int_eq(p.talk_us, 500000);
	sim_params_default(&p, 1e12, 0);
	ck_assert_int_eq(p.dial_us, 1); /* never zero, phases keep their order */
}
END_TEST

START_TEST(test_outcome_rule)
{
	static const enum sim_rcp_status first[10] = {
		SIM_RCP_COMPLETED, SIM_RCP_COMPLETED, SIM_RCP_COMPLETED, SIM_RCP_COMPLETED, SIM_RCP_COMPLETED,
		SIM_RCP_COMPLETED, SIM_RCP_FAILED,    SIM_RCP_VOICEMAIL, SIM_RCP_FAILED,    SIM_RCP_COMPLETED,
	};
	static const enum sim_rcp_status again[10] = {
		SIM_RCP_COMPLETED, SIM_RCP_COMPLETED, SIM_RCP_COMPLETED, SIM_RCP_COMPLETED, SIM_RCP_COMPLETED,
		SIM_RCP_COMPLETED, SIM_RCP_FAILED,    SIM_RCP_VOICEMAIL, SIM_RCP_COMPLETED, SIM_RCP_COMPLETED,
	};
	char num[32];
	bool lng;

	for (int d = 0; d < 10; d++) {
		snprintf(num, sizeof(num), "+1415555010%d", d);
		ck_assert_int_eq(sim_outcome(num, 0, &lng), first[d]);
		ck_assert_int_eq(lng, d == 9);
		ck_assert_int_eq(sim_outcome(num, 1, &lng), again[d]);
		ck_assert_int_eq(sim_outcome(num, 5, &lng), again[d]);
	}
	ck_assert_int_eq(sim_outcome("wa-1237x", 0, &lng), SIM_RCP_VOICEMAIL);
	ck_assert_int_eq(sim_outcome(NULL, 0, &lng), SIM_RCP_COMPLETED);
}
END_TEST

START_TEST(test_lifecycle_phases)
{
	struct sim_model *m = new_model();
	const char *nums[] = {"+14155550100"};
	struct sim_batch *b = submit(m, "agent_x", 0, nums, 1);
	struct sim_batch_view v = bview(m, b);
	struct sim_rcp_view r;

	/* the submit answer is pending with zero counters */
	ck_assert_int_eq(v.status, SIM_BATCH_PENDING);
	ck_assert_uint_eq(v.total_scheduled, 1);
	ck_assert_uint_eq(v.total_dispatched, 0);
	ck_assert_uint_eq(v.total_finished, 0);
	ck_assert_int_eq(v.scheduled_time_unix, T0 / SEC);
	ck_assert_int_eq(v.created_us, T0);
	ck_assert_int_eq(rstatus(m, b, 0), SIM_RCP_PENDING);

	sim_model_advance(m, T0 + 1);
	v = bview(m, b);
	ck_assert_int_eq(v.status, SIM_BATCH_IN_PROGRESS);
	ck_assert_uint_eq(v.total_dispatched, 1);
	sim_recipient_view(m, b, 0, &r);
	ck_assert_int_eq(r.status, SIM_RCP_DISPATCHED);
	ck_assert(!r.has_conversation);

	sim_model_advance(m, T0 + 1 + 1 * SEC);
	sim_recipient_view(m, b, 0, &r);
	ck_assert_int_eq(r.status, SIM_RCP_INITIATED);
	ck_assert(r.has_conversation);
	ck_assert_int_eq(strncmp(r.conversation_id, "conv_", 5), 0);
	ck_assert_uint_eq(strlen(r.conversation_id), 33);
	ck_assert_int_eq(r.updated_us, T0 + 1 + 1 * SEC);

	sim_model_advance(m, T0 + 1 + 3 * SEC);
	ck_assert_int_eq(rstatus(m, b, 0), SIM_RCP_IN_PROGRESS);
	ck_assert_int_eq(bview(m, b).last_updated_us, T0 + 1 + 3 * SEC);

	sim_model_advance(m, T0 + 8 * SEC);
	ck_assert_int_eq(rstatus(m, b, 0), SIM_RCP_IN_PROGRESS);
	ck_assert_int_eq(bview(m, b).status, SIM_BATCH_IN_PROGRESS);

	sim_model_advance(m, T0 + 1 + 8 * SEC);
	v = bview(m, b);
	ck_assert_int_eq(rstatus(m, b, 0), SIM_RCP_COMPLETED);
	ck_assert_int_eq(v.status, SIM_BATCH_COMPLETED);
	ck_assert_uint_eq(v.total_dispatched, 1);
	ck_assert_uint_eq(v.total_finished, 1);
	ck_assert_int_eq(v.last_updated_us, T0 + 1 + 8 * SEC);
	sim_model_free(m);
}
END_TEST

START_TEST(test_durations_per_digit)
{
	struct sim_model *m = new_model();
	const char *nums[] = {"+10", "+16", "+17", "+18", "+19"};
	struct sim_batch *b = submit(m, "agent_x", 0, nums, 5);
	/* end of each call after the start (T0 + 1) */
	const long long end[] = {8, 3, 8, 3, 18};
	const enum sim_rcp_status fin[] = {SIM_RCP_COMPLETED, SIM_RCP_FAILED, SIM_RCP_VOICEMAIL, SIM_RCP_FAILED,
					   SIM_RCP_COMPLETED};
	struct sim_rcp_view r;

	for (size_t i = 0; i < 5; i++) {
		sim_model_free(m);
		m = new_model();
		b = submit(m, "agent_x", 0, nums, 5);
		sim_model_advance(m, T0 + 1 + end[i] * SEC - 1);
		ck_assert_int_ne(rstatus(m, b, i), fin[i]);
		sim_model_advance(m, T0 + 1 + end[i] * SEC);
		sim_recipient_view(m, b, i, &r);
		ck_assert_int_eq(r.status, fin[i]);
		ck_assert_int_eq(r.updated_us, T0 + 1 + end[i] * SEC);
	}
	/* voicemail is answered (by a machine): it passes through in_progress */
	sim_model_free(m);
	m = new_model();
	b = submit(m, "agent_x", 0, nums, 5);
	sim_model_advance(m, T0 + 1 + 4 * SEC);
	ck_assert_int_eq(rstatus(m, b, 2), SIM_RCP_IN_PROGRESS);
	ck_assert_int_eq(rstatus(m, b, 1), SIM_RCP_FAILED);
	sim_model_advance(m, T0 + 1 + 18 * SEC);
	ck_assert_int_eq(bview(m, b).status, SIM_BATCH_COMPLETED);
	ck_assert_uint_eq(bview(m, b).total_finished, 5);
	sim_model_free(m);
}
END_TEST

START_TEST(test_concurrency_cap_every_instant)
{
	struct sim_model *m = new_model();
	const char *nums[50];
	char buf[50][16];
	struct sim_batch *b;
	size_t peak = 0;

	for (int i = 0; i < 50; i++) {
		/* a mix of every outcome, so calls end at different times */
		snprintf(buf[i], sizeof(buf[i]), "+1555%04d", i * 7 + 3);
		nums[i] = buf[i];
	}
	b = submit(m, "agent_x", 3, nums, 50);
	/* every 250 ms for 10 minutes: calls change state only on whole
	 * seconds after start + 1 us, so this sees every distinct state */
	for (long long t = T0; t <= T0 + 600 * SEC; t += SEC / 4) {
		size_t a;
		sim_model_advance(m, t + 1);
		a = count_active(m, b);
		ck_assert_uint_le(a, 3);
		if (a > peak)
			peak = a;
		if (bview(m, b).status == SIM_BATCH_IN_PROGRESS && bview(m, b).total_dispatched < 50)
			ck_assert_uint_eq(a, 3); /* a free line never stays idle */
	}
	ck_assert_uint_eq(peak, 3);
	ck_assert_int_eq(bview(m, b).status, SIM_BATCH_COMPLETED);
	ck_assert_uint_eq(bview(m, b).total_finished, 50);
	sim_model_free(m);
}
END_TEST

START_TEST(test_default_cap_and_total_time)
{
	struct sim_model *m = new_model();
	const char *nums[25];
	struct sim_batch *b;

	for (int i = 0; i < 25; i++)
		nums[i] = "+15550000"; /* digit 0: 8 s each */
	b = submit(m, "agent_x", 0, nums, 25);
	sim_model_advance(m, T0 + 1);
	ck_assert_uint_eq(count_active(m, b), 10); /* documented default cap */
	ck_assert_uint_eq(bview(m, b).total_dispatched, 10);
	/* 25 calls, 10 lines, 8 s each: three rounds end at 24 s */
	sim_model_advance(m, T0 + 1 + 16 * SEC);
	ck_assert_uint_eq(bview(m, b).total_finished, 20);
	ck_assert_uint_eq(bview(m, b).total_dispatched, 25);
	sim_model_advance(m, T0 + 24 * SEC);
	ck_assert_int_eq(bview(m, b).status, SIM_BATCH_IN_PROGRESS);
	sim_model_advance(m, T0 + 1 + 24 * SEC);
	ck_assert_int_eq(bview(m, b).status, SIM_BATCH_COMPLETED);
	sim_model_free(m);
}
END_TEST

START_TEST(test_scheduled_start)
{
	struct sim_model *m = new_model();
	const char *nums[] = {"+10"};
	struct sim_recipient_in r = {.phone_number = nums[0]};
	struct sim_submit s = {.call_name = "c", .agent_id = "a", .recipients = &r, .n_recipients = 1,
			       .has_scheduled_time = true, .scheduled_time_unix = T0 / SEC + 3600};
	struct sim_batch *b = sim_model_submit(m, &s);

	ck_assert_int_eq(bview(m, b).scheduled_time_unix, T0 / SEC + 3600);
	sim_model_advance(m, T0 + 3600 * SEC - 1);
	ck_assert_int_eq(bview(m, b).status, SIM_BATCH_PENDING);
	ck_assert_int_eq(rstatus(m, b, 0), SIM_RCP_PENDING);
	sim_model_advance(m, T0 + 3600 * SEC);
	ck_assert_int_eq(bview(m, b).status, SIM_BATCH_IN_PROGRESS);
	ck_assert_int_eq(rstatus(m, b, 0), SIM_RCP_DISPATCHED);
	ck_assert_int_eq(bview(m, b).last_updated_us, T0 + 3600 * SEC);

	/* a past time starts now, and is echoed as given */
	s.scheduled_time_unix = 1000;
	b = sim_model_submit(m, &s);
	ck_assert_int_eq(bview(m, b).scheduled_time_unix, 1000);
	ck_assert_int_eq(bview(m, b).status, SIM_BATCH_PENDING);
	sim_model_advance(m, sim_model_now(m) + 1);
	ck_assert_int_eq(bview(m, b).status, SIM_BATCH_IN_PROGRESS);
	sim_model_free(m);
}
END_TEST

START_TEST(test_agent_failure)
{
	struct sim_model *m = new_model();
	const char *nums[] = {"+10", "+16"};
	struct sim_batch *b = submit(m, "agent_will_fail", 0, nums, 2);

	sim_model_advance(m, T0 + 1);
	ck_assert_int_eq(bview(m, b).status, SIM_BATCH_IN_PROGRESS);
	ck_assert_uint_eq(bview(m, b).total_dispatched, 0);
	sim_model_advance(m, T0 + 1 + SEC);
	ck_assert_int_eq(bview(m, b).status, SIM_BATCH_FAILED);
	ck_assert_int_eq(bview(m, b).last_updated_us, T0 + 1 + SEC);
	ck_assert_int_eq(rstatus(m, b, 0), SIM_RCP_PENDING);
	ck_assert_int_eq(rstatus(m, b, 1), SIM_RCP_PENDING);
	ck_assert_int_eq(sim_model_retry(m, b), -ENOENT);
	ck_assert_int_eq(sim_model_cancel(m, b), -EBUSY);
	sim_model_free(m);
}
END_TEST

START_TEST(test_empty_batch)
{
	struct sim_model *m = new_model();
	struct sim_batch *b = submit(m, "agent_x", 0, NULL, 0);

	ck_assert_int_eq(bview(m, b).status, SIM_BATCH_PENDING);
	sim_model_advance(m, T0 + 1);
	ck_assert_int_eq(bview(m, b).status, SIM_BATCH_COMPLETED);
	ck_assert_uint_eq(bview(m, b).total_scheduled, 0);
	sim_model_free(m);
}
END_TEST

START_TEST(test_cancel)
{
	struct sim_model *m = new_model();
	const char *nums[] = {"+16", "+10", "+10", "+10"};
	struct sim_batch *b = submit(m, "agent_x", 2, nums, 4);
	struct sim_batch_view v;
	struct sim_rcp_view r;

	/* at 5 s: #0 failed (3 s), #2 dialled at 3 s and initiated, #1 talking,
	 * #3 pending */
	sim_model_advance(m, T0 + 1 + 5 * SEC);
	ck_assert_int_eq(rstatus(m, b, 0), SIM_RCP_FAILED);
	ck_assert_int_eq(rstatus(m, b, 1), SIM_RCP_IN_PROGRESS);
	ck_assert_int_eq(rstatus(m, b, 2), SIM_RCP_INITIATED);
	ck_assert_int_eq(rstatus(m, b, 3), SIM_RCP_PENDING);
	ck_assert_int_eq(sim_model_cancel(m, b), 0);
	v = bview(m, b);
	ck_assert_int_eq(v.status, SIM_BATCH_CANCELLED);
	ck_assert_uint_eq(v.total_dispatched, 4);
	ck_assert_uint_eq(v.total_finished, 4);
	ck_assert_int_eq(v.last_updated_us, T0 + 1 + 5 * SEC);
	ck_assert_int_eq(rstatus(m, b, 0), SIM_RCP_FAILED); /* terminal keeps its status */
	for (size_t i = 1; i < 4; i++) {
		sim_recipient_view(m, b, i, &r);
		ck_assert_int_eq(r.status, SIM_RCP_CANCELLED);
		ck_assert_int_eq(r.updated_us, T0 + 1 + 5 * SEC);
		ck_assert_int_eq(r.has_conversation, i != 3);
	}
	/* nothing moves afterwards */
	sim_model_advance(m, T0 + 100 * SEC);
	ck_assert_int_eq(rstatus(m, b, 1), SIM_RCP_CANCELLED);
	ck_assert_uint_eq(count_active(m, b), 0);
	ck_assert_int_eq(sim_model_cancel(m, b), -EBUSY);
	ck_assert_int_eq(sim_model_retry(m, b), -EBUSY);

	/* a pending (scheduled) batch can be cancelled too */
	{
		struct sim_recipient_in in = {.phone_number = "+10"};
		struct sim_submit s = {.call_name = "c", .agent_id = "a", .recipients = &in, .n_recipients = 1,
				       .has_scheduled_time = true, .scheduled_time_unix = T0 / SEC + 7200};
		b = sim_model_submit(m, &s);
		ck_assert_int_eq(sim_model_cancel(m, b), 0);
		ck_assert_int_eq(rstatus(m, b, 0), SIM_RCP_CANCELLED);
		sim_model_advance(m, T0 + 8000 * SEC);
		ck_assert_int_eq(bview(m, b).status, SIM_BATCH_CANCELLED);
	}
	sim_model_free(m);
}
END_TEST

START_TEST(test_retry)
{
	struct sim_model *m = new_model();
	const char *nums[] = {"+10", "+16", "+17", "+18"};
	struct sim_batch *b = submit(m, "agent_x", 1, nums, 4);
	struct sim_batch_view v;
	int64_t t;

	ck_assert_int_eq(sim_model_retry(m, b), -EBUSY); /* pending */
	sim_model_advance(m, T0 + 1 + 2 * SEC);
	ck_assert_int_eq(sim_model_retry(m, b), -EBUSY); /* in_progress */
	/* one line: 8 + 3 + 8 + 3 = 22 s */
	sim_model_advance(m, T0 + 1 + 22 * SEC);
	v = bview(m, b);
	ck_assert_int_eq(v.status, SIM_BATCH_COMPLETED);
	ck_assert_int_eq(rstatus(m, b, 1), SIM_RCP_FAILED);
	ck_assert_int_eq(rstatus(m, b, 2), SIM_RCP_VOICEMAIL);
	ck_assert_int_eq(rstatus(m, b, 3), SIM_RCP_FAILED);

	t = T0 + 100 * SEC;
	sim_model_advance(m, t);
	ck_assert_int_eq(sim_model_retry(m, b), 0);
	v = bview(m, b);
	ck_assert_int_eq(v.status, SIM_BATCH_IN_PROGRESS);
	ck_assert_int_eq(v.retry_count, 1);
	/* counters describe the recipients now: 1 completed stays, 3 are
	 * back in line and the first of them was dialled at once */
	ck_assert_uint_eq(v.total_finished, 1);
	ck_assert_uint_eq(v.total_dispatched, 2);
	ck_assert_int_eq(v.last_updated_us, t);
	ck_assert_int_eq(rstatus(m, b, 0), SIM_RCP_COMPLETED);
	ck_assert_int_eq(rstatus(m, b, 1), SIM_RCP_DISPATCHED);
	ck_assert_int_eq(rstatus(m, b, 2), SIM_RCP_PENDING);
	ck_assert_int_eq(rstatus(m, b, 3), SIM_RCP_PENDING);
	/* second attempt: 3 + 8 + 8 (digit 8 now completes) = 19 s */
	sim_model_advance(m, t + 19 * SEC - 1);
	ck_assert_int_eq(bview(m, b).status, SIM_BATCH_IN_PROGRESS);
	sim_model_advance(m, t + 19 * SEC);
	v = bview(m, b);
	ck_assert_int_eq(v.status, SIM_BATCH_COMPLETED);
	ck_assert_uint_eq(v.total_finished, 4);
	ck_assert_int_eq(rstatus(m, b, 1), SIM_RCP_FAILED);
	ck_assert_int_eq(rstatus(m, b, 2), SIM_RCP_VOICEMAIL);
	ck_assert_int_eq(rstatus(m, b, 3), SIM_RCP_COMPLETED);
	/* again: 6 and 7 fail every time, so there is still something */
	ck_assert_int_eq(sim_model_retry(m, b), 0);
	ck_assert_int_eq(bview(m, b).retry_count, 2);
	sim_model_free(m);
}
END_TEST

START_TEST(test_retry_nothing)
{
	struct sim_model *m = new_model();
	const char *nums[] = {"+10", "+11"};
	struct sim_batch *b = submit(m, "agent_x", 0, nums, 2);

	sim_model_advance(m, T0 + 60 * SEC);
	ck_assert_int_eq(bview(m, b).status, SIM_BATCH_COMPLETED);
	ck_assert_int_eq(sim_model_retry(m, b), -ENOENT);
	ck_assert_int_eq(bview(m, b).retry_count, 0);
	ck_assert_int_eq(bview(m, b).status, SIM_BATCH_COMPLETED);
	sim_model_free(m);
}
END_TEST

static bool is_b32(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr("0123456789abcdefghjkmnpqrstvwxyz", s[i]))
			return false;
	return s[n] == '\0';
}

START_TEST(test_ids)
{
	struct sim_model *m = new_model();
	struct sim_recipient_in r[2] = {{.id = "crm-1", .phone_number = "+10"}, {.phone_number = "+11"}};
	struct sim_submit s = {.call_name = "c", .agent_id = "agent_x", .recipients = r, .n_recipients = 2};
	struct sim_batch *b = sim_model_submit(m, &s), *b2 = sim_model_submit(m, &s);
	struct sim_batch_view v = bview(m, b), v2 = bview(m, b2);
	struct sim_rcp_view rv;
	char again[40];

	ck_assert_int_eq(strncmp(v.id, "btcal_", 6), 0);
	ck_assert(is_b32(v.id + 6, 28));
	ck_assert_str_ne(v.id, v2.id);
	ck_assert_ptr_eq(sim_model_find(m, v.id), b);
	ck_assert_ptr_eq(sim_model_find(m, v2.id), b2);
	ck_assert_ptr_null(sim_model_find(m, "btcal_nope"));
	sim_recipient_view(m, b, 0, &rv);
	ck_assert_str_eq(rv.id, "crm-1");
	sim_recipient_view(m, b, 1, &rv);
	ck_assert_int_eq(strncmp(rv.id, "btcrcp_", 7), 0);
	ck_assert(is_b32(rv.id + 7, 28));
	snprintf(again, sizeof(again), "%s", rv.id);
	sim_recipient_view(m, b, 1, &rv);
	ck_assert_str_eq(rv.id, again); /* stable across views */
	ck_assert_str_eq(v.agent_name, bview(m, b2).agent_name); /* same agent, same name */
	ck_assert(strstr(v.agent_name, " Agent") != NULL);
	snprintf(again, sizeof(again), "%s", v.id);
	sim_model_delete(m, b);
	ck_assert_ptr_null(sim_model_find(m, again));
	ck_assert_ptr_eq(sim_model_find(m, v2.id), b2);
	{
		struct sim_batch *all[4];
		bool more = true;
		/* the list, as GET /v1/convai/batch-calling/workspace pages it */
		ck_assert_uint_eq(sim_model_list(m, NULL, NULL, 4, all, &more), 1);
		ck_assert_ptr_eq(all[0], b2);
		ck_assert(!more);
	}
	sim_model_free(m);
}
END_TEST

START_TEST(test_list_pages)
{
	struct sim_model *m = new_model();
	struct sim_recipient_in r = {.phone_number = "+10"};
	struct sim_submit s = {.call_name = "c", .recipients = &r, .n_recipients = 1};
	struct sim_batch *all[7], *page[7];
	char ids[7][40];
	bool more;
	size_t n;

	for (int i = 0; i < 7; i++) {
		s.agent_id = i % 2 ? "agent_odd" : "agent_even";
		sim_model_advance(m, T0 + i * SEC);
		all[i] = sim_model_submit(m, &s);
		snprintf(ids[i], sizeof(ids[i]), "%s", bview(m, all[i]).id);
	}
	/* newest first, pages of 3 */
	n = sim_model_list(m, NULL, NULL, 3, page, &more);
	ck_assert_uint_eq(n, 3);
	ck_assert(more);
	ck_assert_ptr_eq(page[0], all[6]);
	ck_assert_ptr_eq(page[1], all[5]);
	ck_assert_ptr_eq(page[2], all[4]);
	n = sim_model_list(m, NULL, ids[4], 3, page, &more);
	ck_assert_uint_eq(n, 3);
	ck_assert(more);
	ck_assert_ptr_eq(page[0], all[3]);
	ck_assert_ptr_eq(page[2], all[1]);
	n = sim_model_list(m, NULL, ids[1], 3, page, &more);
	ck_assert_uint_eq(n, 1);
	ck_assert(!more);
	ck_assert_ptr_eq(page[0], all[0]);
	/* exactly a full last page: no more */
	n = sim_model_list(m, NULL, ids[3], 3, page, &more);
	ck_assert_uint_eq(n, 3);
	ck_assert(!more);
	/* agent filter */
	n = sim_model_list(m, "agent_odd", NULL, 2, page, &more);
	ck_assert_uint_eq(n, 2);
	ck_assert(more);
	ck_assert_ptr_eq(page[0], all[5]);
	ck_assert_ptr_eq(page[1], all[3]);
	n = sim_model_list(m, "agent_odd", ids[3], 2, page, &more);
	ck_assert_uint_eq(n, 1);
	ck_assert(!more);
	ck_assert_ptr_eq(page[0], all[1]);
	/* a cursor whose batch was deleted still marks its place */
	sim_model_delete(m, all[4]);
	n = sim_model_list(m, NULL, ids[4], 2, page, &more);
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_eq(page[0], all[3]);
	/* an undecodable cursor gives an empty page */
	n = sim_model_list(m, NULL, "garbage", 2, page, &more);
	ck_assert_uint_eq(n, 0);
	ck_assert(!more);
	sim_model_free(m);
}
END_TEST

START_TEST(test_clock_never_goes_back)
{
	struct sim_model *m = new_model();

	sim_model_advance(m, T0 + 10 * SEC);
	sim_model_advance(m, T0);
	ck_assert_int_eq(sim_model_now(m), T0 + 10 * SEC);
	sim_model_free(m);
}
END_TEST

/* SHA-256 and HMAC themselves are the core's (tests/core/test_sha256.c);
 * here the header the simulator sends. */
START_TEST(test_signature)
{
	/* the API document's test vector (§5.4): 449 bytes, no newline */
	static const char body[] =
		"{\"type\":\"call_initiation_failure\",\"event_timestamp\":1792483300,\"data\":{\""
		"agent_id\":\"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\",\"conversation_id\":\"conv_6"
		"101k7v9z6dt7p0gw5q8fhk9u3yc\",\"failure_reason\":\"no-answer\",\"metadata\":{\"t"
		"ype\":\"sip\",\"body\":{\"from_number\":\"+14155550199\",\"to_number\":\"+1415555010"
		"3\",\"sip_status_code\":480,\"error_reason\":\"INVITE failed: sip status: 480:"
		" Temporarily Unavailable (SIP 480)\",\"call_sid\":\"0b7c2f1e-9a4d-4c3b-8e21-"
		"5f6a7b8c9d0e\"}}}}";
	char hdr[SIM_SIG_HEADER_MAX], b64[16];

	ck_assert_uint_eq(sizeof(body) - 1, 449);
	sim_sign_header("wsec_example_secret", 1792483300, body, sizeof(body) - 1, hdr);
	ck_assert_str_eq(hdr, "t=1792483300,v0=1787bbe904d9c75433b3a3036696f1431a62e0ccc3738c8234d0549f3f36423a");
	/* another t, another secret or another body: another signature */
	sim_sign_header("wsec_example_secret", 1792483301, body, sizeof(body) - 1, hdr);
	ck_assert_str_ne(hdr + 17, "1787bbe904d9c75433b3a3036696f1431a62e0ccc3738c8234d0549f3f36423a");
	sim_sign_header("wsec_example_secreT", 1792483300, body, sizeof(body) - 1, hdr);
	ck_assert_str_ne(hdr, "t=1792483300,v0=1787bbe904d9c75433b3a3036696f1431a62e0ccc3738c8234d0549f3f36423a");
	sim_sign_header("wsec_example_secret", 1792483300, body, sizeof(body) - 2, hdr);
	ck_assert_str_ne(hdr, "t=1792483300,v0=1787bbe904d9c75433b3a3036696f1431a62e0ccc3738c8234d0549f3f36423a");

	ck_assert_uint_eq(sim_base64("", 0, b64), 0);
	sim_base64("f", 1, b64);
	ck_assert_str_eq(b64, "Zg==");
	sim_base64("fo", 2, b64);
	ck_assert_str_eq(b64, "Zm8=");
	sim_base64("foobar", 6, b64);
	ck_assert_str_eq(b64, "Zm9vYmFy");
}
END_TEST

/* Submit recipients with numbers and, for some, client data JSON. */
static struct sim_batch *submit_ccd(struct sim_model *m, const char *agent, const char *const *numbers,
				    const char *const *ccd, size_t n)
{
	struct sim_recipient_in r[16] = {{0}};
	struct sim_submit s = {.call_name = "conv", .agent_id = agent, .ringing_timeout_secs = 60,
			       .agent_phone_number_id = "phnum_test"};

	for (size_t i = 0; i < n; i++) {
		r[i].phone_number = numbers[i];
		r[i].ccd_json = ccd ? ccd[i] : NULL;
	}
	s.recipients = r;
	s.n_recipients = n;
	return sim_model_submit(m, &s);
}

/* The conversation of recipient i's current attempt, if it has one. */
static bool conv_of(struct sim_model *m, struct sim_batch *b, size_t i, struct sim_conv_ref *ref,
		    struct sim_conv_view *v)
{
	struct sim_rcp_view rv;

	sim_recipient_view(m, b, i, &rv);
	if (!rv.has_conversation)
		return false;
	ck_assert(sim_model_find_conv(m, rv.conversation_id, ref));
	sim_conv_view(m, ref, v);
	ck_assert_str_eq(v->conversation_id, rv.conversation_id);
	return true;
}

static json_object *conv_json(struct sim_model *m, const struct sim_conv_ref *ref)
{
	struct sim_conv_view v;
	struct sbuf out = {0};
	json_object *o;

	sim_conv_view(m, ref, &v);
	sim_render_conv(&out, &v, false);
	o = json_tokener_parse(out.s);
	ck_assert_msg(o != NULL, "not JSON: %s", out.s);
	sbuf_free(&out);
	return o;
}

static const char *jstr(json_object *o, const char *path)
{
	char *copy = strdup(path), *save = NULL;

	for (char *k = strtok_r(copy, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(o, k, &o))
			o = NULL;
	free(copy);
	return o ? json_object_get_string(o) : NULL;
}

START_TEST(test_conv_life)
{
	struct sim_model *m = new_model();
	const char *nums[] = {"+14155550100"};
	const char *ccd[] = {"{\"dynamic_variables\":{\"user_name\":\"Alice\",\"crm\":7}}"};
	struct sim_batch *b;
	struct sim_conv_ref ref, none;
	struct sim_conv_view v;
	struct sim_conv_event *ev;
	struct sim_rcp_view rv;
	json_object *o, *keys;
	int64_t d, t1, t2, end;
	static const char *const top[] = {"agent_id", "agent_name", "conversation_id", "status", "user_id",
					  "branch_id", "version_id", "environment", "transcript", "metadata",
					  "analysis", "conversation_initiation_client_data", "has_audio",
					  "has_user_audio", "has_response_audio", "has_auxiliary_audio",
					  "visited_agents", "tag_ids", "conversation_product", "otlp_traces"};

	sim_model_set_events(m, true);
	b = submit_ccd(m, "agent_x", nums, ccd, 1);
	d = T0 + 1; /* dispatched when the batch starts */
	t1 = d + 1 * SEC;
	t2 = t1 + 2 * SEC;
	end = t2 + 5 * SEC;
	ck_assert_int_eq(sim_model_next_change(m), T0 + 1);
	sim_model_advance(m, t1 - 1);
	ck_assert(!conv_of(m, b, 0, &ref, &v));
	ck_assert_int_eq(sim_model_convs(m, &(struct sim_conv_ref *){NULL}), 0);
	ck_assert_int_eq(sim_model_next_change(m), end);

	sim_model_advance(m, t1);
	ck_assert(conv_of(m, b, 0, &ref, &v));
	ck_assert_int_eq(strncmp(v.conversation_id, "conv_", 5), 0);
	ck_assert_uint_eq(strlen(v.conversation_id), 33);
	ck_assert_int_eq(v.status, SIM_CONV_INITIATED);
	ck_assert_int_eq(v.start_us, t1);
	ck_assert_int_eq(v.accepted_us, -1);
	ck_assert(!v.ended);
	o = conv_json(m, &ref);
	keys = NULL;
	ck_assert_str_eq(jstr(o, "status"), "initiated");
	ck_assert(json_object_object_get_ex(o, "analysis", &keys) && keys == NULL);
	ck_assert_str_eq(jstr(o, "metadata.termination_reason"), "");
	ck_assert_ptr_null(jstr(o, "metadata.phone_call.call_result"));
	ck_assert_str_eq(jstr(o, "metadata.phone_call.type"), "twilio");
	ck_assert_str_eq(jstr(o, "metadata.phone_call.external_number"), "+14155550100");
	ck_assert_str_eq(jstr(o, "metadata.batch_call.batch_call_id"), bview(m, b).id);
	sim_recipient_view(m, b, 0, &rv);
	ck_assert_str_eq(jstr(o, "metadata.batch_call.batch_call_recipient_id"), rv.id);
	ck_assert_str_eq(jstr(o, "conversation_initiation_client_data.dynamic_variables.user_name"), "Alice");
	ck_assert_str_eq(jstr(o, "conversation_initiation_client_data.dynamic_variables.crm"), "7");
	ck_assert_str_eq(jstr(o, "conversation_initiation_client_data.dynamic_variables.system__conversation_id"),
			 v.conversation_id);
	{
		/* every key of the document, in its order */
		size_t i = 0;
		json_object_object_foreach(o, k, val)
		{
			(void)val;
			ck_assert_uint_lt(i, ARRAY_SIZE(top));
			ck_assert_str_eq(k, top[i]);
			i++;
		}
		ck_assert_uint_eq(i, ARRAY_SIZE(top));
	}
	json_object_put(o);

	sim_model_advance(m, t2 + 2 * SEC);
	sim_conv_view(m, &ref, &v);
	ck_assert_int_eq(v.status, SIM_CONV_IN_PROGRESS);
	ck_assert_int_eq(v.accepted_us, t2);
	ck_assert_int_eq(v.duration_secs, 2);
	o = conv_json(m, &ref);
	ck_assert_int_eq(json_object_array_length(json_object_object_get(o, "transcript")), 2); /* 0 s and 2 s */
	json_object_put(o);

	sim_model_advance(m, end);
	sim_conv_view(m, &ref, &v);
	ck_assert_int_eq(v.status, SIM_CONV_PROCESSING);
	ck_assert_int_eq(v.call_result, SIM_CALL_ANSWERED);
	ck_assert_int_eq(v.end_us, end);
	ck_assert_int_eq(v.duration_secs, 5);
	o = conv_json(m, &ref);
	ck_assert(json_object_object_get(o, "analysis") == NULL);
	ck_assert_str_eq(jstr(o, "metadata.phone_call.call_result"), "answered");
	ck_assert_str_eq(jstr(o, "has_audio"), "true");
	json_object_put(o);
	/* the event of the call's end: done after the processing time */
	ck_assert_uint_eq(sim_model_take_events(m, &ev), 1);
	ck_assert_int_eq(ev[0].kind, SIM_EV_TRANSCRIPT);
	ck_assert_int_eq(ev[0].due_us, end + 3 * SEC);
	ck_assert(ev[0].conv.batch_key == ref.batch_key && ev[0].conv.idx == ref.idx &&
		  ev[0].conv.attempt == ref.attempt);
	free(ev);
	ck_assert_uint_eq(sim_model_take_events(m, &ev), 0);

	sim_model_advance(m, end + 3 * SEC - 1);
	sim_conv_view(m, &ref, &v);
	ck_assert_int_eq(v.status, SIM_CONV_PROCESSING);
	sim_model_advance(m, end + 3 * SEC);
	sim_conv_view(m, &ref, &v);
	ck_assert_int_eq(v.status, SIM_CONV_DONE);
	ck_assert_int_eq(v.done_us, end + 3 * SEC);
	o = conv_json(m, &ref);
	ck_assert_str_eq(jstr(o, "status"), "done");
	ck_assert_str_eq(jstr(o, "analysis.call_successful"), "success");
	ck_assert_str_eq(jstr(o, "analysis.transcript_summary"), "Alice agreed to the proposal.");
	ck_assert_str_eq(jstr(o, "analysis.data_collection_results.customer_name.value"), "Alice");
	ck_assert_str_eq(jstr(o, "analysis.data_collection_results.decision.value"), "accept");
	ck_assert_str_eq(jstr(o, "analysis.evaluation_criteria_results.goal_achieved.result"), "success");
	ck_assert_str_eq(jstr(o, "analysis.evaluation_criteria_results.customer_reached.result"), "success");
	ck_assert_str_eq(jstr(o, "metadata.termination_reason"), "Call ended by remote party");
	ck_assert_int_eq(json_object_array_length(json_object_object_get(o, "transcript")), 3);
	json_object_put(o);

	/* unknown and made-up ids */
	ck_assert(!sim_model_find_conv(m, "conv_nope", &none));
	{
		char bad[40];
		snprintf(bad, sizeof(bad), "%s", v.conversation_id);
		bad[32] = bad[32] == 'a' ? 'b' : 'a';
		ck_assert(!sim_model_find_conv(m, bad, &none));
		snprintf(bad, sizeof(bad), "%s", v.conversation_id);
		bad[21] = '1'; /* another attempt, never made */
		ck_assert(!sim_model_find_conv(m, bad, &none));
	}
	sim_model_free(m);
}
END_TEST

START_TEST(test_conv_failures_retry_delete)
{
	struct sim_model *m = new_model();
	const char *nums[] = {"+14155550106", "+14155550108", "+14155550107"};
	struct sim_batch *b;
	struct sim_conv_ref r0, r1, r1b, r2;
	struct sim_conv_view v;
	struct sim_conv_event *ev;
	struct sim_conv_ref *all;
	char old[40], bid[40];
	int64_t t2 = T0 + 1 + 3 * SEC;
	size_t n;

	sim_model_set_events(m, true);
	b = submit_ccd(m, "agent_x", nums, NULL, 3);
	sim_model_advance(m, t2 - 1);
	ck_assert(conv_of(m, b, 0, &r0, &v));
	ck_assert_int_eq(v.status, SIM_CONV_INITIATED);
	sim_model_advance(m, t2);
	ck_assert(conv_of(m, b, 0, &r0, &v));
	ck_assert_int_eq(v.status, SIM_CONV_FAILED);
	ck_assert_int_eq(v.call_result, SIM_CALL_NO_ANSWER);
	ck_assert_int_eq(v.done_us, -1);
	ck_assert(conv_of(m, b, 1, &r1, &v));
	ck_assert_int_eq(v.status, SIM_CONV_FAILED);
	ck_assert_int_eq(v.call_result, SIM_CALL_BUSY);
	snprintf(old, sizeof(old), "%s", v.conversation_id);
	{
		json_object *o = conv_json(m, &r1);
		ck_assert(json_object_object_get(o, "analysis") == NULL);
		ck_assert_int_eq(json_object_array_length(json_object_object_get(o, "transcript")), 0);
		ck_assert_str_eq(jstr(o, "metadata.error.reason"), "busy");
		ck_assert_str_eq(jstr(o, "metadata.termination_reason"), "Busy");
		json_object_put(o);
	}
	/* failures are told at once, in the order found */
	n = sim_model_take_events(m, &ev);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(ev[0].kind, SIM_EV_FAILURE);
	ck_assert_int_eq(ev[0].due_us, t2);
	ck_assert_int_eq(ev[1].kind, SIM_EV_FAILURE);
	ck_assert_uint_eq(ev[1].conv.idx, 1);
	free(ev);

	sim_model_advance(m, t2 + 60 * SEC);
	ck_assert(conv_of(m, b, 2, &r2, &v));
	ck_assert_int_eq(v.status, SIM_CONV_DONE);
	ck_assert_int_eq(v.call_result, SIM_CALL_VOICEMAIL);
	{
		json_object *o = conv_json(m, &r2);
		ck_assert_str_eq(jstr(o, "analysis.call_successful"), "failure");
		ck_assert_str_eq(jstr(o, "analysis.transcript_summary"),
				 "The call reached voicemail; the agent left a message for the customer.");
		ck_assert(json_object_object_get(json_object_object_get(
			json_object_object_get(json_object_object_get(o, "analysis"), "data_collection_results"),
			"decision"), "value") == NULL);
		json_object_put(o);
	}
	ck_assert_uint_eq(sim_model_take_events(m, &ev), 1);
	free(ev);

	/* a retry: new conversations, the old ones stay */
	ck_assert_int_eq(sim_model_retry(m, b), 0);
	ck_assert(!conv_of(m, b, 1, &r1b, &v));
	ck_assert(sim_model_find_conv(m, old, &r1b));
	sim_conv_view(m, &r1b, &v);
	ck_assert_int_eq(v.status, SIM_CONV_FAILED);
	ck_assert_int_eq(v.attempt, 0);
	sim_model_advance(m, t2 + 120 * SEC);
	ck_assert(conv_of(m, b, 1, &r1b, &v));
	ck_assert_str_ne(v.conversation_id, old);
	ck_assert_int_eq(v.attempt, 1);
	ck_assert_int_eq(v.status, SIM_CONV_DONE);
	ck_assert_int_eq(v.call_result, SIM_CALL_ANSWERED);
	ck_assert_uint_eq(sim_model_convs(m, &all), 6); /* 3 first calls + 3 retried */
	free(all);

	/* delete: the batch goes, its conversations stay */
	snprintf(bid, sizeof(bid), "%s", bview(m, b).id);
	sim_model_delete(m, b);
	ck_assert_ptr_null(sim_model_find(m, bid));
	ck_assert(sim_model_find_conv(m, old, &r1b));
	sim_conv_view(m, &r1b, &v);
	ck_assert_str_eq(v.batch_id, bid);
	ck_assert_uint_eq(sim_model_convs(m, &all), 6);
	free(all);
	{
		int64_t end;
		ck_assert(sim_model_batch_ended(m, r1b.batch_key, &end));
	}
	sim_model_reset(m);
	ck_assert(!sim_model_find_conv(m, old, &r1b));
	sim_model_free(m);
}
END_TEST

START_TEST(test_conv_cancel)
{
	struct sim_model *m = new_model();
	const char *nums[] = {"+14155550100", "+14155550101", "+14155550102"};
	struct sim_batch *b;
	struct sim_conv_ref r0, r1;
	struct sim_conv_view v;
	struct sim_conv_event *ev;
	int64_t d = T0 + 1, cut;

	sim_model_set_events(m, true);
	b = submit_ccd(m, "agent_x", nums, NULL, 3);
	sim_model_advance(m, d + 4 * SEC);
	ck_assert(conv_of(m, b, 0, &r0, &v));
	ck_assert_int_eq(v.status, SIM_CONV_IN_PROGRESS);
	cut = sim_model_now(m);
	ck_assert_int_eq(sim_model_cancel(m, b), 0);
	sim_conv_view(m, &r0, &v);
	ck_assert_int_eq(v.status, SIM_CONV_PROCESSING);
	ck_assert(v.cancelled);
	ck_assert_int_eq(v.end_us, cut);
	ck_assert_int_eq(v.duration_secs, 1); /* answered at d + 3 s */
	ck_assert_uint_eq(sim_model_take_events(m, &ev), 3);
	ck_assert_int_eq(ev[0].kind, SIM_EV_TRANSCRIPT);
	ck_assert_int_eq(ev[0].due_us, cut + 3 * SEC);
	free(ev);
	sim_model_advance(m, cut + 3 * SEC);
	{
		json_object *o = conv_json(m, &r0);
		ck_assert_str_eq(jstr(o, "status"), "done");
		ck_assert_str_eq(jstr(o, "metadata.termination_reason"), "Call cancelled");
		ck_assert_str_eq(jstr(o, "analysis.transcript_summary"),
				 "The customer agreed to the proposal. The call was cut off by a cancel.");
		ck_assert_int_eq(json_object_array_length(json_object_object_get(o, "transcript")), 1);
		json_object_put(o);
	}
	(void)r1;

	/* cancelled while ringing: failed, and no event */
	m = (sim_model_free(m), new_model());
	sim_model_set_events(m, true);
	b = submit_ccd(m, "agent_x", nums, NULL, 1);
	sim_model_advance(m, d + 2 * SEC);
	ck_assert_int_eq(sim_model_cancel(m, b), 0);
	ck_assert(conv_of(m, b, 0, &r1, &v));
	ck_assert_int_eq(v.status, SIM_CONV_FAILED);
	ck_assert_int_eq(v.call_result, SIM_CALL_FAILED);
	ck_assert_uint_eq(sim_model_take_events(m, &ev), 0);
	/* cancelled before it was placed: no conversation at all */
	b = submit_ccd(m, "agent_x", nums, NULL, 1);
	sim_model_advance(m, sim_model_now(m) + 1);
	ck_assert_int_eq(sim_model_cancel(m, b), 0);
	ck_assert(!conv_of(m, b, 0, &r1, &v));
	sim_model_free(m);
}
END_TEST

START_TEST(test_analysis_rule)
{
	static const char *const want[10] = {"success", "success", "success", "success", "success",
					     "success", "failure", "failure", "unknown", "unknown"};
	char num[32];

	/* the second-to-last digit decides; the last digit is the outcome's */
	for (int tens = 0; tens < 10; tens++)
		for (int last = 0; last < 10; last++) {
			snprintf(num, sizeof(num), "+1415555%02d%d%d", 1, tens, last);
			ck_assert_str_eq(sim_verdict_str(sim_conv_verdict(num, NULL, false)), want[tens]);
		}
	ck_assert_int_eq(sim_conv_verdict("5", NULL, false), SIM_VERDICT_SUCCESS); /* no tens digit: 0 */
	ck_assert_int_eq(sim_conv_verdict("wa-16x1", NULL, false), SIM_VERDICT_FAILURE);
	ck_assert_int_eq(sim_conv_verdict("+14155550100", NULL, true), SIM_VERDICT_FAILURE); /* voicemail */
	/* the dynamic variable overrides everything */
	ck_assert_int_eq(sim_conv_verdict("+14155550180", "{\"dynamic_variables\":{\"sim_call_successful\":\"success\"}}",
					  false),
			 SIM_VERDICT_SUCCESS);
	ck_assert_int_eq(sim_conv_verdict("+14155550100", "{\"dynamic_variables\":{\"sim_call_successful\":\"unknown\"}}",
					  true),
			 SIM_VERDICT_UNKNOWN);
	/* anything else in it is ignored */
	ck_assert_int_eq(sim_conv_verdict("+14155550100", "{\"dynamic_variables\":{\"sim_call_successful\":\"error\"}}",
					  false),
			 SIM_VERDICT_SUCCESS);
	ck_assert_int_eq(sim_conv_verdict("+14155550100", "{\"dynamic_variables\":{\"sim_call_successful\":1}}", false),
			 SIM_VERDICT_SUCCESS);
	ck_assert_int_eq(sim_conv_verdict("+14155550100", "[1]", false), SIM_VERDICT_SUCCESS);
	ck_assert_int_eq(sim_verdict_filter_parse("error"), 3);
	ck_assert_int_eq(sim_verdict_filter_parse("Success"), -1);
}
END_TEST

static json_object *page(struct sim_model *m, const char *agent, int verdict, const char *cursor, size_t size)
{
	struct sim_conv_query q = {.agent_id = agent, .verdict = verdict, .cursor = cursor, .page_size = size,
				   .with_summary = true};
	struct sbuf out = {0};
	json_object *o;

	sim_render_conv_page(&out, m, &q);
	o = json_tokener_parse(out.s);
	ck_assert_msg(o != NULL, "not JSON: %s", out.s);
	sbuf_free(&out);
	return o;
}

START_TEST(test_conv_list)
{
	struct sim_model *m = new_model();
	const char *a[] = {"+14155550100", "+14155550160", "+14155550180", "+14155550106"};
	const char *bnums[] = {"+14155550101"};
	json_object *p, *convs;
	const char *next;
	char cur[64];

	submit_ccd(m, "agent_a", a, NULL, 4);
	sim_model_advance(m, sim_model_now(m) + 5 * SEC);
	submit_ccd(m, "agent_b", bnums, NULL, 1);
	sim_model_advance(m, sim_model_now(m) + 60 * SEC);

	p = page(m, NULL, -1, NULL, 30);
	convs = json_object_object_get(p, "conversations");
	ck_assert_int_eq(json_object_array_length(convs), 5);
	/* newest first: the later batch, then recipients 3, 2, 1, 0 (same start) */
	ck_assert_str_eq(jstr(json_object_array_get_idx(convs, 0), "agent_id"), "agent_b");
	ck_assert_str_eq(jstr(json_object_array_get_idx(convs, 1), "status"), "failed");
	ck_assert_str_eq(jstr(json_object_array_get_idx(convs, 1), "call_successful"), "unknown");
	ck_assert_str_eq(jstr(json_object_array_get_idx(convs, 2), "call_successful"), "unknown");
	ck_assert_str_eq(jstr(json_object_array_get_idx(convs, 3), "call_successful"), "failure");
	ck_assert_str_eq(jstr(json_object_array_get_idx(convs, 4), "call_successful"), "success");
	ck_assert_str_eq(jstr(json_object_array_get_idx(convs, 4), "transcript_summary"),
			 "The customer agreed to the proposal.");
	ck_assert_str_eq(jstr(json_object_array_get_idx(convs, 4), "message_count"), "3");
	ck_assert_ptr_null(jstr(p, "next_cursor"));
	ck_assert_str_eq(jstr(p, "has_more"), "false");
	json_object_put(p);

	/* pages of 2 */
	p = page(m, NULL, -1, NULL, 2);
	ck_assert_str_eq(jstr(p, "has_more"), "true");
	next = jstr(p, "next_cursor");
	snprintf(cur, sizeof(cur), "%s", next);
	json_object_put(p);
	p = page(m, NULL, -1, cur, 2);
	convs = json_object_object_get(p, "conversations");
	ck_assert_int_eq(json_object_array_length(convs), 2);
	ck_assert_str_eq(jstr(json_object_array_get_idx(convs, 0), "call_successful"), "unknown");
	ck_assert_str_eq(jstr(json_object_array_get_idx(convs, 0), "status"), "done");
	snprintf(cur, sizeof(cur), "%s", jstr(p, "next_cursor"));
	json_object_put(p);
	p = page(m, NULL, -1, cur, 2);
	ck_assert_int_eq(json_object_array_length(json_object_object_get(p, "conversations")), 1);
	ck_assert_str_eq(jstr(p, "has_more"), "false");
	json_object_put(p);

	/* filters */
	p = page(m, "agent_b", -1, NULL, 30);
	ck_assert_int_eq(json_object_array_length(json_object_object_get(p, "conversations")), 1);
	json_object_put(p);
	p = page(m, NULL, SIM_VERDICT_SUCCESS, NULL, 30);
	ck_assert_int_eq(json_object_array_length(json_object_object_get(p, "conversations")), 2);
	json_object_put(p);
	p = page(m, "agent_a", SIM_VERDICT_UNKNOWN, NULL, 30); /* the failed call has no verdict */
	ck_assert_int_eq(json_object_array_length(json_object_object_get(p, "conversations")), 1);
	json_object_put(p);
	p = page(m, NULL, 3, NULL, 30); /* "error": none */
	ck_assert_int_eq(json_object_array_length(json_object_object_get(p, "conversations")), 0);
	json_object_put(p);
	p = page(m, NULL, -1, "garbage", 30);
	ck_assert_int_eq(json_object_array_length(json_object_object_get(p, "conversations")), 0);
	ck_assert_str_eq(jstr(p, "has_more"), "false");
	json_object_put(p);
	sim_model_free(m);
}
END_TEST

/* --- webhooks ----------------------------------------------------------- */

struct hookrig {
	struct sim_model *m;
	struct sim_hooks *h;
	struct sim_batch *b;
};

static void rig_new(struct hookrig *r, const char *const *nums, size_t n, long long tcl)
{
	struct sim_params p;

	sim_params_default(&p, 1, 42);
	r->m = sim_model_new(&p);
	sim_model_advance(r->m, T0);
	r->h = sim_hooks_new(r->m, 42, 1);
	ck_assert_int_eq(sim_hooks_configure(r->h, "http://127.0.0.1:9/hook", "sec", SIM_HOOK_DEFAULT_EVENTS, true), 0);
	r->b = submit(r->m, "agent_x", tcl, nums, n);
}

static void rig_free(struct hookrig *r)
{
	sim_hooks_free(r->h);
	sim_model_free(r->m);
}

/* The delivery due at now, if any (the model advanced first). */
static bool rig_next(struct hookrig *r, int64_t now, struct sim_delivery *d, int64_t *wake)
{
	int64_t w;

	sim_model_advance(r->m, now);
	return sim_hooks_next(r->h, now, now, d, wake ? wake : &w);
}

/* Deliver everything due up to until, answering each with status; the
 * log of "event:attempt" words, in order. */
static void rig_run(struct hookrig *r, int64_t from, int64_t until, int status, char *log, size_t len)
{
	int64_t now = from, wake;
	struct sim_delivery d;

	for (;;) {
		if (rig_next(r, now, &d, &wake)) {
			size_t l = strlen(log);
			snprintf(log + l, len - l, "%s%s:%d", l ? " " : "", d.event, d.attempt);
			sim_hooks_done(r->h, d.id, status, status ? NULL : "refused", now, now);
			sim_delivery_clear(&d);
			continue;
		}
		if (wake > until)
			return;
		now = wake;
	}
}

static json_object *hooks_log(struct hookrig *r)
{
	struct sbuf out = {0};
	json_object *o;

	ck_assert_int_eq(sim_hooks_control(r->h, "webhooks", "GET", NULL, NULL, 0, &out), 200);
	o = json_tokener_parse(out.s);
	ck_assert_ptr_nonnull(o);
	sbuf_free(&out);
	return json_object_object_get(o, "deliveries") ? o : NULL;
}

START_TEST(test_hooks_deliveries)
{
	const char *nums[] = {"+14155550100", "+14155550106", "+14155550107"};
	struct hookrig r;
	struct sim_delivery d;
	int64_t wake, d0 = T0 + 1, t2 = d0 + 3 * SEC, end = t2 + 5 * SEC, done = end + 3 * SEC;
	char sig[SIM_SIG_HEADER_MAX];
	json_object *o;

	rig_new(&r, nums, 3, 0);
	/* nothing before the first call fails; then its failure event */
	ck_assert(!rig_next(&r, t2 - 1, &d, &wake));
	ck_assert_int_eq(wake, t2);
	ck_assert(rig_next(&r, t2, &d, &wake));
	ck_assert_str_eq(d.event, "call_initiation_failure");
	ck_assert_str_eq(d.url, "http://127.0.0.1:9/hook");
	ck_assert_int_eq(d.attempt, 1);
	sim_sign_header("sec", t2 / SEC, d.body, d.body_len, sig);
	ck_assert_str_eq(d.signature, sig);
	o = json_tokener_parse(d.body);
	ck_assert_str_eq(jstr(o, "type"), "call_initiation_failure");
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(o, "event_timestamp")), t2 / SEC);
	ck_assert_str_eq(jstr(o, "data.failure_reason"), "no-answer");
	ck_assert_str_eq(jstr(o, "data.metadata.type"), "twilio");
	ck_assert_str_eq(jstr(o, "data.conversation_id"), d.conversation_id);
	json_object_put(o);
	/* one at a time: nothing else while it is in flight */
	ck_assert(!rig_next(&r, done + 100 * SEC, &(struct sim_delivery){0}, &wake));
	ck_assert_int_eq(wake, INT64_MAX);
	sim_hooks_done(r.h, d.id, 200, NULL, t2, t2);
	sim_delivery_clear(&d);

	/* the two answered calls: transcriptions once done, in index order */
	ck_assert(!rig_next(&r, done - 1, &d, &wake));
	ck_assert_int_eq(wake, done);
	ck_assert(rig_next(&r, done, &d, &wake));
	ck_assert_str_eq(d.event, "post_call_transcription");
	o = json_tokener_parse(d.body);
	ck_assert_str_eq(jstr(o, "data.status"), "done");
	ck_assert_str_eq(jstr(o, "data.analysis.call_successful"), "success");
	ck_assert_ptr_null(jstr(o, "data.metadata.phone_call")); /* no agent_phone_number_id */
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(o, "event_timestamp")), done / SEC);
	json_object_put(o);
	{
		/* the data is the GET body, byte for byte */
		struct sim_conv_ref ref;
		struct sim_conv_view v;
		struct sbuf get = {0};
		char *want;
		ck_assert(sim_model_find_conv(r.m, d.conversation_id, &ref));
		sim_conv_view(r.m, &ref, &v);
		sim_render_conv(&get, &v, false);
		want = xasprintf("{\"type\":\"post_call_transcription\",\"event_timestamp\":%lld,\"data\":%s}",
				 (long long)(done / SEC), get.s);
		ck_assert_str_eq(d.body, want);
		free(want);
		sbuf_free(&get);
	}
	/* a 503: again after 30 s (+ up to 10 %), byte-identical, new t */
	sim_hooks_done(r.h, d.id, 503, NULL, done, done);
	{
		char *body = strdup(d.body);
		sim_delivery_clear(&d);
		ck_assert(rig_next(&r, done, &d, &wake)); /* meanwhile, the voicemail's */
		ck_assert_str_eq(d.event, "post_call_transcription");
		ck_assert_str_ne(d.body, body);
		sim_hooks_done(r.h, d.id, 200, NULL, done, done);
		sim_delivery_clear(&d);
		ck_assert(!rig_next(&r, done, &d, &wake));
		ck_assert_int_ge(wake, done + 30 * SEC);
		ck_assert_int_le(wake, done + 33 * SEC);
		ck_assert(rig_next(&r, wake, &d, NULL));
		ck_assert_int_eq(d.attempt, 2);
		ck_assert_str_eq(d.body, body);
		sim_sign_header("sec", wake / SEC, d.body, d.body_len, sig);
		ck_assert_str_eq(d.signature, sig);
		free(body);
	}
	/* no answer at all counts like a 5xx; the fifth attempt is the last */
	{
		int64_t now = wake, gaps[] = {120, 480, 1800};
		for (int k = 0; k < 3; k++) {
			sim_hooks_done(r.h, d.id, 0, "refused", now, now);
			sim_delivery_clear(&d);
			ck_assert(!rig_next(&r, now, &d, &wake));
			ck_assert_int_ge(wake - now, gaps[k] * SEC);
			ck_assert_int_le(wake - now, gaps[k] * SEC * 11 / 10);
			now = wake;
			ck_assert(rig_next(&r, now, &d, NULL));
			ck_assert_int_eq(d.attempt, 3 + k);
		}
		sim_hooks_done(r.h, d.id, 500, NULL, now, now);
		sim_delivery_clear(&d);
		ck_assert(!rig_next(&r, now + 86400 * SEC, &d, &wake));
		ck_assert_int_eq(wake, INT64_MAX);
	}
	o = hooks_log(&r);
	ck_assert_int_eq(json_object_array_length(json_object_object_get(o, "deliveries")), 7);
	json_object_put(o);
	rig_free(&r);
}
END_TEST

START_TEST(test_hooks_no_retry)
{
	const char *nums[] = {"+14155550100", "+14155550106"};
	struct hookrig r;
	char log[512] = "";

	/* a 4xx is final; failures are never retried */
	rig_new(&r, nums, 2, 0);
	rig_run(&r, T0, T0 + 3600 * SEC, 400, log, sizeof(log));
	ck_assert_str_eq(log, "call_initiation_failure:1 post_call_transcription:1");
	rig_free(&r);
	log[0] = '\0';
	rig_new(&r, nums, 2, 0);
	rig_run(&r, T0, T0 + 3600 * SEC, 503, log, sizeof(log));
	ck_assert_str_eq(log, "call_initiation_failure:1 post_call_transcription:1 post_call_transcription:2 "
			      "post_call_transcription:3 post_call_transcription:4 post_call_transcription:5");
	rig_free(&r);
	/* retries off */
	log[0] = '\0';
	rig_new(&r, nums, 2, 0);
	sim_hooks_configure(r.h, "http://127.0.0.1:9/hook", NULL, SIM_HOOK_TRANSCRIPT | SIM_HOOK_AUDIO, false);
	rig_run(&r, T0, T0 + 3600 * SEC, 503, log, sizeof(log));
	ck_assert_str_eq(log, "post_call_transcription:1 post_call_audio:1");
	rig_free(&r);
	/* a url needs a secret; bad urls are refused */
	{
		struct sim_params p;
		struct sim_model *m;
		struct sim_hooks *h;
		sim_params_default(&p, 1, 1);
		m = sim_model_new(&p);
		h = sim_hooks_new(m, 1, 1);
		ck_assert_int_eq(sim_hooks_configure(h, "http://x/", NULL, 0, true), -EINVAL);
		ck_assert_int_eq(sim_hooks_configure(h, "https://x/", "s", 0, true), -EINVAL);
		ck_assert_ptr_nonnull(sim_hooks_check_url("http://x:/"));
		ck_assert_ptr_nonnull(sim_hooks_check_url("http://x:70000/"));
		ck_assert_ptr_nonnull(sim_hooks_check_url("http:///p"));
		ck_assert_ptr_null(sim_hooks_check_url("http://[::1]:8080/hook?a=b"));
		ck_assert_ptr_null(sim_hooks_check_url("http://localhost"));
		ck_assert_uint_eq(sim_hooks_parse_events("transcript,audio"), SIM_HOOK_TRANSCRIPT | SIM_HOOK_AUDIO);
		ck_assert_uint_eq(sim_hooks_parse_events("transcript,nope"), 0);
		sim_hooks_free(h);
		sim_model_free(m);
	}
}
END_TEST

static void add_hook_fault(struct hookrig *r, const char *json)
{
	struct sbuf out = {0};

	ck_assert_int_eq(sim_hooks_control(r->h, "webhook-faults", "POST", NULL, json, strlen(json), &out), 200);
	sbuf_free(&out);
}

START_TEST(test_hooks_faults)
{
	const char *one[] = {"+14155550100"}, *two[] = {"+14155550100", "+14155550101"};
	struct hookrig r;
	struct sim_delivery d, d2;
	int64_t wake, done = T0 + 1 + 11 * SEC;
	char sig[SIM_SIG_HEADER_MAX], log[512] = "";
	json_object *o, *dl;

	/* duplicate: the same bytes and header twice */
	rig_new(&r, one, 1, 0);
	add_hook_fault(&r, "{\"kind\":\"duplicate\"}");
	ck_assert(rig_next(&r, done, &d, &wake));
	sim_hooks_done(r.h, d.id, 200, NULL, done, done);
	ck_assert(rig_next(&r, done + 5 * SEC, &d2, &wake));
	ck_assert_str_eq(d2.body, d.body);
	ck_assert_str_eq(d2.signature, d.signature);
	sim_hooks_done(r.h, d2.id, 200, NULL, done, done);
	ck_assert(!rig_next(&r, done + 86400 * SEC, &(struct sim_delivery){0}, &wake));
	o = hooks_log(&r);
	dl = json_object_object_get(o, "deliveries");
	ck_assert_int_eq(json_object_array_length(dl), 2);
	ck_assert_str_eq(jstr(json_object_array_get_idx(dl, 1), "duplicate"), "true");
	ck_assert_str_eq(jstr(json_object_array_get_idx(dl, 1), "fault"), "duplicate");
	json_object_put(o);
	sim_delivery_clear(&d);
	sim_delivery_clear(&d2);
	rig_free(&r);

	/* bad signature and stale timestamp */
	rig_new(&r, one, 1, 0);
	add_hook_fault(&r, "{\"kind\":\"bad_signature\"}");
	ck_assert(rig_next(&r, done, &d, &wake));
	sim_sign_header("sec", done / SEC, d.body, d.body_len, sig);
	ck_assert_str_ne(d.signature, sig);
	ck_assert_int_eq(strncmp(d.signature, sig, 13), 0); /* same t */
	sim_delivery_clear(&d);
	rig_free(&r);
	rig_new(&r, one, 1, 0);
	add_hook_fault(&r, "{\"kind\":\"stale_timestamp\",\"event\":\"post_call_transcription\"}");
	ck_assert(rig_next(&r, done, &d, &wake));
	sim_sign_header("sec", done / SEC - SIM_HOOK_STALE_SECS, d.body, d.body_len, sig);
	ck_assert_str_eq(d.signature, sig);
	sim_delivery_clear(&d);
	rig_free(&r);

	/* drop: logged, never sent */
	rig_new(&r, one, 1, 0);
	add_hook_fault(&r, "{\"kind\":\"drop\"}");
	ck_assert(!rig_next(&r, done + 3600 * SEC, &d, &wake));
	o = hooks_log(&r);
	dl = json_object_object_get(o, "deliveries");
	ck_assert_int_eq(json_object_array_length(dl), 1);
	ck_assert_str_eq(jstr(json_object_array_get_idx(dl, 0), "fault"), "drop");
	ck_assert_ptr_null(jstr(json_object_array_get_idx(dl, 0), "status"));
	json_object_put(o);
	rig_free(&r);

	/* late: after the batch ended, plus the delay; one line, so the
	 * second call's event (due at 19 s) goes first */
	rig_new(&r, two, 2, 1);
	add_hook_fault(&r, "{\"kind\":\"late\",\"delay_secs\":5}");
	ck_assert(!rig_next(&r, done, &d, &wake));
	ck_assert(rig_next(&r, done + 8 * SEC, &d, &wake));
	{
		char second[40];
		snprintf(second, sizeof(second), "%s", d.conversation_id);
		o = json_tokener_parse(d.body);
		ck_assert_int_eq(json_object_get_int64(json_object_object_get(o, "event_timestamp")),
				 (done + 8 * SEC) / SEC);
		json_object_put(o);
		sim_hooks_done(r.h, d.id, 200, NULL, done + 8 * SEC, done + 8 * SEC);
		sim_delivery_clear(&d);
		ck_assert(!rig_next(&r, done + 8 * SEC, &d, &wake));
		ck_assert_int_eq(wake, T0 + 1 + 16 * SEC + 5 * SEC); /* the batch ended at 16 s */
		ck_assert(rig_next(&r, wake, &d, &wake));
		ck_assert_str_ne(d.conversation_id, second);
		o = json_tokener_parse(d.body);
		/* event_timestamp is its first send (and the signature's t) */
		ck_assert_int_eq(json_object_get_int64(json_object_object_get(o, "event_timestamp")),
				 (T0 + 1 + 21 * SEC) / SEC);
		json_object_put(o);
		sim_delivery_clear(&d);
	}
	rig_free(&r);

	/* out_of_order: held until the next one was sent */
	rig_new(&r, two, 2, 1);
	add_hook_fault(&r, "{\"kind\":\"out_of_order\"}");
	rig_run(&r, T0, T0 + 3600 * SEC, 200, log, sizeof(log));
	o = hooks_log(&r);
	dl = json_object_object_get(o, "deliveries");
	ck_assert_int_eq(json_object_array_length(dl), 2);
	{
		/* the second recipient's event first, then the held one */
		struct sim_rcp_view r0, r1;
		sim_recipient_view(r.m, r.b, 0, &r0);
		sim_recipient_view(r.m, r.b, 1, &r1);
		ck_assert_str_eq(jstr(json_object_array_get_idx(dl, 0), "conversation_id"), r1.conversation_id);
		ck_assert_str_eq(jstr(json_object_array_get_idx(dl, 1), "conversation_id"), r0.conversation_id);
	}
	ck_assert_ptr_null(jstr(json_object_array_get_idx(dl, 0), "fault"));
	ck_assert_str_eq(jstr(json_object_array_get_idx(dl, 1), "fault"), "out_of_order");
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(json_object_array_get_idx(dl, 0), "sim_time_us")),
			 done + 8 * SEC);
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(json_object_array_get_idx(dl, 1), "sim_time_us")),
			 done + 8 * SEC);
	json_object_put(o);
	rig_free(&r);
}
END_TEST

START_TEST(test_hooks_deterministic)
{
	const char *nums[] = {"+14155550100", "+14155550101", "+14155550106", "+14155550107", "+14155550109"};
	char a[2048] = "", b[2048] = "";

	/* the same faults with probability, twice: the same deliveries */
	for (int run = 0; run < 2; run++) {
		struct hookrig r;
		struct sbuf out = {0};
		json_object *o, *dl;
		char *log = run ? b : a;
		rig_new(&r, nums, 5, 2);
		add_hook_fault(&r, "{\"kind\":\"duplicate\",\"count\":-1,\"probability\":0.5}");
		rig_run(&r, T0, T0 + 7200 * SEC, 503, log, 2048);
		o = hooks_log(&r);
		dl = json_object_object_get(o, "deliveries");
		for (size_t i = 0; i < json_object_array_length(dl); i++) {
			json_object *e = json_object_array_get_idx(dl, i);
			sbuf_addf(&out, " %s/%s", jstr(e, "conversation_id"), jstr(e, "sim_time_us"));
		}
		snprintf(log + strlen(log), 2048 - strlen(log), "%s", out.s ? out.s : "");
		sbuf_free(&out);
		json_object_put(o);
		rig_free(&r);
	}
	ck_assert_str_eq(a, b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sim_model");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_params_speed);
	tcase_add_test(tc, test_outcome_rule);
	tcase_add_test(tc, test_lifecycle_phases);
	tcase_add_test(tc, test_durations_per_digit);
	tcase_add_test(tc, test_concurrency_cap_every_instant);
	tcase_add_test(tc, test_default_cap_and_total_time);
	tcase_add_test(tc, test_scheduled_start);
	tcase_add_test(tc, test_agent_failure);
	tcase_add_test(tc, test_empty_batch);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_retry);
	tcase_add_test(tc, test_retry_nothing);
	tcase_add_test(tc, test_ids);
	tcase_add_test(tc, test_list_pages);
	tcase_add_test(tc, test_clock_never_goes_back);
	tcase_add_test(tc, test_signature);
	tcase_add_test(tc, test_conv_life);
	tcase_add_test(tc, test_conv_failures_retry_delete);
	tcase_add_test(tc, test_conv_cancel);
	tcase_add_test(tc, test_analysis_rule);
	tcase_add_test(tc, test_conv_list);
	tcase_add_test(tc, test_hooks_deliveries);
	tcase_add_test(tc, test_hooks_no_retry);
	tcase_add_test(tc, test_hooks_faults);
	tcase_add_test(tc, test_hooks_deterministic);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
