/*
 * state: run <-> JSON (see state.h for the format).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "state.h"
#include "util.h"

/* The record is written straight into text, in the layout json-c's
 * JSON_C_TO_STRING_SPACED | NOSLASHESCAPE gives (the layout of every
 * record written before): `{ "key": value, ... }`, `[ "a", "b" ]`, `[ ]`,
 * strings escaped as json-c does, bytes from 0x80 on as they are. Building
 * a json-c object for each record cost most of a burst's group commit (a
 * hash table and an allocation per field). */
struct writer {
	struct sbuf b;
	bool first; /* no member yet in the open object */
};

static void open_obj(struct writer *w)
{
	sbuf_add(&w->b, "{", 1);
	w->first = true;
}

static void close_obj(struct writer *w)
{
	sbuf_add(&w->b, " }", 2);
	w->first = false;
}

static void key(struct writer *w, const char *k)
{
	sbuf_add(&w->b, w->first ? " \"" : ", \"", w->first ? 2 : 3);
	sbuf_adds(&w->b, k);
	sbuf_add(&w->b, "\": ", 3);
	w->first = false;
}

static void add_str(struct writer *w, const char *k, const char *v)
{
	key(w, k);
	sbuf_add_json_bytes(&w->b, v);
}

static void add_int(struct writer *w, const char *k, int64_t v)
{
	key(w, k);
	sbuf_add_int(&w->b, v);
}

static void add_bool(struct writer *w, const char *k, bool v)
{
	key(w, k);
	sbuf_adds(&w->b, v ? "true" : "false");
}

static void add_null(struct writer *w, const char *k)
{
	key(w, k);
	sbuf_add(&w->b, "null", 4);
}

/* A list of strings, or null when absent. */
static void add_strv(struct writer *w, const char *k, char *const *v, size_t n, bool present)
{
	if (!present) {
		add_null(w, k);
		return;
	}
	key(w, k);
	sbuf_add(&w->b, "[", 1);
	for (size_t i = 0; i < n; i++) {
		sbuf_add(&w->b, i ? ", " : " ", i ? 2 : 1);
		sbuf_add_json_bytes(&w->b, v[i]);
	}
	sbuf_add(&w->b, " ]", 2);
}

