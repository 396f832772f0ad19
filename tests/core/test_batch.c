/*
 * test_batch: the wire names of the batch and recipient statuses (both
 * ways, unknown strings to *_UNKNOWN), which statuses are terminal, and
 * the destructors (NULL accepted, a filled value left zeroed).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "util.h"

/* --- status names ------------------------------------------------------ */

START_TEST(test_status_names)
{
	static const char *const batch[] = { "pending", "in_progress", "completed", "failed", "cancelled" };
	static const char *const rcpt[] = { "pending",   "dispatched", "initiated", "in_progress",
					    "completed", "failed",     "cancelled", "voicemail" };

	for (int i = 0; i < BATCH_UNKNOWN; i++) {
		ck_assert_str_eq(batch_status_name((enum batch_status)i), batch[i]);
		ck_assert_int_eq(batch_status_from_name(batch[i]), i);
	}
	for (int i = 0; i < BATCH_RCPT_UNKNOWN; i++) {
		ck_assert_str_eq(batch_rcpt_status_name((enum batch_rcpt_status)i), rcpt[i]);
		ck_assert_int_eq(batch_rcpt_status_from_name(rcpt[i]), i);
	}
	ck_assert_str_eq(batch_status_name(BATCH_UNKNOWN), "unknown");
	ck_assert_str_eq(batch_status_name((enum batch_status)99), "unknown");
	ck_assert_str_eq(batch_rcpt_status_name(BATCH_RCPT_UNKNOWN), "unknown");
	ck_assert_str_eq(batch_rcpt_status_name((enum batch_rcpt_status)-1), "unknown");
	ck_assert_int_eq(batch_status_from_name("paused"), BATCH_UNKNOWN);
	ck_assert_int_eq(batch_status_from_name("Pending"), BATCH_UNKNOWN);
	ck_assert_int_eq(batch_status_from_name("unknown"), BATCH_UNKNOWN);
	ck_assert_int_eq(batch_status_from_name(""), BATCH_UNKNOWN);
	ck_assert_int_eq(batch_status_from_name(NULL), BATCH_UNKNOWN);
	ck_assert_int_eq(batch_status_from_name("voicemail"), BATCH_UNKNOWN);
	ck_assert_int_eq(batch_rcpt_status_from_name("ringing"), BATCH_RCPT_UNKNOWN);
	ck_assert_int_eq(batch_rcpt_status_from_name(NULL), BATCH_RCPT_UNKNOWN);

	ck_assert(!batch_status_terminal(BATCH_PENDING));
	ck_assert(!batch_status_terminal(BATCH_IN_PROGRESS));
	ck_assert(batch_status_terminal(BATCH_COMPLETED));
	ck_assert(batch_status_terminal(BATCH_FAILED));
	ck_assert(batch_status_terminal(BATCH_CANCELLED));
	ck_assert(!batch_status_terminal(BATCH_UNKNOWN));
}
END_TEST

/* --- destructors ------------------------------------------------------- */

START_TEST(test_clear)
{
	struct batch b = { .id = xstrdup("btcal_1"), .name = xstrdup("n"), .agent_id = xstrdup("a"),
			   .status = BATCH_FAILED, .retry_count = 3 };
	struct batch_detail d = { 0 };
	struct batch_page p = { 0 };

	batch_clear(NULL);
	batch_detail_clear(NULL);
	batch_page_clear(NULL);

	batch_clear(&b);
	ck_assert_ptr_null(b.id);
	ck_assert_ptr_null(b.name);
	ck_assert_ptr_null(b.agent_id);
	ck_assert_int_eq(b.status, BATCH_PENDING);
	ck_assert_int_eq(b.retry_count, 0);

	d.batch.id = xstrdup("btcal_2");
	d.n_rcpts = 2;
	d.rcpts = xcalloc(2, sizeof(*d.rcpts));
	d.rcpts[0].id = xstrdup("r0");
	d.rcpts[0].phone_number = xstrdup("+15550100");
	d.rcpts[1].id = xstrdup("r1");
	d.rcpts[1].conversation_id = xstrdup("conv");
	d.counts[BATCH_RCPT_FAILED] = 2;
	batch_detail_clear(&d);
	ck_assert_ptr_null(d.batch.id);
	ck_assert_ptr_null(d.rcpts);
	ck_assert_uint_eq(d.n_rcpts, 0);
	ck_assert_uint_eq(d.counts[BATCH_RCPT_FAILED], 0);

	p.n_batches = 1;
	p.batches = xcalloc(1, sizeof(*p.batches));
	p.batches[0].id = xstrdup("btcal_3");
	p.next_doc = xstrdup("doc");
	p.has_more = true;
	batch_page_clear(&p);
	ck_assert_ptr_null(p.batches);
	ck_assert_ptr_null(p.next_doc);
	ck_assert(!p.has_more);
	/* twice: a cleared value is a valid empty one */
	batch_page_clear(&p);
	ck_assert_uint_eq(p.n_batches, 0);
}
END_TEST

static Suite *batch_suite(void)
{
	Suite *s = suite_create("batch");
	TCase *tc = tcase_create("batch");

	tcase_add_test(tc, test_status_names);
	tcase_add_test(tc, test_clear);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(batch_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
