/*
 * conv: a conversation body (GET /v1/convai/conversations/{id}, or a
 * post_call_transcription's data) into struct conv, through jsonin: the
 * transcript and the echoed client data are set aside, each data
 * collection value is captured as the exact text sent.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "conv.h"
#include "util.h"

/* --- names ------------------------------------------------------------- */

static const char *const status_names[CONV_STATUS__MAX] = {
	[CONV_INITIATED] = "initiated", [CONV_IN_PROGRESS] = "in-progress", [CONV_PROCESSING] = "processing",
	[CONV_DONE] = "done",           [CONV_FAILED] = "failed",           [CONV_STATUS_UNKNOWN] = "unknown",
};

static const char *const verdict_names[CONV_VERDICT__MAX] = {
	[CONV_SUCCESS] = "success", [CONV_FAILURE] = "failure", [CONV_UNKNOWN] = "unknown",
};

static const char *const call_result_names[CONV_CALL__MAX] = {
	[CONV_CALL_NONE] = NULL,          [CONV_CALL_ANSWERED] = "answered", [CONV_CALL_VOICEMAIL] = "voicemail",
	[CONV_CALL_BUSY] = "busy",        [CONV_CALL_NO_ANSWER] = "no_answer", [CONV_CALL_FAILED] = "failed",
	[CONV_CALL_OTHER] = "unknown",
};

static const char *const failure_names[CONV_FAILURE__MAX] = {
	[CONV_FAILURE_BUSY] = "busy", [CONV_FAILURE_NO_ANSWER] = "no-answer", [CONV_FAILURE_UNKNOWN] = "unknown",
};

/* The index of s among names[from..to), or dflt. */
static int lookup(const char *const *names, int from, int to, const char *s, int dflt)
{
	for (int i = from; s && i < to; i++)
		if (names[i] && strcmp(s, names[i]) == 0)
			return i;
	return dflt;
}

const char *conv_status_name(enum conv_status s)
{
	return status_names[(unsigned)s < CONV_STATUS__MAX ? s : CONV_STATUS_UNKNOWN];
}

enum conv_status conv_status_from_name(const char *s)
{
	/* "unknown" is our placeholder, not a wire value */
	return (enum conv_status)lookup(status_names, 0, CONV_STATUS_UNKNOWN, s, CONV_STATUS_UNKNOWN);
}

const char *conv_verdict_name(enum conv_verdict v)
{
	return verdict_names[(unsigned)v < CONV_VERDICT__MAX ? v : CONV_UNKNOWN];
}

enum conv_verdict conv_verdict_from_name(const char *s)
{
	return (enum conv_verdict)lookup(verdict_names, 0, CONV_VERDICT__MAX, s, CONV_UNKNOWN);
}

const char *conv_call_result_name(enum conv_call_result c)
{
	return call_result_names[(unsigned)c < CONV_CALL__MAX ? c : CONV_CALL_OTHER];
}

enum conv_call_result conv_call_result_from_name(const char *s)
{
	if (!s)
		return CONV_CALL_NONE;
	return (enum conv_call_result)lookup(call_result_names, CONV_CALL_ANSWERED, CONV_CALL_OTHER, s,
					     CONV_CALL_OTHER);
}

const char *conv_failure_reason_name(enum conv_failure_reason f)
{
	return failure_names[(unsigned)f < CONV_FAILURE__MAX ? f : CONV_FAILURE_UNKNOWN];
}

enum conv_failure_reason conv_failure_reason_from_name(const char *s)
{
	return (enum conv_failure_reason)lookup(failure_names, 0, CONV_FAILURE__MAX, s, CONV_FAILURE_UNKNOWN);
}

/* --- destructors ------------------------------------------------------- */

void conv_clear(struct conv *c)
{
	if (!c)
		return;
	free(c->conversation_id);
	free(c->agent_id);
	free(c->termination_reason);
	free(c->batch_call_id);
	free(c->batch_call_recipient_id);
	free(c->transcript_summary);
	for (size_t i = 0; c->data && i < c->n_data; i++) {
		free(c->data[i].id);
		free(c->data[i].value);
	}
	free(c->data);
	for (size_t i = 0; c->evals && i < c->n_evals; i++)
		free(c->evals[i].id);
	free(c->evals);
	*c = (struct conv){ 0 };
}

void conv_failure_clear(struct conv_failure *f)
{
	if (!f)
		return;
	free(f->agent_id);
	free(f->conversation_id);
	*f = (struct conv_failure){ 0 };
}

