/*
 * test_suppress: do-not-call lists. The normal form (every separator, the
 * limits of E.164, WhatsApp ids), both list formats with each malformed
 * line reported at its FILE:LINE, the set (merging lists, repeats, runtime
 * additions at their place, against a model over every key of a small
 * space), the filter of a submit, the warnings of check and the masking
 * of numbers in the journal.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"
#include "suppress.h"

static void must_parse(struct suppress_set *s, const char *file, const char *text)
{
	struct diag d = { 0 };
	int r = suppress_parse(s, file, text, strlen(text), &d);

	for (size_t i = 0; i < d.n; i++) {
		char *l = diag_format(&d, i);
		fprintf(stderr, "unexpected: %s\n", l);
		free(l);
	}
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(d.n, 0);
	diag_clear(&d);
}

/* The errors of parsing text, one "LINE: message" a line. */
static char *errors_of(const char *text)
{
	struct suppress_set s = { 0 };
	struct diag d = { 0 };
	char *out = xstrdup("");
	int r = suppress_parse(&s, "l.txt", text, strlen(text), &d);

	ck_assert_int_eq(r, d.n ? -EINVAL : 0);
	for (size_t i = 0; i < d.n; i++) {
		char *l = diag_format(&d, i), *o = xasprintf("%s%s\n", out, l);
		free(l);
		free(out);
		out = o;
	}
	diag_clear(&d);
	suppress_clear(&s);
	return out;
}

static const char *norm(const char *in, bool wa)
{
	static char buf[SUPPRESS_NORMAL_MAX];
	const char *why = NULL;

	if (suppress_normalize(in, strlen(in), wa, buf, &why) < 0) {
		ck_assert_ptr_nonnull(why);
		return NULL;
	}
	return buf;
}

START_TEST(test_normalize)
{
	ck_assert_str_eq(norm("+15550100001", false), "+15550100001");
	ck_assert_str_eq(norm("  +1 (555) 010-0001 ", false), "+15550100001");
	ck_assert_str_eq(norm("+44.20.7946.0000", false), "+442079460000");
	ck_assert_str_eq(norm("+12345678", false), "+12345678");               /* 8 digits */
	ck_assert_str_eq(norm("+123456789012345", false), "+123456789012345"); /* 15 */
	ck_assert_ptr_null(norm("+1234567", false));                           /* 7 */
	ck_assert_ptr_null(norm("+1234567890123456", false));                  /* 16 */
	ck_assert_ptr_null(norm("15550100001", false));                        /* no '+' */
	ck_assert_ptr_null(norm("+1555010000x", false));
	ck_assert_ptr_null(norm("+1555/0100001", false));
	ck_assert_ptr_null(norm("++15550100001", false));
	ck_assert_ptr_null(norm("", false));
	ck_assert_ptr_null(norm("   ", false));
	ck_assert_ptr_null(norm("+", false));
	/* a trunk "(0)" may be a digit (Italy) or not (UK): one target
	 * must be written in E.164 (a list takes both, test_csv_list); no
	 * country code begins with 0 */
	ck_assert_ptr_null(norm("+44 (0)20 7946 0000", false));
	ck_assert_ptr_null(norm("+44(0)2079460000", false));
	ck_assert_ptr_null(norm("+(0)442079460000", false));
	ck_assert_ptr_null(norm("+0442079460000", false));
	ck_assert_str_eq(norm("+1 (055) 010-0001", false), "+10550100001"); /* a "(0" that is more */
	ck_assert_str_eq(norm("whatsapp:wa-123", false), "whatsapp:wa-123");
	ck_assert_str_eq(norm("whatsapp: 15550100001 ", false), "whatsapp:15550100001");
	ck_assert_str_eq(norm("15550100001", true), "whatsapp:15550100001");
	ck_assert_str_eq(norm(" +15550100001", true), "whatsapp:+15550100001");
	ck_assert_ptr_null(norm("whatsapp:", false));
	ck_assert_ptr_null(norm("whatsapp:a b", false));
	ck_assert_ptr_null(norm("a,b", true));
	ck_assert_ptr_null(norm("a\"b", true));
	ck_assert_ptr_null(norm("a\x01", true));
	{
		char id[SUPPRESS_ID_MAX + 2];
		memset(id, 'x', sizeof(id) - 1);
		id[SUPPRESS_ID_MAX + 1] = '\0';
		ck_assert_ptr_null(norm(id, true));
		id[SUPPRESS_ID_MAX] = '\0';
		ck_assert_ptr_nonnull(norm(id, true));
	}
}
END_TEST

