/*
 * fuzz_conv: libFuzzer target for the conversation parser (conv.c, through
 * jsonin.c). Besides "no crash, no leak, no read past the input", it
 * checks the contracts callers rely on: 0 or -EBADMSG, a cause exactly on
 * failure, the output untouched on failure; on success a non-empty id,
 * enums in range, integers within conv.h's bounds, data and evaluation ids
 * sorted and distinct, every data value valid JSON. Then the conversation
 * goes through the results (a one-recipient occurrence whose batch entry
 * names it): the JSON Lines line must read back as strict JSON, and the
 * CSV must read back through the project's own RFC 4180 reader with every
 * record as wide as the header. And the conversations log's line of it
 * reads back to the same conversation (conv_log_line, conv_log_parse).
 *
 * Seeds: fuzz/corpus/conv/; dictionary: fuzz/conv.dict.
 */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "conv.h"
#include "csv.h"
#include "results.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Is text (len bytes) exactly one strict JSON value? (Inside brackets:
 * json-c waits for more input after a bare number or literal.) */
static bool is_json(const char *text, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	char *wrapped = malloc(len + 2);
	json_object *o;
	bool ok;

	if (!tok || !wrapped)
		abort();
	wrapped[0] = '[';
	memcpy(wrapped + 1, text, len);
	wrapped[len + 1] = ']';
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, wrapped, (int)len + 2);
	ok = json_tokener_get_error(tok) == json_tokener_success && json_tokener_get_parse_end(tok) == len + 2 &&
	     json_object_array_length(o) == 1;
	json_object_put(o);
	json_tokener_free(tok);
	free(wrapped);
	return ok;
}

static void check_conv(const struct conv *c)
{
	if (!c->conversation_id || !*c->conversation_id || !c->agent_id || !c->termination_reason ||
	    (unsigned)c->status >= CONV_STATUS__MAX || (unsigned)c->call_successful >= CONV_VERDICT__MAX ||
	    (unsigned)c->call_result >= CONV_CALL__MAX || c->start_time_unix_secs < 0 ||
	    c->start_time_unix_secs > CODEC_TIME_MAX || c->call_duration_secs < 0 ||
	    c->call_duration_secs > CONV_DURATION_MAX || !c->batch_call_id != !c->batch_call_recipient_id ||
	    (!c->has_analysis && (c->call_successful != CONV_UNKNOWN || c->n_data || c->n_evals)))
		abort();
	for (size_t i = 0; i < c->n_data; i++) {
		if (!c->data[i].id || !c->data[i].value || !is_json(c->data[i].value, strlen(c->data[i].value)) ||
		    (i > 0 && strcmp(c->data[i - 1].id, c->data[i].id) >= 0))
			abort();
	}
	for (size_t i = 0; i < c->n_evals; i++)
		if (!c->evals[i].id || (unsigned)c->evals[i].result >= CONV_VERDICT__MAX ||
		    (i > 0 && strcmp(c->evals[i - 1].id, c->evals[i].id) >= 0))
			abort();
}