char *state_format(const struct run *r)
{
	struct writer w = { .first = true };
	char digest[17];

	/* room for a usual record at once, not ten reallocs on the way */
	xgrow((void **)&w.b.s, &w.b.cap, 1024, 1);
	open_obj(&w);
	add_str(&w, "format", "batchcalld-run");
	add_int(&w, "version", STATE_VERSION);
	add_str(&w, "job", r->job);
	add_int(&w, "start", r->start);
	add_str(&w, "call_name", r->call_name);
	add_str(&w, "agent_id", r->agent_id);
	add_str(&w, "state", run_state_name(r->state));
	add_str(&w, "on_removal", r->on_removal == ON_REMOVAL_KEEP ? "keep" : "cancel");
	add_str(&w, "batch_id", r->batch_id);
	snprintf(digest, sizeof(digest), "%016" PRIx64, r->digest);
	add_str(&w, "digest", digest);
	add_int(&w, "submit_attempts", r->submit_attempts);
	add_int(&w, "intent_ms", r->intent_ms);
	add_int(&w, "first_intent_ms", r->first_intent_ms);
	add_int(&w, "sent_count", r->sent_count);
	snprintf(digest, sizeof(digest), "%016" PRIx64, r->sent_digest);
	add_str(&w, "sent_digest", digest);
	add_bool(&w, "lookup_only", r->lookup_only);
	add_bool(&w, "removal_cancel", r->removal_cancel);
	add_bool(&w, "uncertain", r->uncertain);
	add_int(&w, "settle_ms", r->settle_ms);
	add_int(&w, "retries", r->retries);
	add_int(&w, "retry_expect", r->retry_expect);
	add_int(&w, "due_ms", r->due_ms);
	add_int(&w, "gen", (int64_t)r->gen);
	add_int(&w, "submit_at_ms", r->submit_at_ms);
	add_int(&w, "close_ms", r->close_ms);
	add_str(&w, "part", r->part);
	add_str(&w, "zone", r->zone);
	add_strv(&w, "recipients", r->rcpts, r->n_rcpts, r->rcpts != NULL);
	add_str(&w, "follow", r->follow == FOLLOW_RESUME ? "resume" : r->follow == FOLLOW_PAUSE ? "pause"
			     : r->follow == FOLLOW_DEFER ? "defer" : NULL);
	if (r->defer_over)
		add_bool(&w, "defer_over", true);
	add_int(&w, "follow_n", r->follow_n);
	if (r->touch > 0)
		add_int(&w, "touch", r->touch);
	add_strv(&w, "unfinished", r->unfinished, r->n_unfinished, r->n_unfinished > 0);
	add_strv(&w, "suppressed", r->suppressed, r->n_suppressed, r->n_suppressed > 0);
	add_strv(&w, "over_limit", r->over_limit, r->n_over_limit, r->n_over_limit > 0);
	if (r->contact_tag) {
		char hex[17];
		snprintf(hex, sizeof(hex), "%016" PRIx64, r->contact_tag);
		add_str(&w, "contact_tag", hex);
		add_int(&w, "contact_base", r->contact_base);
	}
	add_strv(&w, "retry_recipients", r->retry_keys, r->n_retry_keys, r->retry_keys != NULL);
	add_int(&w, "failures", r->failures);
	add_bool(&w, "cancel_wanted", r->cancel_wanted);
	if (r->stopped)
		add_bool(&w, "stopped", true);
	add_bool(&w, "removing", r->removing);
	add_bool(&w, "late_logged", r->late_logged);
	key(&w, "batch");
	open_obj(&w);
	add_str(&w, "status", batch_status_name(r->batch.status));
	add_int(&w, "created_at_unix", r->batch.created_at_unix);
	add_int(&w, "scheduled_time_unix", r->batch.scheduled_time_unix);
	add_int(&w, "last_updated_at_unix", r->batch.last_updated_at_unix);
	add_int(&w, "total_calls_dispatched", r->batch.total_calls_dispatched);
	add_int(&w, "total_calls_scheduled", r->batch.total_calls_scheduled);
	add_int(&w, "total_calls_finished", r->batch.total_calls_finished);
	add_int(&w, "retry_count", r->batch.retry_count);
	close_obj(&w);
	if (r->counts_valid) {
		key(&w, "counts");
		open_obj(&w);
		for (int i = 0; i < BATCH_RCPT__MAX; i++)
			add_int(&w, batch_rcpt_status_name(i), r->counts[i]);
		close_obj(&w);
	} else {
		add_null(&w, "counts");
	}
	add_str(&w, "error", r->error);
	add_int(&w, "submitted_at", r->submitted_at);
	add_int(&w, "finished_at", r->finished_at);
	add_int(&w, "finished_ms", r->finished_ms);
	close_obj(&w);
	return sbuf_steal(&w.b, NULL);
}

/* --- reading --------------------------------------------------------------- */

struct record_reader {
	char *cause; /* the first problem found; every read after it is skipped */
};

static struct json_object *field(struct record_reader *rd, struct json_object *o, const char *k,
				 enum json_type t, bool nullable)
{
	struct json_object *v;

	if (rd->cause)
		return NULL;
	if (!json_object_object_get_ex(o, k, &v)) {
		rd->cause = xasprintf("key '%s' is missing", k);
		return NULL;
	}
	if (!v) {
		if (!nullable)
			rd->cause = xasprintf("key '%s' is null", k);
		return NULL;
	}
	if (!json_object_is_type(v, t)) {
		rd->cause = xasprintf("key '%s' has the wrong type", k);
		return NULL;
	}
	return v;
}

