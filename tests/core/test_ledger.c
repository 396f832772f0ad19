/*
 * test_ledger: the contact ledger of the frequency caps. Keys (numbers,
 * WhatsApp ids, an id of a number's digits), the verdict and its first
 * allowed instant against a plain model over every small history (count
 * limit, spacing, per agent, an attempt's own contacts), the same contact
 * twice, the tail merged into the array across its size, expiry, and the
 * file's lines: written, read back, malformed ones at FILE:LINE, a last
 * line cut short.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"

START_TEST(test_keys)
{
	ck_assert_uint_eq(ledger_key("+15550100001"), ledger_key("15550100001"));
	ck_assert_uint_ne(ledger_key("+15550100001"), ledger_key("+015550100001"));
	ck_assert_uint_ne(ledger_key("+15550100001"), ledger_key("+15550100002"));
	ck_assert_uint_ne(ledger_key("wa-9"), ledger_key("wa-8"));
	ck_assert_uint_eq(ledger_key("wa-9"), ledger_key("wa-9"));
	/* an id is never a number's key: the top bit tells them apart */
	ck_assert(ledger_key("wa-9") >> 63);
	ck_assert(!(ledger_key("+999999999999999") >> 63));
	/* 7 digits and a leading 0 are ids, not numbers */
	ck_assert(ledger_key("1234567") >> 63);
	ck_assert(ledger_key("0123456789") >> 63);
	ck_assert_uint_ne(ledger_tag("job@1000", 0), ledger_tag("job@1000", 1));
	ck_assert_uint_ne(ledger_tag("job@1000", 0), ledger_tag("job@1001", 0));
}
END_TEST

/* The model: a list of (at, agent, tag) contacts of one person. */
struct mc {
	int64_t at;
	uint32_t agent;
	uint64_t tag;
};

static bool model_over(const struct mc *v, size_t n, const struct contact_limits *lim, uint32_t agent, int64_t now,
		       uint64_t tag)
{
	size_t in_window = 0;
	int64_t last = INT64_MIN;

	for (size_t i = 0; i < n; i++) {
		if (v[i].tag == tag || (lim->per_agent && v[i].agent != agent))
			continue;
		if (lim->max_calls > 0 && v[i].at > now - lim->window_s)
			in_window++;
		if (v[i].at > last)
			last = v[i].at;
	}
	if (lim->max_calls > 0 && in_window >= (size_t)lim->max_calls)
		return true;
	return lim->min_gap_s > 0 && last != INT64_MIN && now - last < lim->min_gap_s;
}

/* Every history of up to 3 contacts at instants 0..4 (agents 0/1, tags
 * 0/1, the same tag twice one contact at its later instant), every limit of a small space, every
 * instant of a call: the verdict agrees with the model, and the allowed
 * instant is allowed in the model while the second before it is not. */
START_TEST(test_against_model)
{
	static const struct contact_limits lims[] = {
		{ 1, 3, 0, false, false }, { 2, 3, 0, false, false }, { 2, 4, 1, false, false }, { 0, 0, 2, false, false },
		{ 3, 5, 0, true, false },  { 2, 2, 3, true, false },  { 1, 1, 1, false, false }, { 0, 0, 0, false, false },
	};
	unsigned long checked = 0;

	for (size_t li = 0; li < sizeof(lims) / sizeof(lims[0]); li++) {
		const struct contact_limits *lim = &lims[li];
		for (int len = 0; len <= 3; len++) {
			/* each contact: at 0..4, agent 0..1, tag 0..1: 20 choices
			 * (a tag twice is the same attempt again) */
			int total = 1;
			for (int i = 0; i < len; i++)
				total *= 20;
			for (int code = 0; code < total; code++) {
				struct ledger l = { 0 };
				struct mc m[4];
				size_t nm = 0;
				uint32_t ag[2];
				int c = code;
				ag[0] = ledger_agent(&l, "agent_a");
				ag[1] = ledger_agent(&l, "agent_b");
				for (int i = 0; i < len; i++, c /= 20) {
					int64_t at = c % 5;
					uint32_t agent = (uint32_t)(c / 5 % 2);
					uint64_t tag = (uint64_t)(c / 10 % 2);
					struct mc *dup = NULL;
					for (size_t j = 0; j < nm; j++)
						if (m[j].tag == tag)
							dup = &m[j];
					/* the same attempt again: moved to the later instant */
					ck_assert(ledger_add(&l, 77, ag[agent], at, tag, NULL) == (!dup || at > dup->at));
					if (!dup)
						m[nm++] = (struct mc){ at, ag[agent], tag };
					else if (at > dup->at)
						dup->at = at;
				}
				/* another person's contact counts for nobody else */
				ledger_add(&l, 78, ag[0], 5, 9, NULL);
				for (int64_t now = 0; now <= 9; now++)
					for (uint32_t agent = 0; agent < 2; agent++)
						for (uint64_t tag = 0; tag <= 3; tag += 3) {
							int64_t allowed = -1;
							bool over = ledger_check(&l, lim, 77, ag[agent], now, tag,
										 &allowed) == LEDGER_OVER;
							ck_assert_int_eq(over, model_over(m, nm, lim, ag[agent], now, tag));
							if (over) {
								ck_assert_int_gt(allowed, now);
								ck_assert(!model_over(m, nm, lim, ag[agent], allowed, tag));
								ck_assert(model_over(m, nm, lim, ag[agent], allowed - 1, tag));
							}
							checked++;
						}
				ledger_clear(&l);
			}
		}
	}
	ck_assert_uint_gt(checked, 100000);
}
END_TEST

