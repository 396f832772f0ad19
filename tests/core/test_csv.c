/*
 * test_csv: the RFC 4180 reader on the cases operators' spreadsheets
 * produce: quoting, embedded separators and line breaks, CRLF, BOM, and
 * each kind of malformed input with the row it must be reported on.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

static struct csv *parse_ok(const char *text)
{
	struct csv *c = NULL;
	struct diag d = { 0 };
	int r = csv_parse("t.csv", text, strlen(text), &c, &d);
	if (r != 0 || d.n != 0) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "unexpected: %s: %s\n", d.v[i].file, d.v[i].msg);
	}
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(d.n, 0);
	diag_clear(&d);
	return c;
}

/* Parse text that must fail; return the diagnostics formatted one per line. */
static char *parse_bad(const char *text, size_t len)
{
	struct csv *c = NULL;
	struct diag d = { 0 };
	char *all = xstrdup("");
	int r = csv_parse("t.csv", text, len, &c, &d);

	ck_assert_int_eq(r, -EINVAL);
	ck_assert_ptr_nonnull(c);
	for (size_t i = 0; i < d.n; i++) {
		char *line = diag_format(&d, i), *next = xasprintf("%s%s\n", all, line);
		free(line);
		free(all);
		all = next;
	}
	diag_clear(&d);
	csv_free(c);
	return all;
}