static char *get_str(struct record_reader *rd, struct json_object *o, const char *k, bool nullable)
{
	struct json_object *v = field(rd, o, k, json_type_string, nullable);
	const char *s;

	if (!v)
		return NULL;
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v)) {
		rd->cause = xasprintf("key '%s' holds a NUL byte", k);
		return NULL;
	}
	return xstrdup(s);
}

static int64_t get_int(struct record_reader *rd, struct json_object *o, const char *k, int64_t min, int64_t max)
{
	struct json_object *v = field(rd, o, k, json_type_int, false);
	int64_t x;

	if (!v)
		return 0;
	errno = 0;
	x = json_object_get_int64(v);
	if (errno != 0 || x < min || x > max) {
		rd->cause = xasprintf("key '%s' is out of range", k);
		return 0;
	}
	return x;
}

/* A key added after version 1 was first written: absent means 0, so that
 * older files stay readable. */
static int64_t get_int_opt(struct record_reader *rd, struct json_object *o, const char *k, int64_t min, int64_t max)
{
	if (!json_object_object_get_ex(o, k, NULL))
		return 0;
	return get_int(rd, o, k, min, max);
}

/* An optional list of strings (absent or null: *ret NULL). */
static void get_strv_opt(struct record_reader *rd, struct json_object *o, const char *k, char ***ret, size_t *ret_n)
{
	struct json_object *a, *x;
	size_t n;

	*ret = NULL;
	*ret_n = 0;
	if (rd->cause || !json_object_object_get_ex(o, k, &a) || !a)
		return;
	if (!json_object_is_type(a, json_type_array)) {
		rd->cause = xasprintf("key '%s' has the wrong type", k);
		return;
	}
	n = json_object_array_length(a);
	*ret = xcalloc(n ? n : 1, sizeof(**ret));
	for (size_t i = 0; i < n; i++) {
		x = json_object_array_get_idx(a, i);
		if (!x || !json_object_is_type(x, json_type_string) ||
		    strlen(json_object_get_string(x)) != (size_t)json_object_get_string_len(x)) {
			rd->cause = xasprintf("key '%s' holds something other than strings", k);
			return; /* *ret_n items are freed by the caller */
		}
		(*ret)[(*ret_n)++] = xstrdup(json_object_get_string(x));
	}
}

static char *get_str_opt(struct record_reader *rd, struct json_object *o, const char *k)
{
	if (!json_object_object_get_ex(o, k, NULL))
		return NULL;
	return get_str(rd, o, k, true);
}

static bool get_bool(struct record_reader *rd, struct json_object *o, const char *k)
{
	struct json_object *v = field(rd, o, k, json_type_boolean, false);
	return v ? json_object_get_boolean(v) : false;
}

static bool get_bool_opt(struct record_reader *rd, struct json_object *o, const char *k)
{
	if (!json_object_object_get_ex(o, k, NULL))
		return false;
	return get_bool(rd, o, k);
}

/* A 64-bit digest written as 16 hex digits; an optional key may be absent. */
static void get_hex64(struct record_reader *rd, struct json_object *o, const char *k, bool optional, uint64_t *ret)
{
	char *s = optional ? get_str_opt(rd, o, k) : get_str(rd, o, k, false), *end;

	if (!s)
		return;
	errno = 0;
	*ret = strtoull(s, &end, 16);
	if ((errno || *end || strlen(s) != 16) && !rd->cause)
		rd->cause = xasprintf("key '%s' is not 16 hex digits", k);
	free(s);
}

/* The document: one complete JSON object (trailing whitespace is fine,
 * anything else is damage); NULL with rd->cause otherwise. */
static struct json_object *read_document(struct record_reader *rd, const char *text, size_t len)
{
	struct json_tokener *tok;
	struct json_object *o;