int conv_completeness(const struct conv *c)
{
	if (c->status == CONV_FAILED || (c->status == CONV_DONE && c->has_analysis))
		return 3;
	if (c->status == CONV_DONE)
		return 2;
	if (c->status == CONV_PROCESSING)
		return 1;
	return 0;
}

bool conv_final(const struct conv *c)
{
	return conv_completeness(c) == 3;
}

bool conv_supersedes(const struct conv *c, const struct conv *kept)
{
	return conv_completeness(c) > conv_completeness(kept);
}

bool conv_retained(int64_t seen_ms, bool owned, bool gone, int64_t now_ms, int64_t retention_s)
{
	if (gone)
		return false;
	if (owned)
		return true;
	return seen_ms > now_ms - retention_s * 1000;
}

/* --- the rule ------------------------------------------------------------ */

enum jsonin_take conv_json_rule(const struct jsonin_path *p, int base, unsigned char first, int *ret_tag)
{
	if (p->depth == base + 1 && first == '[' && jsonin_path_key(p, base, "transcript")) {
		*ret_tag = CONV_ASIDE_TRANSCRIPT;
		return JSONIN_SET_ASIDE;
	}
	if (p->depth == base + 1 && first == '{' && jsonin_path_key(p, base, "conversation_initiation_client_data")) {
		*ret_tag = CONV_ASIDE_CLIENT_DATA;
		return JSONIN_SET_ASIDE;
	}
	/* analysis.data_collection_results.<id>.value */
	if (p->depth == base + 4 && jsonin_path_key(p, base, "analysis") &&
	    jsonin_path_key(p, base + 1, "data_collection_results") && p->lv[base + 2].kind == '{' &&
	    jsonin_path_key(p, base + 3, "value"))
		return JSONIN_CAPTURE;
	return JSONIN_BUILD;
}

static enum jsonin_take rule_cb(const struct jsonin_path *p, unsigned char first, int *ret_tag, void *arg)
{
	return conv_json_rule(p, 0, first, ret_tag);
}

/* The log line's envelope: its conversation is read as a body is. */
static enum jsonin_take log_rule_cb(const struct jsonin_path *p, unsigned char first, int *ret_tag, void *arg)
{
	(void)arg;
	if (p->depth < 1 || !jsonin_path_key(p, 0, "conversation"))
		return JSONIN_BUILD;
	return conv_json_rule(p, 1, first, ret_tag);
}

/* --- reading ------------------------------------------------------------- */

enum { REQ = JSONIN_REQUIRED, OPT = JSONIN_NULLABLE };

/* "prefix.key" for nested causes. */
static void join(char *buf, size_t size, const char *prefix, const char *key)
{
	/* prefixes are ours and short; a cut one still names the place */
	if (snprintf(buf, size, "%s%s%s", prefix, *prefix ? "." : "", key) >= (int)size)
		buf[size - 1] = '\0';
}

/* "prefix.id" for a map item whose id is plain, else "prefix[N]" (an id
 * from the body is never echoed raw into a log line). */
static void item_prefix(char *buf, size_t size, const char *prefix, const char *id, size_t n)
{
	bool plain = *id && strlen(id) <= 64;
	for (const char *c = id; plain && *c; c++)
		plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			*c == '_' || *c == '-' || *c == '.';
	if ((plain ? snprintf(buf, size, "%s.%s", prefix, id) : snprintf(buf, size, "%s[%zu]", prefix, n)) >=
	    (int)size)
		buf[size - 1] = '\0';
}

static const struct jsonin_shape conv_shapes[] = {
	{ "agent_name", json_type_string, OPT },
	{ "user_id", json_type_string, OPT },
	{ "branch_id", json_type_string, OPT },
	{ "version_id", json_type_string, OPT },
	{ "environment", json_type_string, OPT },
	{ "transcript", json_type_array, OPT },
	{ "conversation_initiation_client_data", json_type_object, OPT },
	{ "has_audio", json_type_boolean, REQ },
	{ "has_user_audio", json_type_boolean, REQ },
	{ "has_response_audio", json_type_boolean, REQ },
	/* required by SDK 2.73.0, absent from the webhook's list (§5.3) */
	{ "has_auxiliary_audio", json_type_boolean, OPT },
};

