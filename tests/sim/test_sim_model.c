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

#include "sim_model.h"

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
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