	if (len == 0 || memchr(text, '\0', len)) {
		rd->cause = xstrdup(len ? "the file holds a NUL byte" : "the file is empty");
		return NULL;
	}
	tok = json_tokener_new_ex(16);
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != len) {
		size_t end = json_tokener_get_parse_end(tok);
		bool tail_ok = o && json_tokener_get_error(tok) == json_tokener_success;
		for (size_t i = end; tail_ok && i < len; i++)
			if (!strchr(" \t\r\n", text[i]))
				tail_ok = false;
		if (!tail_ok)
			rd->cause = xstrdup("not a complete JSON document (truncated or corrupted)");
	}
	json_tokener_free(tok);
	if (!rd->cause && !json_object_is_type(o, json_type_object))
		rd->cause = xstrdup("not a JSON object");
	if (rd->cause) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* format and version: a record this reader knows how to read. */
static void read_header(struct record_reader *rd, struct json_object *o)
{
	char *s = get_str(rd, o, "format", false);

	if (s && strcmp(s, "batchcalld-run") != 0)
		rd->cause = xasprintf("unknown format '%s'", s);
	free(s);
	get_int(rd, o, "version", 1, STATE_VERSION);
}

/* Which run this is, its state, its batch and the digest of its job. */
static void read_identity(struct record_reader *rd, struct json_object *o, struct run *r)
{
	char *s;
	int st;

	r->job = get_str(rd, o, "job", false);
	r->start = get_int(rd, o, "start", STATE_START_MIN, STATE_START_MAX);
	r->call_name = get_str(rd, o, "call_name", false);
	r->agent_id = get_str(rd, o, "agent_id", true);
	s = get_str(rd, o, "state", false);
	if (s) {
		st = run_state_from_name(s);
		if (st < 0)
			rd->cause = xasprintf("unknown state '%s'", s);
		else
			r->state = st;
	}
	free(s);
	s = get_str(rd, o, "on_removal", false);
	if (s) {
		if (strcmp(s, "keep") == 0)
			r->on_removal = ON_REMOVAL_KEEP;
		else if (strcmp(s, "cancel") == 0)
			r->on_removal = ON_REMOVAL_CANCEL;
		else if (!rd->cause)
			rd->cause = xasprintf("unknown on_removal '%s'", s);
	}
	free(s);
	r->batch_id = get_str(rd, o, "batch_id", true);
	get_hex64(rd, o, "digest", false, &r->digest);
}

/* The submits made and what is known of their outcome. */
static void read_submit(struct record_reader *rd, struct json_object *o, struct run *r)
{
	r->submit_attempts = (int)get_int(rd, o, "submit_attempts", 0, STATE_COUNT_MAX);
	r->intent_ms = get_int(rd, o, "intent_ms", 0, STATE_INT_MAX);
	r->first_intent_ms = get_int_opt(rd, o, "first_intent_ms", 0, STATE_INT_MAX);
	r->sent_count = get_int_opt(rd, o, "sent_count", 0, CODEC_COUNT_MAX);
	get_hex64(rd, o, "sent_digest", true, &r->sent_digest);
	r->lookup_only = get_bool_opt(rd, o, "lookup_only");
	r->removal_cancel = get_bool_opt(rd, o, "removal_cancel");
	r->stopped = get_bool_opt(rd, o, "stopped");
	r->uncertain = get_bool(rd, o, "uncertain");
	r->settle_ms = get_int_opt(rd, o, "settle_ms", 0, STATE_INT_MAX);
}

/* The retries and the instants the run waits for. */
static void read_timing(struct record_reader *rd, struct json_object *o, struct run *r)
{
	r->retries = (int)get_int(rd, o, "retries", 0, STATE_COUNT_MAX);
	r->retry_expect = get_int(rd, o, "retry_expect", 0, CODEC_RETRY_COUNT_MAX + 1);
	r->due_ms = get_int(rd, o, "due_ms", -STATE_INT_MAX, STATE_INT_MAX);
	r->gen = (uint64_t)get_int_opt(rd, o, "gen", 0, INT64_MAX);
	r->submit_at_ms = get_int_opt(rd, o, "submit_at_ms", 0, STATE_INT_MAX);
	r->close_ms = get_int_opt(rd, o, "close_ms", 0, STATE_INT_MAX);
}