START_TEST(test_plain_list)
{
	struct suppress_set s = { 0 };
	struct suppress_hit h;

	must_parse(&s, "dnc.txt",
		   "\xef\xbb\xbf# do not call\r\n"
		   "+15550100001\r\n"
		   "\n"
		   "   # indented comment\n"
		   "+1 555 010 0002   # asked on 2026-12-01\n"
		   "whatsapp:wa-7\n"
		   "+15550100001\n" /* again: the first place is kept */
		   "\t+15550100003"); /* no final newline */
	suppress_seal(&s);
	ck_assert_uint_eq(suppress_size(&s), 4);
	ck_assert(suppress_find(&s, "+15550100001", NULL, &h));
	ck_assert_str_eq(h.file, "dnc.txt");
	ck_assert_int_eq(h.line, 2);
	ck_assert(suppress_find(&s, "+15550100002", NULL, &h));
	ck_assert_int_eq(h.line, 5);
	ck_assert(suppress_find(&s, "+15550100003", NULL, &h));
	ck_assert_int_eq(h.line, 8);
	ck_assert(suppress_find(&s, NULL, "wa-7", &h));
	ck_assert_int_eq(h.line, 6);
	ck_assert(!suppress_find(&s, "+15550100004", NULL, NULL));
	ck_assert(!suppress_find(&s, NULL, "wa-8", NULL));
	ck_assert(suppress_find(&s, NULL, "+15550100001", NULL)); /* an id of a number's digits is that number */
	ck_assert(!suppress_find(&s, NULL, NULL, NULL));
	ck_assert(suppress_find_key(&s, "+15550100002", NULL));
	ck_assert(suppress_find_key(&s, "wa-7", NULL));
	ck_assert(suppress_find_key(&s, "whatsapp:wa-7", NULL));
	ck_assert(!suppress_find_key(&s, NULL, NULL));
	suppress_clear(&s);
	suppress_clear(NULL);
}
END_TEST

START_TEST(test_csv_list)
{
	struct suppress_set s = { 0 };
	struct suppress_hit h;

	must_parse(&s, "crm.csv",
		   "# export of 2026-12-01\n"
		   "id,first_name, phone_number ,whatsapp_user_id,note\n"
		   "c1,Ada,+15550100001,,\"said: \"\"never again\"\", ok\"\n"
		   "c2,Bob,,wa-2,\n"
		   "c3,Cy,\"+1 (555) 010-0003\",wa-3\n" /* a short row: the rest is empty */
		   "# a comment row\n"
		   "c4,Di,+15550100004,,x,extra,cells\n");
	suppress_seal(&s);
	ck_assert_uint_eq(suppress_size(&s), 5);
	ck_assert(suppress_find(&s, "+15550100001", NULL, &h));
	ck_assert_int_eq(h.line, 3);
	ck_assert(suppress_find(&s, NULL, "wa-2", &h));
	ck_assert_int_eq(h.line, 4);
	ck_assert(suppress_find(&s, "+15550100003", NULL, NULL));
	ck_assert(suppress_find(&s, NULL, "wa-3", NULL));
	ck_assert(suppress_find(&s, "+15550100004", NULL, &h));
	ck_assert_int_eq(h.line, 7);
	suppress_clear(&s);

	/* A CRM's record id may begin with '#': a row with a number is a
	 * row, a '#' line without one a comment; Twilio's "whatsapp:+1…"
	 * in the WhatsApp column is that number; a trunk "(0)" in a list
	 * keeps both of its readings from calls. */
	must_parse(&s, "crm2.csv",
		   "id,name,phone_number,whatsapp_user_id\n"
		   "#1042,Ann,+15550100005,\n"
		   "# exported by hand, with a comma\n"
		   "#1043,Bo,,whatsapp:+15550100006\n"
		   "c5,UK,+44 (0)20 7946 0000,\n"
		   "c6,IT,+39 (0)6 6982 1234,\n");
	suppress_seal(&s);
	ck_assert(suppress_find(&s, "+15550100005", NULL, &h));
	ck_assert_int_eq(h.line, 2);
	ck_assert(suppress_find(&s, NULL, "15550100006", NULL));
	ck_assert(suppress_find(&s, "+15550100006", NULL, NULL));
	ck_assert(suppress_find(&s, "+442079460000", NULL, NULL));
	ck_assert(suppress_find(&s, "+4402079460000", NULL, NULL));
	ck_assert(suppress_find(&s, "+390669821234", NULL, NULL));
	ck_assert(suppress_find(&s, "+39669821234", NULL, NULL));
	suppress_clear(&s);
	{
		char *e = errors_of("x,phone_number\n#1,+1555\n");
		ck_assert_str_eq(e, "l.txt:2: '+1555': an E.164 phone number has 8 to 15 digits\n");
		free(e);
	}
	must_parse(&s, "first.csv", "phone_number,name\n# a note, the number column first\n+15550100007,x\n");
	suppress_seal(&s);
	ck_assert_uint_eq(suppress_size(&s), 1);
	suppress_clear(&s);

	/* one column, header only: an empty list, no error */
	must_parse(&s, "one.csv", "phone_number\n");
	must_parse(&s, "one.csv", "phone_number\r\n+15550100009\r\n");
	suppress_seal(&s);
	ck_assert_uint_eq(suppress_size(&s), 1);
	suppress_clear(&s);

	/* an empty file and a file of comments are empty lists */
	must_parse(&s, "empty.txt", "");
	must_parse(&s, "c.txt", "# nothing yet\n\n");
	suppress_seal(&s);
	ck_assert_uint_eq(suppress_size(&s), 0);
	ck_assert(!suppress_find(&s, "+15550100001", NULL, NULL));
	suppress_clear(&s);
}
END_TEST