/* Many people, more additions than the tail holds, in no order: every
 * contact is found, the array stays sorted, the same contact again is not
 * added; expiry drops exactly the old ones. */
START_TEST(test_tail_and_expiry)
{
	struct ledger l = { 0 };
	struct contact_limits lim = { .max_calls = 1, .window_s = 1000 };
	uint32_t a = ledger_agent(&l, "a");
	size_t n = 3 * LEDGER_TAIL + 17;
	uint64_t x = 12345;

	for (size_t i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		ck_assert(ledger_add(&l, 1000 + i, a, (int64_t)(x >> 40) % 500, i, NULL));
	}
	ck_assert_uint_eq(ledger_size(&l), n);
	for (size_t i = 0; i < n; i += 7) {
		ck_assert(!ledger_add(&l, 1000 + i, a, 0, i, NULL));
		ck_assert_int_eq(ledger_check(&l, &lim, 1000 + i, a, 600, i + 1, NULL), LEDGER_OVER);
		ck_assert_int_eq(ledger_check(&l, &lim, 1000 + i, a, 600, i, NULL), LEDGER_ALLOWED);
	}
	ck_assert_int_eq(ledger_check(&l, &lim, 999, a, 600, 0, NULL), LEDGER_ALLOWED);
	for (size_t i = 1; i < l.n; i++)
		ck_assert(l.v[i - 1].key <= l.v[i].key);
	{
		size_t old = 0, dropped;
		for (size_t i = 0; i < l.n; i++)
			old += l.v[i].at <= 250;
		for (size_t i = 0; i < l.nt; i++)
			old += l.t[i].at <= 250;
		dropped = ledger_expire(&l, 250);
		ck_assert_uint_eq(dropped, old);
		ck_assert_uint_eq(ledger_size(&l), n - old);
		for (size_t i = 0; i < l.n; i++)
			ck_assert_uint_gt(l.v[i].at, 250);
	}
	ledger_clear(&l);
}
END_TEST

START_TEST(test_horizon)
{
	ck_assert_int_eq(ledger_horizon(&(struct contact_limits){ 3, 604800, 86400, false, false }), 604800);
	ck_assert_int_eq(ledger_horizon(&(struct contact_limits){ 3, 3600, 86400, false, false }), 86400);
	ck_assert_int_eq(ledger_horizon(&(struct contact_limits){ 0, 604800, 0, false, false }), 0);
}
END_TEST