/* The part of the occurrence this run is (a zone group, a follow-up) and
 * the recipients that only its record holds. */
static void read_part(struct record_reader *rd, struct json_object *o, struct run *r)
{
	char *s;

	r->part = get_str_opt(rd, o, "part");
	r->zone = get_str_opt(rd, o, "zone");
	get_strv_opt(rd, o, "recipients", &r->rcpts, &r->n_rcpts);
	s = get_str_opt(rd, o, "follow");
	r->follow = s && strcmp(s, "resume") == 0  ? FOLLOW_RESUME
		    : s && strcmp(s, "pause") == 0 ? FOLLOW_PAUSE
		    : s && strcmp(s, "defer") == 0 ? FOLLOW_DEFER
						    : FOLLOW_NONE;
	free(s);
	r->follow_n = (int)get_int_opt(rd, o, "follow_n", 0, STATE_COUNT_MAX);
	r->touch = (int)get_int_opt(rd, o, "touch", 0, RUN_TOUCH_MAX);
	get_strv_opt(rd, o, "unfinished", &r->unfinished, &r->n_unfinished);
	get_strv_opt(rd, o, "suppressed", &r->suppressed, &r->n_suppressed);
	get_strv_opt(rd, o, "over_limit", &r->over_limit, &r->n_over_limit);
	r->defer_over = get_bool_opt(rd, o, "defer_over") && r->n_over_limit > 0;
	{
		char *hex = get_str_opt(rd, o, "contact_tag"), *end = NULL;
		if (hex) {
			r->contact_tag = strtoull(hex, &end, 16);
			if (strlen(hex) != 16 || *end)
				r->contact_tag = 0; /* (counted as its own: fewer calls, never more) */
			free(hex);
			r->contact_base = (int)get_int_opt(rd, o, "contact_base", 0, STATE_COUNT_MAX);
		}
	}
	get_strv_opt(rd, o, "retry_recipients", &r->retry_keys, &r->n_retry_keys);
}

/* The batch as the API last described it. */
static void read_batch(struct record_reader *rd, struct json_object *o, struct run *r)
{
	struct json_object *b = field(rd, o, "batch", json_type_object, false);
	char *s;

	if (!b)
		return;
	s = get_str(rd, b, "status", false);
	if (s)
		r->batch.status = batch_status_from_name(s);
	free(s);
	r->batch.created_at_unix = get_int(rd, b, "created_at_unix", 0, CODEC_TIME_MAX);
	r->batch.scheduled_time_unix = get_int(rd, b, "scheduled_time_unix", 0, CODEC_TIME_MAX);
	r->batch.last_updated_at_unix = get_int(rd, b, "last_updated_at_unix", 0, CODEC_TIME_MAX);
	r->batch.total_calls_dispatched = get_int(rd, b, "total_calls_dispatched", 0, CODEC_COUNT_MAX);
	r->batch.total_calls_scheduled = get_int(rd, b, "total_calls_scheduled", 0, CODEC_COUNT_MAX);
	r->batch.total_calls_finished = get_int(rd, b, "total_calls_finished", 0, CODEC_COUNT_MAX);
	r->batch.retry_count = get_int(rd, b, "retry_count", 0, CODEC_RETRY_COUNT_MAX);
}

/* How the run ended, or has gone so far: the recipients' outcomes, the
 * last error and the two instants. */