static const struct jsonin_shape metadata_shapes[] = {
	{ "queue_wait_secs", json_type_double, OPT },
	{ "cost", json_type_int, OPT },
	{ "cost_fiat", json_type_double, OPT },
	{ "warnings", json_type_array, OPT },
	{ "main_language", json_type_string, OPT },
	{ "conversation_initiation_source", json_type_string, OPT },
	{ "timezone", json_type_string, OPT },
};

static const struct jsonin_shape error_shapes[] = {
	{ "code", json_type_int, REQ },
	{ "reason", json_type_string, OPT },
};

/* The keys every documented phone_call type requires (§3.4). */
static const struct jsonin_shape phone_shapes[] = {
	{ "direction", json_type_string, REQ },
	{ "phone_number_id", json_type_string, REQ },
	{ "agent_number", json_type_string, REQ },
	{ "external_number", json_type_string, REQ },
	{ "call_sid", json_type_string, REQ },
	{ "stream_sid", json_type_string, OPT },
	{ "call_id", json_type_string, OPT },
	{ "sip_header_dynamic_variables", json_type_object, OPT },
};

static const struct jsonin_shape analysis_shapes[] = {
	{ "call_summary_title", json_type_string, OPT },
	{ "call_success_score", json_type_double, OPT },
	{ "evaluation_criteria_results_list", json_type_array, OPT },
	{ "data_collection_results_list", json_type_array, OPT },
};

static const struct jsonin_shape eval_shapes[] = {
	{ "criteria_id", json_type_string, REQ },
	{ "rationale", json_type_string, REQ },
	{ "scoring_mode", json_type_string, OPT },
	{ "score", json_type_double, OPT },
	{ "max_score", json_type_double, OPT },
};

static const struct jsonin_shape data_shapes[] = {
	{ "data_collection_id", json_type_string, REQ },
	{ "rationale", json_type_string, REQ },
	{ "name", json_type_string, OPT },
	{ "json_schema", json_type_object, OPT },
};

static int parse_phone_call(json_object *m, const char *prefix, struct conv *c, char **cause)
{
	static const char *const types[] = { "twilio", "sip_trunking", "exotel" };
	json_object *pc;
	const char *type, *result;
	char pre[64];
	int r;

	if ((r = jsonin_get(m, prefix, "phone_call", json_type_object, OPT, &pc, cause)) < 0 || !pc)
		return r;
	join(pre, sizeof(pre), prefix, "phone_call");
	if ((r = jsonin_get_cstr(pc, pre, "type", REQ, &type, cause)) < 0 ||
	    (r = jsonin_get_cstr(pc, pre, "call_result", OPT, &result, cause)) < 0)
		return r;
	/* a type this build does not know may carry other keys (§1: the API
	 * grows); the documented ones must carry theirs */
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (strcmp(type, types[i]) == 0 &&
		    (r = jsonin_check_shapes(pc, pre, phone_shapes, ARRAY_SIZE(phone_shapes), cause)) < 0)
			return r;
	c->call_result = conv_call_result_from_name(result);
	return 0;
}

static int parse_metadata(json_object *o, const char *prefix, struct conv *c, char **cause)
{
	json_object *m, *v;
	int64_t unused;
	char pre[64], sub[80];
	int r;

	if ((r = jsonin_get(o, prefix, "metadata", json_type_object, REQ, &m, cause)) < 0)
		return r;
	join(pre, sizeof(pre), prefix, "metadata");
	if ((r = jsonin_get_int64(m, pre, "start_time_unix_secs", REQ, 0, CODEC_TIME_MAX, &c->start_time_unix_secs,
				  cause)) < 0 ||
	    (r = jsonin_get_int64(m, pre, "call_duration_secs", REQ, 0, CONV_DURATION_MAX, &c->call_duration_secs,
				  cause)) < 0 ||
	    (r = jsonin_get_int64(m, pre, "accepted_time_unix_secs", OPT, 0, CODEC_TIME_MAX, &unused, cause)) < 0 ||
	    (r = jsonin_get_str(m, pre, "termination_reason", OPT, &c->termination_reason, cause)) < 0 ||
	    (r = jsonin_check_shapes(m, pre, metadata_shapes, ARRAY_SIZE(metadata_shapes), cause)) < 0)
		return r;
	if (!c->termination_reason)
		c->termination_reason = xstrdup(""); /* the documented default */
	if ((r = jsonin_get(m, pre, "error", json_type_object, OPT, &v, cause)) < 0)
		return r;
	join(sub, sizeof(sub), pre, "error");
	if (v && (r = jsonin_check_shapes(v, sub, error_shapes, ARRAY_SIZE(error_shapes), cause)) < 0)
		return r;
	if ((r = parse_phone_call(m, pre, c, cause)) < 0)
		return r;
	if ((r = jsonin_get(m, pre, "batch_call", json_type_object, OPT, &v, cause)) < 0)
		return r;
	if (v) {
		join(sub, sizeof(sub), pre, "batch_call");
		if ((r = jsonin_get_str(v, sub, "batch_call_id", REQ, &c->batch_call_id, cause)) < 0 ||
		    (r = jsonin_get_str(v, sub, "batch_call_recipient_id", REQ, &c->batch_call_recipient_id, cause)) < 0 ||
		    (r = jsonin_get(v, sub, "campaign", json_type_object, OPT, &v, cause)) < 0)
			return r;
	}
	return 0;
}