START_TEST(test_bad_lines)
{
	char *e;

	e = errors_of("+15550100001\n15550100002\n+1555\n+15550100004\nfoo,bar\n");
	ck_assert_str_eq(e, "l.txt:2: '*******0002': not a phone number starting with '+' (E.164) nor 'whatsapp:ID'\n"
			    "l.txt:3: '+1555': an E.164 phone number has 8 to 15 digits\n"
			    "l.txt:5: a ',' in a plain list (a CSV list needs a header row naming 'phone_number' or "
			    "'whatsapp_user_id')\n");
	free(e);
	e = errors_of("phone_number,name\n+15550100001,a\n,b\n\"+1555,x\n12345678,c\n+15550100001x\"\"\n");
	ck_assert_str_eq(e, "l.txt:3: no phone_number or whatsapp_user_id on this row\n"
			    "l.txt:4: a quoted field does not end on its line\n"
			    "l.txt:5: '****5678': not a phone number starting with '+' (E.164) nor 'whatsapp:ID'\n"
			    "l.txt:6: a quote inside a field that does not start with one\n");
	free(e);
	/* digits of other scripts are masked whole, every byte */
	e = errors_of("+\xef\xbc\x91\xef\xbc\x95\xef\xbc\x95\n");
	ck_assert_str_eq(e, "l.txt:1: '+*********': a phone number holds digits and the separators ' ', '-', '.', '(' "
			    "and ')' only\n");
	free(e);
	{
		char b[64];
		const char *r = "ticket 991: +1 415-555-0123 asked";
		suppress_mask_text(r, strlen(r), false, b, sizeof(b));
		ck_assert_str_eq(b, "ticket ***: +* ***-***-0123 asked");
	}
	/* Only the last 4 digits of a malformed line are shown (errors are
	 * logged at err level, read by everyone who reads the journal). */
	e = errors_of("+1 (415) 555-01x2\n+44 0 20 7946 0000 ext 12\n");
	ck_assert_str_eq(e, "l.txt:1: '+* (***) **5-01x2': a phone number holds digits and the separators ' ', "
			    "'-', '.', '(' and ')' only\n"
			    "l.txt:2: '+** * ** **** **00 ext 12': a phone number holds digits and the separators ' ', "
			    "'-', '.', '(' and ')' only\n");
	free(e);
	e = errors_of("phone_number,phone_number\n\"+15550100001\"x\n");
	ck_assert_str_eq(e, "l.txt:1: the header names 'phone_number' twice\n"
			    "l.txt:2: text after the closing quote of a field\n");
	free(e);
	{
		static const char nul[] = "+15550100001\n+155\0x\n";
		struct suppress_set s = { 0 };
		struct diag d = { 0 };
		ck_assert_int_eq(suppress_parse(&s, "n", nul, sizeof(nul) - 1, &d), -EINVAL);
		ck_assert_uint_eq(d.n, 1);
		ck_assert_int_eq(d.v[0].line, 2);
		ck_assert_str_eq(d.v[0].msg, "a NUL byte");
		/* the good lines are kept either way */
		suppress_seal(&s);
		ck_assert(suppress_find(&s, "+15550100001", NULL, NULL));
		diag_clear(&d);
		suppress_clear(&s);
	}
	/* A too long whatsapp cell. */
	{
		char *t = xasprintf("whatsapp_user_id\n%0300d\n", 1);
		e = errors_of(t);
		ck_assert_str_eq(e, "l.txt:2: the whatsapp_user_id field is too long\n");
		free(e);
		free(t);
	}
}
END_TEST