static void expect_fields(const struct csv_record *r, size_t n, const char *const *want)
{
	ck_assert_uint_eq(r->n_fields, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(r->fields[i], want[i]);
}

START_TEST(test_simple_lf)
{
	struct csv *c = parse_ok("phone_number,name\n+15550100001,Ada\n+15550100002,Grace\n");
	ck_assert_uint_eq(c->n_records, 3);
	expect_fields(&c->records[0], 2, (const char *[]){ "phone_number", "name" });
	expect_fields(&c->records[2], 2, (const char *[]){ "+15550100002", "Grace" });
	ck_assert_int_eq(c->records[0].row, 1);
	ck_assert_int_eq(c->records[2].row, 3);
	csv_free(c);
}
END_TEST

START_TEST(test_crlf_bom_no_final_newline)
{
	struct csv *c = parse_ok("\xef\xbb\xbfphone_number,name\r\n+15550100001,Ada\r\n+15550100002,Grace");
	ck_assert_uint_eq(c->n_records, 3);
	ck_assert_str_eq(c->records[0].fields[0], "phone_number");
	expect_fields(&c->records[1], 2, (const char *[]){ "+15550100001", "Ada" });
	expect_fields(&c->records[2], 2, (const char *[]){ "+15550100002", "Grace" });
	csv_free(c);
}
END_TEST

START_TEST(test_quoted_fields)
{
	struct csv *c = parse_ok("a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"line1\r\nline2\nline3\"\r\n\"\",,\"\"\"\"\n"
				 "last,row,here\n");
	ck_assert_uint_eq(c->n_records, 4);
	expect_fields(&c->records[1], 3, (const char *[]){ "x, y", "say \"hi\"", "line1\r\nline2\nline3" });
	ck_assert_int_eq(c->records[1].row, 2);
	expect_fields(&c->records[2], 3, (const char *[]){ "", "", "\"" });
	/* the quoted line breaks moved the next record two lines down */
	ck_assert_int_eq(c->records[2].row, 5);
	ck_assert_int_eq(c->records[3].row, 6);
	csv_free(c);
}
END_TEST

START_TEST(test_empty_fields_and_blank_lines)
{
	struct csv *c = parse_ok("a,b,c\n,,\n\n1,,3\n\r\n\n");
	ck_assert_uint_eq(c->n_records, 3);
	expect_fields(&c->records[1], 3, (const char *[]){ "", "", "" });
	expect_fields(&c->records[2], 3, (const char *[]){ "1", "", "3" });
	ck_assert_int_eq(c->records[2].row, 4);
	csv_free(c);
}
END_TEST

START_TEST(test_trailing_comma_at_eof)
{
	struct csv *c = parse_ok("a,b\n1,");
	expect_fields(&c->records[1], 2, (const char *[]){ "1", "" });
	csv_free(c);
}
END_TEST

START_TEST(test_utf8_text_kept)
{
	struct csv *c = parse_ok("name\nJosé Müller 日本\n");
	ck_assert_str_eq(c->records[1].fields[0], "José Müller 日本");
	csv_free(c);
}
END_TEST

START_TEST(test_empty_input)
{
	struct csv *c = parse_ok("");
	ck_assert_uint_eq(c->n_records, 0);
	csv_free(c);
	c = parse_ok("\xef\xbb\xbf");
	ck_assert_uint_eq(c->n_records, 0);
	csv_free(c);
}
END_TEST

START_TEST(test_ragged_rows)
{
	char *e = parse_bad("a,b,c\n1,2,3\n1,2\n1,2,3,4\n", 24);
	ck_assert_str_eq(e, "t.csv:3: row has 2 columns, the header has 3\n"
			    "t.csv:4: row has 4 columns, the header has 3\n");
	free(e);
}
END_TEST

START_TEST(test_unterminated_quote)
{
	const char *t = "a,b\n1,2\n3,\"never\nclosed\n";
	char *e = parse_bad(t, strlen(t));
	ck_assert_str_eq(e, "t.csv:3: unterminated quoted field (the closing '\"' is missing)\n");
	free(e);
}
END_TEST

START_TEST(test_stray_quote)
{
	const char *t = "a,b\n1,ab\"c\n2,\"x\"y\n3,4\n";
	char *e = parse_bad(t, strlen(t));
	ck_assert_str_eq(e, "t.csv:2: stray '\"' in an unquoted field (quote the whole field and double the quote)\n"
			    "t.csv:3: text after the closing quote of a field (write \"\" for a quote inside a quoted field)\n");
	free(e);
}
END_TEST

START_TEST(test_bad_rows_dropped_good_kept)
{
	struct csv *c = NULL;
	struct diag d = { 0 };
	const char *t = "a,b\n1,2\n3\n5,6\n";
	ck_assert_int_eq(csv_parse("t.csv", t, strlen(t), &c, &d), -EINVAL);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_uint_eq(c->n_records, 3);
	ck_assert_str_eq(c->records[2].fields[0], "5");
	ck_assert_int_eq(c->records[2].row, 4);
	diag_clear(&d);
	csv_free(c);
}
END_TEST

START_TEST(test_nul_byte)
{
	char *e = parse_bad("a,b\n1,2\n3,\0\n", 12);
	ck_assert_str_eq(e, "t.csv:3: NUL byte in the file (is this a binary file?)\n");
	free(e);
}
END_TEST

START_TEST(test_invalid_utf8)
{
	const char *t = "a,b\n1,2\n\n3,caf\xe9\n";
	char *e = parse_bad(t, strlen(t));
	ck_assert_str_eq(e, "t.csv:4: invalid UTF-8 (byte 0xe9); save the file as UTF-8\n");
	free(e);
	/* an overlong encoding and a UTF-16 surrogate are not UTF-8 either */
	e = parse_bad("a\n\xc0\xaf\n", 5);
	ck_assert_str_eq(e, "t.csv:2: invalid UTF-8 (byte 0xc0); save the file as UTF-8\n");
	free(e);
	e = parse_bad("a\n\xed\xa0\x80\n", 6);
	ck_assert_str_eq(e, "t.csv:2: invalid UTF-8 (byte 0xed); save the file as UTF-8\n");
	free(e);
}
END_TEST

START_TEST(test_error_cap)
{
	struct csv *c = NULL;
	struct diag d = { 0 };
	char *t = xstrdup("a,b\n");
	for (int i = 0; i < 100; i++) {
		char *n = xasprintf("%sx\n", t);
		free(t);
		t = n;
	}
	ck_assert_int_eq(csv_parse("t.csv", t, strlen(t), &c, &d), -EINVAL);
	/* 20 errors and the note that the rest was skipped */
	ck_assert_uint_eq(d.n, 21);
	ck_assert_str_eq(d.v[20].msg, "too many errors, giving up on this file");
	diag_clear(&d);
	csv_free(c);
	free(t);
}
END_TEST

START_TEST(test_megabyte_field)
{
	size_t n = 1 << 20;
	char *t = xmalloc(n + 32);
	struct csv *c;
	memcpy(t, "a,b\n1,\"", 7);
	memset(t + 7, 'x', n);
	memcpy(t + 7 + n, "\"\n", 3);
	c = parse_ok(t);
	ck_assert_uint_eq(strlen(c->records[1].fields[1]), n);
	csv_free(c);
	free(t);
}
END_TEST

START_TEST(test_free_null)
{
	struct csv *c = NULL;
	struct diag d = { 0 };

	csv_free(NULL);
	/* the smallest document there is frees like any other */
	ck_assert_int_eq(csv_parse("h.csv", "phone\n", 6, &c, &d), 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->n_records, 1);
	ck_assert_uint_eq(c->records[0].n_fields, 1);
	ck_assert_str_eq(c->records[0].fields[0], "phone");
	ck_assert_uint_eq(d.n, 0);
	csv_free(c);
	diag_clear(&d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("csv");
	TCase *tc = tcase_create("csv");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_simple_lf);
	tcase_add_test(tc, test_crlf_bom_no_final_newline);
	tcase_add_test(tc, test_quoted_fields);
	tcase_add_test(tc, test_empty_fields_and_blank_lines);
	tcase_add_test(tc, test_trailing_comma_at_eof);
	tcase_add_test(tc, test_utf8_text_kept);
	tcase_add_test(tc, test_empty_input);
	tcase_add_test(tc, test_ragged_rows);
	tcase_add_test(tc, test_unterminated_quote);
	tcase_add_test(tc, test_stray_quote);
	tcase_add_test(tc, test_bad_rows_dropped_good_kept);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_invalid_utf8);
	tcase_add_test(tc, test_error_cap);
	tcase_add_test(tc, test_megabyte_field);
	tcase_add_test(tc, test_free_null);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