static int data_cmp(const void *a, const void *b)
{
	return strcmp(((const struct conv_data *)a)->id, ((const struct conv_data *)b)->id);
}

static int eval_cmp(const void *a, const void *b)
{
	return strcmp(((const struct conv_eval *)a)->id, ((const struct conv_eval *)b)->id);
}

static int parse_evals(json_object *a, const char *prefix, struct conv *c, char **cause)
{
	json_object *map;
	char pre[96], item[192];
	size_t n = 0;
	int r;

	if ((r = jsonin_get(a, prefix, "evaluation_criteria_results", json_type_object, OPT, &map, cause)) < 0 ||
	    !map)
		return r;
	join(pre, sizeof(pre), prefix, "evaluation_criteria_results");
	c->evals = xcalloc((size_t)json_object_object_length(map) + 1, sizeof(*c->evals));
	json_object_object_foreach(map, key, v) {
		const char *result;
		item_prefix(item, sizeof(item), pre, key, n);
		if (!v || !json_object_is_type(v, json_type_object))
			return jsonin_fail(cause, "%s: expected an object", item);
		if ((r = jsonin_get_cstr(v, item, "result", REQ, &result, cause)) < 0 ||
		    (r = jsonin_check_shapes(v, item, eval_shapes, ARRAY_SIZE(eval_shapes), cause)) < 0)
			return r;
		c->evals[c->n_evals].id = xstrdup(key);
		c->evals[c->n_evals].result = conv_verdict_from_name(result);
		c->n_evals++;
		n++;
	}
	qsort(c->evals, c->n_evals, sizeof(*c->evals), eval_cmp);
	return 0;
}

static int parse_data(json_object *a, const char *prefix, const struct jsonin_doc *doc, struct conv *c,
		      char **cause)
{
	json_object *map, *value;
	char pre[96], item[192];
	size_t n = 0;
	int r;

	if ((r = jsonin_get(a, prefix, "data_collection_results", json_type_object, OPT, &map, cause)) < 0 || !map)
		return r;
	join(pre, sizeof(pre), prefix, "data_collection_results");
	c->data = xcalloc((size_t)json_object_object_length(map) + 1, sizeof(*c->data));
	json_object_object_foreach(map, key, v) {
		const struct jsonin_capture *cap = NULL;
		item_prefix(item, sizeof(item), pre, key, n);
		if (!v || !json_object_is_type(v, json_type_object))
			return jsonin_fail(cause, "%s: expected an object", item);
		if ((r = jsonin_check_shapes(v, item, data_shapes, ARRAY_SIZE(data_shapes), cause)) < 0)
			return r;
		/* "value": any JSON, null included, or absent; captured by
		 * the rule, so json-c holds the capture's number */
		if (json_object_object_get_ex(v, "value", &value)) {
			cap = jsonin_capture_of(doc, value);
			if (!cap)
				return jsonin_field_fail(cause, item, "value", "not read as captured");
		}
		c->data[c->n_data].id = xstrdup(key);
		c->data[c->n_data].value = xstrdup(cap ? cap->text : "null");
		c->n_data++;
		n++;
	}
	qsort(c->data, c->n_data, sizeof(*c->data), data_cmp);
	return 0;
}