START_TEST(test_error_cap)
{
	struct sbuf_like {
		char *s;
	} b = { xstrdup("") };
	struct suppress_set s = { 0 };
	struct diag d = { 0 };

	for (int i = 0; i < SUPPRESS_MAX_ERRORS + 30; i++) {
		char *n = xasprintf("%sbad%d\n", b.s, i);
		free(b.s);
		b.s = n;
	}
	ck_assert_int_eq(suppress_parse(&s, "big.txt", b.s, strlen(b.s), &d), -EINVAL);
	ck_assert_uint_eq(d.n, SUPPRESS_MAX_ERRORS + 1);
	ck_assert_str_eq(d.v[SUPPRESS_MAX_ERRORS].msg, "30 more malformed lines");
	ck_assert_int_eq(d.v[SUPPRESS_MAX_ERRORS - 1].line, SUPPRESS_MAX_ERRORS);
	diag_clear(&d);
	suppress_clear(&s);
	free(b.s);
}
END_TEST

/* Merged lists, repeats and runtime additions against a model: every
 * number of a small space, present or not, after a random sequence of
 * lists and additions. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

#define SPACE 300

START_TEST(test_set_against_model)
{
	for (int round = 0; round < 60; round++) {
		struct suppress_set s = { 0 };
		bool model[SPACE] = { false }, wmodel[SPACE] = { false };
		char num[32], normal[SUPPRESS_NORMAL_MAX];
		const char *why;
		int lists = 1 + (int)(rnd() % 4);

		for (int l = 0; l < lists; l++) {
			size_t cap = 4096, len = 0;
			char *text = xcalloc(cap, 1), name[16];
			int lines = (int)(rnd() % 60);
			for (int i = 0; i < lines; i++) {
				int k = (int)(rnd() % SPACE);
				if (len + 64 > cap) {
					text = xrealloc(text, cap * 2);
					cap *= 2;
				}
				if (rnd() % 4 == 0) {
					len += (size_t)snprintf(text + len, cap - len, "whatsapp:id%d\n", k);
					wmodel[k] = true;
				} else {
					len += (size_t)snprintf(text + len, cap - len, "+1 555 %07d\n", k);
					model[k] = true;
				}
			}
			snprintf(name, sizeof(name), "l%d", l);
			must_parse(&s, name, text);
			free(text);
		}
		suppress_seal(&s);
		for (int i = 0; i < 40; i++) {
			int k = (int)(rnd() % SPACE);
			bool wa = rnd() % 3 == 0, fresh;
			snprintf(num, sizeof(num), wa ? "whatsapp:id%d" : "+1555%07d", k);
			ck_assert_int_eq(suppress_normalize(num, strlen(num), false, normal, &why), 0);
			fresh = suppress_add(&s, normal, suppress_source(&s, "own"), (uint32_t)i + 1);
			ck_assert_int_eq(fresh, wa ? !wmodel[k] : !model[k]);
			(wa ? wmodel : model)[k] = true;
		}
		{
			size_t want = 0;
			for (int k = 0; k < SPACE; k++) {
				want += model[k] + wmodel[k];
				snprintf(num, sizeof(num), "+1555%07d", k);
				ck_assert_int_eq(suppress_find(&s, num, NULL, NULL), model[k]);
				snprintf(num, sizeof(num), "id%d", k);
				ck_assert_int_eq(suppress_find(&s, NULL, num, NULL), wmodel[k]);
			}
			ck_assert_uint_eq(suppress_size(&s), want);
			for (size_t i = 1; i < s.n_nums; i++)
				ck_assert(s.nums[i - 1].key < s.nums[i].key);
			for (size_t i = 1; i < s.n_ids; i++)
				ck_assert(strcmp(s.ids[i - 1].id, s.ids[i].id) < 0);
		}
		suppress_clear(&s);
	}
}
END_TEST

/* A WhatsApp id is compared as the lists keep it (trimmed), and one made
 * of a number's digits is that number: a listed number blocks WhatsApp to
 * it, and whatsapp:DIGITS blocks the number. */