static void read_outcome(struct record_reader *rd, struct json_object *o, struct run *r)
{
	struct json_object *c = field(rd, o, "counts", json_type_object, true);

	if (c) {
		r->counts_valid = true;
		for (int i = 0; i < BATCH_RCPT__MAX; i++)
			r->counts[i] = get_int(rd, c, batch_rcpt_status_name(i), 0, STATE_INT_MAX);
	}
	r->error = get_str(rd, o, "error", true);
	r->submitted_at = get_int(rd, o, "submitted_at", 0, STATE_INT_MAX);
	r->finished_at = get_int(rd, o, "finished_at", 0, STATE_INT_MAX);
	r->finished_ms = get_int_opt(rd, o, "finished_ms", 0, STATE_INT_MAX);
}

int state_parse(const char *text, size_t len, struct run **ret, char **cause)
{
	struct record_reader rd = { 0 };
	struct json_object *o = read_document(&rd, text, len);
	struct run *r = NULL;
	int rc = -EBADMSG;

	if (o)
		read_header(&rd, o);
	if (rd.cause)
		goto out;
	r = xcalloc(1, sizeof(*r));
	read_identity(&rd, o, r);
	read_submit(&rd, o, r);
	read_timing(&rd, o, r);
	read_part(&rd, o, r);
	r->failures = (int)get_int(&rd, o, "failures", 0, STATE_COUNT_MAX);
	r->cancel_wanted = get_bool(&rd, o, "cancel_wanted");
	r->removing = get_bool(&rd, o, "removing");
	r->late_logged = get_bool(&rd, o, "late_logged");
	read_batch(&rd, o, r);
	read_outcome(&rd, o, r);
	if (!rd.cause && (!job_name_valid(r->job) || !*r->call_name))
		rd.cause = xstrdup("invalid job or call_name");
	if (!rd.cause && r->batch_id && !*r->batch_id)
		rd.cause = xstrdup("key 'batch_id' is empty");
	if (rd.cause)
		goto out;
	*ret = r;
	r = NULL;
	rc = 0;
out:
	if (rd.cause && cause)
		*cause = rd.cause;
	else
		free(rd.cause);
	run_free(r);
	json_object_put(o);
	return rc;
}

/* --- file names ------------------------------------------------------------ */

static bool name_byte_plain(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
	       c == ',' || c == '-';
}

char *state_tombstone_format(const char *job, int64_t start, const char *part)
{
	struct sbuf b = { 0 };

	sbuf_adds(&b, "{\"remove\":{\"job\":");
	sbuf_add_json_bytes(&b, job);
	sbuf_adds(&b, ",\"start\":");
	sbuf_add_int(&b, start);
	sbuf_adds(&b, ",\"part\":");
	sbuf_add_json_bytes(&b, part); /* null for a whole run */
	sbuf_adds(&b, "}}");
	return sbuf_steal(&b, NULL);
}

int state_tombstone_parse(const char *text, size_t len, char **ret_job, int64_t *ret_start, char **ret_part)
{
	static const char head[] = "{\"remove\":";
	struct json_tokener *tok;
	struct json_object *o, *k, *v;
	int rc = -EINVAL;

	/* A run record never starts so: skip the parse for those. */
	if (len < sizeof(head) - 1 || memcmp(text, head, sizeof(head) - 1) != 0 || len > INT32_MAX)
		return -EINVAL;
	tok = json_tokener_new_ex(8);
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != len ||
	    !json_object_is_type(o, json_type_object) || json_object_object_length(o) != 1 ||
	    !json_object_object_get_ex(o, "remove", &k) || !json_object_is_type(k, json_type_object))
		goto out;
	if (!json_object_object_get_ex(k, "job", &v) || !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0 ||
	    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
		goto out;
	*ret_job = xstrdup(json_object_get_string(v));
	if (!json_object_object_get_ex(k, "start", &v) || !json_object_is_type(v, json_type_int)) {
		free(*ret_job);
		goto out;
	}
	*ret_start = json_object_get_int64(v);
	*ret_part = NULL;
	if (json_object_object_get_ex(k, "part", &v) && v) {
		if (!json_object_is_type(v, json_type_string) ||
		    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v)) {
			free(*ret_job);
			goto out;
		}
		*ret_part = xstrdup(json_object_get_string(v));
	}
	rc = 0;