static int parse_analysis(json_object *o, const char *prefix, const struct jsonin_doc *doc, struct conv *c,
			  char **cause)
{
	json_object *a;
	const char *verdict;
	char pre[64];
	int r;

	c->call_successful = CONV_UNKNOWN;
	if ((r = jsonin_get(o, prefix, "analysis", json_type_object, OPT, &a, cause)) < 0 || !a)
		return r;
	c->has_analysis = true;
	join(pre, sizeof(pre), prefix, "analysis");
	/* both required by the SDK; captures exist without them (§3.5) */
	if ((r = jsonin_get_cstr(a, pre, "call_successful", OPT, &verdict, cause)) < 0 ||
	    (r = jsonin_get_str(a, pre, "transcript_summary", OPT, &c->transcript_summary, cause)) < 0 ||
	    (r = jsonin_check_shapes(a, pre, analysis_shapes, ARRAY_SIZE(analysis_shapes), cause)) < 0 ||
	    (r = parse_evals(a, pre, c, cause)) < 0 || (r = parse_data(a, pre, doc, c, cause)) < 0)
		return r;
	c->call_successful = conv_verdict_from_name(verdict);
	return 0;
}

int conv_from_json(json_object *o, const char *prefix, const struct jsonin_doc *doc, struct conv *ret,
		   char **cause)
{
	struct conv c = { 0 };
	const struct jsonin_aside *t = &doc->aside[CONV_ASIDE_TRANSCRIPT];
	const char *status;
	int r;

	if ((r = jsonin_get_str(o, prefix, "conversation_id", REQ, &c.conversation_id, cause)) < 0)
		goto out;
	/* the id goes into request paths and joins rows: it must say something */
	if (!*c.conversation_id) {
		r = jsonin_field_fail(cause, prefix, "conversation_id", "empty string");
		goto out;
	}
	if ((r = jsonin_get_str(o, prefix, "agent_id", REQ, &c.agent_id, cause)) < 0 ||
	    (r = jsonin_get_cstr(o, prefix, "status", REQ, &status, cause)) < 0 ||
	    (r = jsonin_check_shapes(o, prefix, conv_shapes, ARRAY_SIZE(conv_shapes), cause)) < 0 ||
	    (r = parse_metadata(o, prefix, &c, cause)) < 0 || (r = parse_analysis(o, prefix, doc, &c, cause)) < 0)
		goto out;
	if (t->non_objects > 0) {
		r = jsonin_field_fail(cause, prefix, "transcript", "every turn must be an object");
		goto out;
	}
	c.status = conv_status_from_name(status);
	c.transcript_turns = t->items;
	*ret = c;
	return 0;
out:
	conv_clear(&c);
	return r;
}

int conv_parse(const char *body, size_t len, struct conv *ret, char **cause)
{
	struct jsonin_opts o = { CONV_MAX_BODY, CONV_MAX_PARSE_COST, rule_cb, NULL };
	struct jsonin_doc doc;
	int r;

	if ((r = jsonin_parse(body, len, &o, &doc, cause)) < 0)
		return r;
	r = conv_from_json(doc.root, "", &doc, ret, cause);
	jsonin_doc_clear(&doc);
	return r;
}

/* --- the conversations log ------------------------------------------------ */

#define LOG_HEAD "{\"kept_ms\":"
#define LOG_MID ",\"conversation\":"

char *conv_log_line(int64_t kept_ms, const char *body, size_t len, size_t *ret_len)
{
	char head[64];
	int h = snprintf(head, sizeof(head), LOG_HEAD "%" PRId64 LOG_MID, kept_ms);
	char *line = xmalloc((size_t)h + len + 3), *p = line + h;

	memcpy(line, head, (size_t)h);
	for (size_t i = 0; i < len; i++)
		p[i] = body[i] == '\n' || body[i] == '\r' ? ' ' : body[i];
	p += len;
	*p++ = '}';
	*p++ = '\n';
	*p = '\0';
	*ret_len = (size_t)(p - line);
	return line;
}

int conv_log_parse(const char *line, size_t len, int64_t *ret_kept_ms, struct conv *ret, char **cause)
{
	/* the envelope adds a few bytes to a body's caps */
	struct jsonin_opts o = { CONV_MAX_BODY + 64, CONV_MAX_PARSE_COST, log_rule_cb, NULL };
	struct jsonin_doc doc;
	json_object *body;
	int64_t kept;
	int r;

	if ((r = jsonin_parse(line, len, &o, &doc, cause)) < 0)
		return r;
	if ((r = jsonin_get_int64(doc.root, "", "kept_ms", REQ, 0, CODEC_TIME_MAX * 1000, &kept, cause)) == 0 &&
	    (r = jsonin_get(doc.root, "", "conversation", json_type_object, REQ, &body, cause)) == 0 &&
	    (r = conv_from_json(body, "conversation", &doc, ret, cause)) == 0)
		*ret_kept_ms = kept;
	jsonin_doc_clear(&doc);
	return r;
}