START_TEST(test_whatsapp_forms)
{
	struct suppress_set s = { 0 };

	must_parse(&s, "x.txt", "whatsapp:wa-9\n+14155550116\nwhatsapp:14155550115\nwhatsapp:+14155550117\n");
	suppress_seal(&s);
	ck_assert(suppress_find(&s, NULL, "wa-9", NULL));
	ck_assert(suppress_find(&s, NULL, " wa-9\t", NULL));
	ck_assert(!suppress_find(&s, NULL, "wa-90", NULL));
	ck_assert(suppress_find(&s, NULL, "14155550116", NULL));
	ck_assert(suppress_find(&s, NULL, "+14155550116", NULL));
	ck_assert(suppress_find(&s, "+14155550115", NULL, NULL));
	ck_assert(suppress_find(&s, NULL, "+14155550115", NULL));
	ck_assert(suppress_find(&s, "+14155550117", NULL, NULL));
	ck_assert(suppress_find(&s, NULL, "14155550117", NULL));
	ck_assert(!suppress_find(&s, "+14155550118", "14155550118", NULL));
	ck_assert(!suppress_find(&s, NULL, "0014155550116", NULL)); /* not a number's form */
	ck_assert(!suppress_find(&s, NULL, "", NULL));
	suppress_clear(&s);
}
END_TEST

START_TEST(test_digit_counts_differ)
{
	struct suppress_set s = { 0 };

	/* the same value with another count of digits is another number (a
	 * list refuses a leading 0; the key is tested through an addition) */
	suppress_seal(&s);
	ck_assert(suppress_add(&s, "+012345678", 0, 1));
	ck_assert(suppress_find(&s, "+012345678", NULL, NULL));
	ck_assert(!suppress_find(&s, "+12345678", NULL, NULL));
	ck_assert(!suppress_find(&s, "+0012345678", NULL, NULL));
	ck_assert(!suppress_find(&s, "not a number", NULL, NULL));
	suppress_clear(&s);
}
END_TEST

static struct recipient rc(const char *phone, const char *wa, int line)
{
	return (struct recipient){ .phone_number = (char *)phone, .whatsapp_user_id = (char *)wa,
				   .file = (char *)"jobs.conf", .line = line };
}

START_TEST(test_filter_and_rules)
{
	struct suppress_set files = { 0 }, own = { 0 };
	struct suppress_rules rules = { .sets = { &files, &own }, .n_sets = 2 };
	struct recipient v[5] = { rc("+15550100001", NULL, 10), rc("+15550100002", NULL, 11),
				  rc(NULL, "wa-3", 12), rc("+15550100004", NULL, 13), rc(NULL, "wa-5", 14) };
	bool include[5] = { true, true, true, false, true };
	char **keys = NULL;
	size_t n;

	must_parse(&files, "f", "+15550100002\nwhatsapp:wa-3\n+15550100004\n");
	suppress_seal(&files);
	suppress_seal(&own);
	ck_assert(suppress_add(&own, "+15550100001", suppress_source(&own, "own.csv"), 2));
	ck_assert(!suppress_add(&own, "+15550100001", 0, 3));
	n = suppress_filter(&rules, v, 5, include, &keys);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(keys[0], "+15550100001");
	ck_assert_str_eq(keys[1], "+15550100002");
	ck_assert_str_eq(keys[2], "wa-3");
	/* not selected stays unselected and is not reported */
	ck_assert(!include[0] && !include[1] && !include[2] && !include[3] && include[4]);
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);

	ck_assert_int_eq(suppress_check(&rules, NULL, "wa-5", NULL), SUPPRESS_ALLOWED);
	ck_assert_int_eq(suppress_check_key(&rules, "+15550100001", NULL), SUPPRESS_LISTED);
	ck_assert_int_eq(suppress_check_key(&rules, "wa-3", NULL), SUPPRESS_LISTED);
	ck_assert_int_eq(suppress_check_key(&rules, "+15550100009", NULL), SUPPRESS_ALLOWED);
	ck_assert_int_eq(suppress_check(NULL, "+15550100001", NULL, NULL), SUPPRESS_ALLOWED);
	ck_assert_int_eq(suppress_check_key(NULL, "+15550100001", NULL), SUPPRESS_ALLOWED);

	/* nothing to leave out */
	{
		bool all[2] = { true, true };
		struct suppress_rules none = { .n_sets = 0 };
		ck_assert_uint_eq(suppress_filter(&none, v + 3, 2, all, &keys), 0);
		ck_assert_ptr_null(keys);
		ck_assert(all[0] && all[1]);
		ck_assert_uint_eq(suppress_filter(NULL, v + 3, 2, all, &keys), 0);
	}
	suppress_clear(&files);
	suppress_clear(&own);
}
END_TEST