/* The conversation as a row of both results files. */
static void check_results(const struct conv *c)
{
	struct recipient rc = { .id = c->agent_id, .phone_number = "+15550000001" };
	struct batch_rcpt e = { .id = c->batch_call_recipient_id ? c->batch_call_recipient_id : "r",
				.phone_number = "+15550000001", .status = BATCH_RCPT_COMPLETED,
				.conversation_id = c->conversation_id };
	struct jobspec job = { .name = c->termination_reason, .recipients = &rc, .n_recipients = 1 };
	struct results_run run = { .part = c->transcript_summary, .call_name = c->conversation_id,
				   .state = RUN_COMPLETED, .batch_id = c->batch_call_id ? c->batch_call_id : "b",
				   .has_detail = true, .rcpts = &e, .n_rcpts = 1 };
	struct results_input in = { .job = &job, .start = c->start_time_unix_secs, .call_name = "n", .runs = &run,
				    .n_runs = 1, .convs = c, .n_convs = 1 };
	struct results r;
	struct csv *parsed = NULL;
	struct diag d = { 0 };
	char *csv, *jsonl;
	size_t csv_len, jsonl_len, fixed = 0;

	while (results_column(fixed))
		fixed++;

	results_build(&in, &r);
	if (r.n_rows != 1 || r.rows[0].conv != c || r.n_data_ids != c->n_data || r.n_eval_ids != c->n_evals)
		abort();
	jsonl = results_jsonl(&r, &jsonl_len);
	if (jsonl_len < 2 || jsonl[jsonl_len - 1] != '\n' || memchr(jsonl, '\n', jsonl_len - 1) ||
	    !is_json(jsonl, jsonl_len - 1))
		abort();
	csv = results_csv(&r, &csv_len);
	if (csv_parse("results.csv", csv, csv_len, &parsed, &d) != 0 || d.n != 0 || parsed->n_records != 2 ||
	    parsed->records[1].n_fields != parsed->records[0].n_fields ||
	    parsed->records[0].n_fields != fixed + c->n_data + c->n_evals)
		abort();
	/* no cell a spreadsheet would run */
	for (size_t i = 0; i < parsed->n_records; i++)
		for (size_t k = 0; k < parsed->records[i].n_fields; k++)
			if (strchr("=+-@\t\r", parsed->records[i].fields[k][0]) && parsed->records[i].fields[k][0])
				abort();
	csv_free(parsed);
	diag_clear(&d);
	free(csv);
	free(jsonl);
	results_clear(&r);
}

/* The conversations log's line of an accepted body reads back to the
 * same conversation (conv_log_line makes one line of any body), and the
 * input read as a log line keeps conv_log_parse's contract. */
static void check_log(const char *body, size_t size, const struct conv *c)
{
	size_t n;
	char *line = conv_log_line(INT64_C(1792483300123), body, size, &n), *cause = NULL;
	struct conv back, sentinel;
	int64_t ms = -1;

	if (n < 2 || line[n - 1] != '\n' || memchr(line, '\n', n - 1) || memchr(line, '\r', n) ||
	    conv_log_parse(line, n - 1, &ms, &back, &cause) != 0 || cause || ms != INT64_C(1792483300123) ||
	    strcmp(back.conversation_id, c->conversation_id) != 0 || back.status != c->status ||
	    back.has_analysis != c->has_analysis || back.n_data != c->n_data || back.n_evals != c->n_evals ||
	    back.transcript_turns != c->transcript_turns)
		abort();
	for (size_t i = 0; i < c->n_data; i++)
		if (strcmp(back.data[i].value, c->data[i].value) != 0)
			abort();
	conv_clear(&back);
	free(line);
	memset(&back, 0x5a, sizeof(back));
	memset(&sentinel, 0x5a, sizeof(sentinel));
	ms = -1;
	if (conv_log_parse(body, size, &ms, &back, &cause) == 0) {
		if (cause)
			abort();
		check_conv(&back);
		conv_clear(&back);
	} else if (!cause || ms != -1 || memcmp(&back, &sentinel, sizeof(back)) != 0) {
		abort();
	}
	free(cause);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so that ASan sees where the input ends */
	char *body = malloc(size ? size : 1);
	struct conv c, sentinel;
	char *cause = NULL;
	int r;

	if (!body)
		return 0;
	memcpy(body, data, size);
	memset(&c, 0x5a, sizeof(c));
	memset(&sentinel, 0x5a, sizeof(sentinel));
	r = conv_parse(body, size, &c, &cause);
	if (r == 0) {
		if (cause)
			abort();
		check_conv(&c);
		check_results(&c);
		check_log(body, size, &c);
		conv_clear(&c);
	} else if (r != -EBADMSG || !cause || memcmp(&c, &sentinel, sizeof(c)) != 0) {
		abort();
	}
	free(cause);
	free(body);
	return 0;
}