START_TEST(test_file_lines)
{
	char buf[256], *text;
	struct ledger l = { 0 };
	struct diag d = { 0 };
	struct contact_limits lim = { .max_calls = 1, .window_s = 100 };
	size_t torn, len;

	len = ledger_format(buf, sizeof(buf), 1765000000, "+15550100001", "agent_x", 0x0123456789abcdefULL);
	ck_assert_str_eq(buf, "1765000000,+15550100001,agent_x,0123456789abcdef\n");
	ck_assert_uint_eq(len, strlen(buf));
	ledger_format(buf, sizeof(buf), 5, "wa 9,", "a,b\"c%d e", 1);
	ck_assert_str_eq(buf, "5,wa%209%2C,a%2Cb%22c%25d%20e,0000000000000001\n");
	/* cut short: the length it wanted */
	ck_assert_uint_eq(ledger_format(buf, 10, 5, "+15550100001", "a", 1), 34);
	ck_assert_uint_eq(strlen(buf), 9);

	text = xasprintf("1765000000,+15550100001,agent_x,0123456789abcdef\n"
			 "1765000001,15550100002,a%%2Cb,0000000000000001\r\n"
			 "\n"
			 "x,+15550100003,a,0000000000000001\n"
			 "1765000002,+15550100003,a\n"
			 "1765000002,+15550100003,a,00000000000000g1\n"
			 "1765000002,,a,0000000000000001\n"
			 "1765000002,+15550100003,a%%2,0000000000000001\n"
			 " 1765000002,+15550100003,,0000000000000001\n"
			 "1765000003,+15550100004,a,000000000000000");
	ck_assert_int_eq(ledger_parse(&l, "c.csv", text, strlen(text), &d, &torn), -EINVAL);
	ck_assert_uint_eq(torn, strlen(text) - strlen("1765000003,+15550100004,a,000000000000000"));
	ck_assert_uint_eq(d.n, 6);
	{
		static const char *want[] = {
			"c.csv:4: the time is not a number of seconds",
			"c.csv:5: not four fields AT,TARGET,AGENT,TAG",
			"c.csv:6: the tag is not 16 hex digits",
			"c.csv:7: the target is empty",
			"c.csv:8: a '%' in the agent not followed by two hex digits",
			"c.csv:9: the time is not a number of seconds",
		};
		for (size_t i = 0; i < d.n; i++) {
			char *f = diag_format(&d, i);
			ck_assert_str_eq(f, want[i]);
			free(f);
		}
	}
	ck_assert_uint_eq(ledger_size(&l), 2);
	ck_assert_uint_eq(l.n_agents, 2);
	ck_assert_str_eq(l.agents[1], "a,b");
	ck_assert_int_eq(ledger_check(&l, &lim, ledger_key("+15550100001"), 0, 1765000050, 0, NULL), LEDGER_OVER);
	ck_assert_int_eq(ledger_check(&l, &lim, ledger_key("+15550100002"), 1, 1765000050, 0, NULL), LEDGER_OVER);
	ck_assert_int_eq(ledger_check(&l, &lim, ledger_key("+15550100004"), 1, 1765000050, 0, NULL), LEDGER_ALLOWED);
	diag_clear(&d);
	ledger_clear(&l);
	free(text);

	/* the same contact twice in a file, and one l held already: once
	 * each, the first instant kept; the array sorted */
	{
		const char *t2 = "10,+15550100001,a,0000000000000001\n"
				 "5,+15550100002,a,0000000000000001\n"
				 "12,+15550100001,a,0000000000000001\n"
				 "11,+15550100001,a,0000000000000002\n";
		ledger_add(&l, ledger_key("+15550100002"), ledger_agent(&l, "a"), 3, 1, NULL);
		ledger_add(&l, ledger_key("+15550100003"), ledger_agent(&l, "a"), 3, 1, NULL);
		ck_assert_int_eq(ledger_parse(&l, "c.csv", t2, strlen(t2), &d, &torn), 0);
		ck_assert_uint_eq(ledger_size(&l), 4);
		ck_assert_uint_eq(l.nt, 0);
		for (size_t i = 1; i < l.n; i++)
			ck_assert(l.v[i - 1].key <= l.v[i].key);
		/* 0001's first attempt at its latest line, 12; 0002's at 5 */
		for (size_t i = 0; i < l.n; i++) {
			if (l.v[i].key == ledger_key("+15550100001") && l.v[i].tag == 1)
				ck_assert_uint_eq(l.v[i].at, 12);
			if (l.v[i].key == ledger_key("+15550100002"))
				ck_assert_uint_eq(l.v[i].at, 5);
		}
		ck_assert(!ledger_add(&l, ledger_key("+15550100001"), 0, 11, 2, NULL));
		ck_assert(ledger_add(&l, ledger_key("+15550100001"), 0, 99, 2, NULL));
		ledger_clear(&l);
	}
	/* a line written is a line read back */
	{
		char line[256];
		size_t n = ledger_format(line, sizeof(line), 42, "x y", "ag\x01%", 0xfeULL);
		ck_assert_int_eq(ledger_parse(&l, "c.csv", line, n, &d, &torn), 0);
		ck_assert_uint_eq(torn, n);
		ck_assert_uint_eq(ledger_size(&l), 1);
		ck_assert_str_eq(l.agents[0], "ag\x01%");
		ck_assert_uint_eq(l.n, 1); /* (a file's lines join the array at once) */
		ck_assert_uint_eq(l.v[0].key, ledger_key("x y"));
		ck_assert_uint_eq(l.v[0].tag, 0xfe);
		ck_assert_uint_eq(l.v[0].at, 42);
		ledger_clear(&l);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ledger");
	TCase *tc = tcase_create("ledger");
	SRunner *sr;
	int failed;

	/* (a sanitizer build on a loaded machine is slow: the model check is
	 * hundreds of thousands of histories) */
	tcase_set_timeout(tc, 900);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_against_model);
	tcase_add_test(tc, test_tail_and_expiry);
	tcase_add_test(tc, test_horizon);
	tcase_add_test(tc, test_file_lines);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