START_TEST(test_warn_jobs)
{
	struct suppress_set files = { 0 };
	struct suppress_rules rules = { .sets = { &files }, .n_sets = 1 };
	struct recipient v[2] = { rc("+15550100001", NULL, 7), rc("+15550100002", NULL, 8) };
	struct recipient many[30];
	struct jobspec jobs[2] = { { .name = (char *)"a", .file = (char *)"jobs.conf", .line = 1, .recipients = v,
				     .n_recipients = 2 },
				   { .name = (char *)"b", .file = (char *)"b.conf", .line = 3, .recipients = many,
				     .n_recipients = 30 } };
	struct diag w = { 0 };
	char *l;

	for (int i = 0; i < 30; i++)
		many[i] = rc("+15550100002", NULL, 100 + i);
	must_parse(&files, "dnc.txt", "# x\n+15550100002\n");
	suppress_seal(&files);
	ck_assert_uint_eq(suppress_warn_jobs(&rules, jobs, 2, &w), 31);
	ck_assert_uint_eq(w.n, 1 + 20 + 1);
	l = diag_format(&w, 0);
	ck_assert_str_eq(l, "jobs.conf:8: job 'a': recipient '+15550100002' is on the do-not-call list dnc.txt:2; it "
			    "will not be called");
	free(l);
	l = diag_format(&w, 21);
	ck_assert_str_eq(l, "b.conf:3: job 'b': 10 more recipients are on a do-not-call list");
	free(l);
	diag_clear(&w);
	suppress_clear(&files);
}
END_TEST

START_TEST(test_mask)
{
	char b[64];

	suppress_mask("+15550100001", b, sizeof(b));
	ck_assert_str_eq(b, "+*******0001");
	suppress_mask("+12345678", b, sizeof(b));
	ck_assert_str_eq(b, "+****5678");
	suppress_mask("wa-123456", b, sizeof(b));
	ck_assert_str_eq(b, "*****3456");
	suppress_mask("abc", b, sizeof(b));
	ck_assert_str_eq(b, "abc");
	suppress_mask(NULL, b, sizeof(b));
	ck_assert_str_eq(b, "");
	suppress_mask("+15550100001", b, 5);
	ck_assert_str_eq(b, "+***");
	/* never more than four digits of a number shown */
	for (int n = 8; n <= 15; n++) {
		char num[20] = "+";
		size_t shown = 0;
		for (int i = 0; i < n; i++)
			num[1 + i] = (char)('1' + i % 9);
		num[1 + n] = '\0';
		suppress_mask(num, b, sizeof(b));
		ck_assert_uint_eq(strlen(b), strlen(num));
		for (size_t i = 0; b[i]; i++)
			shown += b[i] >= '0' && b[i] <= '9';
		ck_assert_uint_eq(shown, 4);
		ck_assert_str_eq(b + strlen(b) - 4, num + strlen(num) - 4);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("suppress");
	TCase *tc = tcase_create("suppress");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_normalize);
	tcase_add_test(tc, test_plain_list);
	tcase_add_test(tc, test_csv_list);
	tcase_add_test(tc, test_bad_lines);
	tcase_add_test(tc, test_error_cap);
	tcase_add_test(tc, test_set_against_model);
	tcase_add_test(tc, test_digit_counts_differ);
	tcase_add_test(tc, test_whatsapp_forms);
	tcase_add_test(tc, test_filter_and_rules);
	tcase_add_test(tc, test_warn_jobs);
	tcase_add_test(tc, test_mask);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