out:
	json_object_put(o);
	json_tokener_free(tok);
	return rc;
}

char *state_file_name(const char *job, int64_t start, const char *part)
{
	static const char hex[] = "0123456789ABCDEF";
	char *enc, *o, *name;

	if (!part)
		return xasprintf("%s@%" PRId64 ".json", job, start);
	enc = xmalloc(3 * strlen(part) + 1);
	o = enc;
	for (const unsigned char *p = (const unsigned char *)part; *p; p++) {
		if (name_byte_plain(*p)) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	name = xasprintf("%s@%" PRId64 "@%s.json", job, start, enc);
	free(enc);
	return name;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The part of a first-version name: '~' was '/', and the '_' of the
 * follow-up parts it wrote ("resume 1", "ZONE, resume 1") was ' '. Zone
 * names have no spaces, so this reads back every part it wrote. */
static char *legacy_part(const char *enc, size_t n)
{
	char *p = xstrndup(enc, n), *hit;

	for (char *c = p; *c; c++)
		if (*c == '~')
			*c = '/';
	if (strncmp(p, "resume_", 7) == 0)
		p[6] = ' ';
	hit = strstr(p, ",_resume_");
	if (hit) {
		hit[1] = ' ';
		hit[8] = ' ';
	}
	return p;
}

int state_file_key(const char *name, char **ret_job, int64_t *ret_start, char **ret_part, bool *ret_legacy)
{
	size_t n = strlen(name);
	const char *at1, *at2, *end;
	char *job = NULL, *part = NULL, *canon = NULL;
	int64_t start;
	bool legacy = false;
	int rc = -EINVAL;

	if (n < 5 || strcmp(name + n - 5, ".json") != 0)
		return -EINVAL;
	end = name + n - 5;
	at1 = memchr(name, '@', (size_t)(end - name));
	if (!at1)
		return -EINVAL;
	job = xstrndup(name, (size_t)(at1 - name));
	at2 = memchr(at1 + 1, '@', (size_t)(end - at1 - 1));
	{
		char *num = xstrndup(at1 + 1, (size_t)((at2 ? at2 : end) - at1 - 1));
		int r = parse_int64(num, INT64_MIN, INT64_MAX, &start);
		free(num);
		if (r < 0)
			goto out;
	}
	if (at2) {
		const char *enc = at2 + 1;
		size_t len = (size_t)(end - enc);
		if (len == 0)
			goto out;
		if (memchr(enc, '%', len) || (!memchr(enc, '~', len) && !memchr(enc, '_', len))) {
			char *o = part = xmalloc(len + 1);
			for (size_t i = 0; i < len; i++) {
				if (enc[i] == '%') {
					int hi = i + 2 < len ? hex_digit(enc[i + 1]) : -1;
					int lo = i + 2 < len ? hex_digit(enc[i + 2]) : -1;
					if (hi < 0 || lo < 0)
						goto out;
					*o++ = (char)(hi * 16 + lo);
					i += 2;
				} else {
					*o++ = enc[i];
				}
			}
			*o = '\0';
			if (strlen(part) != (size_t)(o - part))
				goto out; /* an encoded NUL */
		} else {
			part = legacy_part(enc, len);
			legacy = true;
		}
	}
	if (!job_name_valid(job))
		goto out;
	/* One name per identity: only the canonical spelling counts. */
	if (!legacy) {
		canon = state_file_name(job, start, part);
		if (strcmp(canon, name) != 0)
			goto out;
	}
	*ret_job = job;
	*ret_start = start;
	*ret_part = part;
	if (ret_legacy)
		*ret_legacy = legacy;
	job = part = NULL;
	rc = 0;
out:
	free(canon);
	free(job);
	free(part);
	return rc;
}
