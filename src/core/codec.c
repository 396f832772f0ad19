/*
 * codec: JSON <-> structs for the ElevenLabs batch-calling API (API doc §3,
 * §4, §7), on top of json-c.
 *
 * Responses are read under the document's rules for a client: unknown keys
 * and unknown enum strings are tolerated (the API grows), optional keys may
 * be absent or null (the docs and the live server disagree on which), and
 * everything else must be exactly as documented. A body that is not that
 * JSON is refused with -EBADMSG and a cause that names the key path, so the
 * shell can treat it as a transient failure (SPEC §5.4) and log why.
 *
 * The submit body is built in a fixed key order so that its text is
 * deterministic: tests compare it byte for byte and the state file can
 * record exactly what was sent.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "codec.h"
#include "jsonin.h"
#include "sbuf.h"
#include "utf8.h"
#include "util.h"

/* Twice the largest answer the api layer reads (api.h): a larger body is
 * not the documented JSON (and json-c takes an int length). */
#define CODEC_MAX_BODY ((size_t)128 << 20)
/* codec_error_message: how much of a body or of one API string to echo. */
#define ERR_SNIPPET_CHARS 200
#define ERR_MAX_ITEMS 10

/* --- submit body ------------------------------------------------------- */

/* Keys are literals that outlive the object and are added once each, so
 * json-c can skip both the copy and the duplicate lookup: this keeps
 * 10,000 recipients cheap. */
static void put(json_object *o, const char *key, json_object *v)
{
	json_object_object_add_ex(o, key, v, JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT);
}

static void put_str(json_object *o, const char *key, const char *s)
{
	put(o, key, s ? json_object_new_string(s) : NULL);
}

/* The shortest text that reads back as the same double, always with a '.'
 * or an exponent so that the value stays a JSON float (7.0, not 7). JSON
 * has no NaN or infinity: those become null rather than invalid JSON. */
static json_object *new_double(double f)
{
	char buf[40];

	if (!isfinite(f))
		return NULL;
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, f);
		if (strtod(buf, NULL) == f)
			break;
	}
	/* a decimal-comma LC_NUMERIC must not leak into the wire format */
	for (char *p = buf; *p; p++)
		if (*p == ',')
			*p = '.';
	if (!strpbrk(buf, ".eE"))
		strcat(buf, ".0");
	return json_object_new_double_s(f, buf);
}

static json_object *var_value(const struct var *v)
{
	switch (v->type) {
	case VAR_STRING:
		return v->s ? json_object_new_string(v->s) : NULL;
	case VAR_INT:
		return json_object_new_int64(v->i);
	case VAR_FLOAT:
		return new_double(v->f);
	case VAR_BOOL:
		return json_object_new_boolean(v->b);
	}
	return NULL;
}

/* conversation_initiation_client_data, or NULL when the recipient has
 * neither variables nor overrides (the key is then left out). */
static json_object *client_data(const struct recipient *r)
{
	json_object *cd, *override, *agent, *prompt, *tts, *vars;
	bool has_agent = r->language || r->first_message || r->system_prompt;

	if (r->n_vars == 0 && !has_agent && !r->voice_id)
		return NULL;
	cd = json_object_new_object();
	if (r->n_vars > 0) {
		vars = json_object_new_object();
		/* names come from the job file: copied, and a duplicate
		 * (refused by the loader anyway) replaces, never repeats */
		for (size_t i = 0; i < r->n_vars; i++)
			if (r->vars[i].name)
				json_object_object_add(vars, r->vars[i].name, var_value(&r->vars[i]));
		put(cd, "dynamic_variables", vars);
	}
	if (has_agent || r->voice_id) {
		override = json_object_new_object();
		if (has_agent) {
			agent = json_object_new_object();
			if (r->language)
				put_str(agent, "language", r->language);
			if (r->first_message)
				put_str(agent, "first_message", r->first_message);
			if (r->system_prompt) {
				prompt = json_object_new_object();
				put_str(prompt, "prompt", r->system_prompt);
				put(agent, "prompt", prompt);
			}
			put(override, "agent", agent);
		}
		if (r->voice_id) {
			tts = json_object_new_object();
			put_str(tts, "voice_id", r->voice_id);
			put(override, "tts", tts);
		}
		put(cd, "conversation_config_override", override);
	}
	return cd;
}

static json_object *recipient_json(const struct recipient *r)
{
	json_object *o = json_object_new_object(), *cd;

	if (r->id)
		put_str(o, "id", r->id);
	if (r->phone_number)
		put_str(o, "phone_number", r->phone_number);
	if (r->whatsapp_user_id)
		put_str(o, "whatsapp_user_id", r->whatsapp_user_id);
	cd = client_data(r);
	if (cd)
		put(o, "conversation_initiation_client_data", cd);
	return o;
}

char *codec_submit_body_only(const struct jobspec *j, const char *call_name, int64_t scheduled_time_unix,
			     const bool *include)
{
	json_object *root = json_object_new_object(), *o, *rcpts;
	const char *text;
	size_t len;
	char *ret;

	/* The key order follows API §4.1 and never varies. */
	put_str(root, "call_name", call_name ? call_name : jobspec_call_base(j));
	put_str(root, "agent_id", j->agent_id);
	if (j->phone_number_id)
		put_str(root, "agent_phone_number_id", j->phone_number_id);
	/* 0 (or less) means "start now": the key is left out, not null,
	 * so the API applies its own default. */
	if (scheduled_time_unix > 0)
		put(root, "scheduled_time_unix", json_object_new_int64(scheduled_time_unix));
	if (j->timezone)
		put_str(root, "timezone", j->timezone);
	if (j->branch_id)
		put_str(root, "branch_id", j->branch_id);
	if (j->environment)
		put_str(root, "environment", j->environment);
	if (j->ringing_timeout_secs != 0) {
		o = json_object_new_object();
		put(o, "ringing_timeout_secs", json_object_new_int(j->ringing_timeout_secs));
		put(root, "telephony_call_config", o);
	}
	if (j->target_concurrency_limit != 0)
		put(root, "target_concurrency_limit", json_object_new_int(j->target_concurrency_limit));
	if (j->has_whatsapp) {
		o = json_object_new_object();
		if (j->whatsapp.phone_number_id)
			put_str(o, "whatsapp_phone_number_id", j->whatsapp.phone_number_id);
		/* required by the API: sent even when unset so that the API's
		 * 422 names the missing field instead of us guessing */
		put_str(o, "whatsapp_call_permission_request_template_name", j->whatsapp.template_name);
		put_str(o, "whatsapp_call_permission_request_template_language_code",
			j->whatsapp.template_language_code);
		put(root, "whatsapp_params", o);
	}
	rcpts = json_object_new_array_ext((int)(j->n_recipients < INT_MAX ? j->n_recipients : INT_MAX));
	for (size_t i = 0; i < j->n_recipients; i++)
		if (!include || include[i])
			json_object_array_add(rcpts, recipient_json(&j->recipients[i]));
	put(root, "recipients", rcpts);

	text = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
						 &len);
	if (!text)
		abort(); /* json-c only fails here when out of memory */
	ret = xstrndup(text, len);
	json_object_put(root);
	return ret;
}

/* --- parsing helpers --------------------------------------------------- */

/* The document's responses cost json-c a few times their size (jsonin.c
 * prices them): a page of 100 batches about 0.6 MiB, the recipients of a
 * 10,000-recipient detail about 20 MiB once their client data is set
 * aside (below). */
#define CODEC_MAX_PARSE_COST ((size_t)64 << 20)

/* The recipients' conversation_initiation_client_data objects echo
 * whatever the submit sent (dynamic variables, prompts: megabytes across
 * 10,000 recipients) and the daemon reads nothing of them but their type,
 * so a detail is parsed with each one set aside (checked, then {}). */
static enum jsonin_take detail_rule(const struct jsonin_path *p, unsigned char first, int *ret_tag, void *arg)
{
	if (p->depth == 3 && first == '{' && jsonin_path_key(p, 0, "recipients") && p->lv[1].kind == '[' &&
	    jsonin_path_key(p, 2, "conversation_initiation_client_data"))
		return JSONIN_SET_ASIDE;
	return JSONIN_BUILD;
}

/* Parse a whole body into a JSON object, refusing anything that is not
 * exactly one JSON object (optionally surrounded by whitespace). */
static int parse_root(const char *body, size_t len, bool set_aside, json_object **ret, char **cause)
{
	struct jsonin_opts o = { CODEC_MAX_BODY, CODEC_MAX_PARSE_COST, set_aside ? detail_rule : NULL, NULL };
	struct jsonin_doc d;
	int r = jsonin_parse(body, len, &o, &d, cause);

	if (r < 0)
		return r;
	*ret = d.root;
	d.root = NULL;
	jsonin_doc_clear(&d);
	return 0;
}

/* Documented keys the daemon does not keep: their JSON type is still
 * checked, because a wrong type there means the body is not the
 * documented JSON. Non-nullable ones may be absent (API §10 drift). */
static const struct jsonin_shape batch_extra_keys[] = {
	{ "phone_number_id", json_type_string, JSONIN_NULLABLE },
	{ "phone_provider", json_type_string, JSONIN_NULLABLE },
	{ "whatsapp_params", json_type_object, JSONIN_NULLABLE },
	{ "branch_id", json_type_string, JSONIN_NULLABLE },
	{ "environment", json_type_string, JSONIN_NULLABLE },
	{ "telephony_call_config", json_type_object, 0 },
	{ "target_concurrency_limit", json_type_int, JSONIN_NULLABLE },
	{ "agent_name", json_type_string, 0 },
	{ "branch_name", json_type_string, JSONIN_NULLABLE },
};

static const struct jsonin_shape rcpt_extra_keys[] = {
	{ "conversation_initiation_client_data", json_type_object, JSONIN_NULLABLE },
};

/* BatchCallResponse at o (prefix names it in causes). */
static int parse_batch_obj(json_object *o, const char *prefix, struct batch *ret, char **cause)
{
	struct batch b = { 0 };
	const char *status = NULL; /* set by get_cstr; NULL reads as unknown */
	int r;

	if ((r = jsonin_get_str(o, prefix, "id", JSONIN_REQUIRED, &b.id, cause)) < 0)
		goto out;
	/* the id goes into request paths: an empty one would address the
	 * collection instead of the batch */
	if (!*b.id) {
		r = jsonin_field_fail(cause, prefix, "id", "empty string");
		goto out;
	}
	if ((r = jsonin_get_str(o, prefix, "name", JSONIN_REQUIRED, &b.name, cause)) < 0 ||
	    (r = jsonin_get_str(o, prefix, "agent_id", JSONIN_REQUIRED, &b.agent_id, cause)) < 0 ||
	    (r = jsonin_get_str(o, prefix, "timezone", JSONIN_NULLABLE, &b.timezone, cause)) < 0 ||
	    (r = jsonin_get_cstr(o, prefix, "status", JSONIN_REQUIRED, &status, cause)) < 0 ||
	    (r = jsonin_get_int64(o, prefix, "created_at_unix", JSONIN_REQUIRED, 0, CODEC_TIME_MAX,
				 &b.created_at_unix, cause)) < 0 ||
	    (r = jsonin_get_int64(o, prefix, "scheduled_time_unix", JSONIN_REQUIRED, 0, CODEC_TIME_MAX,
				 &b.scheduled_time_unix, cause)) < 0 ||
	    (r = jsonin_get_int64(o, prefix, "last_updated_at_unix", JSONIN_REQUIRED, 0, CODEC_TIME_MAX,
				 &b.last_updated_at_unix, cause)) < 0 ||
	    (r = jsonin_get_int64(o, prefix, "total_calls_dispatched", 0, 0, CODEC_COUNT_MAX,
				 &b.total_calls_dispatched, cause)) < 0 ||
	    (r = jsonin_get_int64(o, prefix, "total_calls_scheduled", 0, 0, CODEC_COUNT_MAX,
				 &b.total_calls_scheduled, cause)) < 0 ||
	    (r = jsonin_get_int64(o, prefix, "total_calls_finished", 0, 0, CODEC_COUNT_MAX,
				 &b.total_calls_finished, cause)) < 0 ||
	    (r = jsonin_get_int64(o, prefix, "retry_count", 0, 0, CODEC_RETRY_COUNT_MAX, &b.retry_count,
				  cause)) < 0 ||
	    (r = jsonin_check_shapes(o, prefix, batch_extra_keys, ARRAY_SIZE(batch_extra_keys), cause)) < 0)
		goto out;
	b.status = batch_status_from_name(status);
	*ret = b;
	return 0;
out:
	batch_clear(&b);
	return r;
}

/* OutboundCallRecipientResponseModel at o. */
static int parse_rcpt_obj(json_object *o, const char *prefix, struct batch_rcpt *ret, char **cause)
{
	struct batch_rcpt rc = { 0 };
	const char *status;
	int64_t unused;
	int r;

	if ((r = jsonin_get_str(o, prefix, "id", JSONIN_REQUIRED, &rc.id, cause)) < 0 ||
	    (r = jsonin_get_str(o, prefix, "phone_number", JSONIN_NULLABLE, &rc.phone_number, cause)) < 0 ||
	    (r = jsonin_get_str(o, prefix, "whatsapp_user_id", JSONIN_NULLABLE, &rc.whatsapp_user_id,
				cause)) < 0 ||
	    (r = jsonin_get_cstr(o, prefix, "status", JSONIN_REQUIRED, &status, cause)) < 0 ||
	    (r = jsonin_get_int64(o, prefix, "created_at_unix", JSONIN_REQUIRED, 0, CODEC_TIME_MAX, &unused,
				  cause)) < 0 ||
	    (r = jsonin_get_int64(o, prefix, "updated_at_unix", JSONIN_REQUIRED, 0, CODEC_TIME_MAX, &unused,
				  cause)) < 0 ||
	    /* server-required but nullable, SDK-optional: absent is accepted */
	    (r = jsonin_get_str(o, prefix, "conversation_id", JSONIN_NULLABLE, &rc.conversation_id,
				cause)) < 0 ||
	    (r = jsonin_check_shapes(o, prefix, rcpt_extra_keys, ARRAY_SIZE(rcpt_extra_keys), cause)) < 0)
		goto out;
	rc.status = batch_rcpt_status_from_name(status);
	*ret = rc;
	return 0;
out:
	batch_rcpt_clear(&rc);
	return r;
}

/* Element i of array a must be an object; prefix receives "key[i]". */
static int array_item(json_object *a, const char *key, size_t i, char *prefix, size_t size,
		      json_object **ret, char **cause)
{
	json_object *v = json_object_array_get_idx(a, i);

	*ret = NULL; /* on every path, failures too */
	snprintf(prefix, size, "%s[%zu]", key, i);
	if (!v || !json_object_is_type(v, json_type_object))
		return jsonin_fail(cause, "%s: expected an object", prefix);
	*ret = v;
	return 0;
}

int codec_parse_batch(const char *body, size_t len, struct batch *ret, char **cause)
{
	json_object *root = NULL;
	int r;

	r = parse_root(body, len, false, &root, cause);
	if (r < 0)
		return r;
	r = parse_batch_obj(root, "", ret, cause);
	json_object_put(root);
	return r;
}

int codec_parse_detail(const char *body, size_t len, struct batch_detail *ret, char **cause)
{
	struct batch_detail d = { 0 };
	json_object *root = NULL, *a, *item;
	char prefix[48];
	size_t n;
	int r;

	if ((r = parse_root(body, len, true, &root, cause)) < 0)
		return r;
	if ((r = parse_batch_obj(root, "", &d.batch, cause)) < 0 ||
	    (r = jsonin_get(root, "", "recipients", json_type_array, JSONIN_REQUIRED, &a, cause)) < 0)
		goto out;
	n = json_object_array_length(a);
	d.rcpts = xcalloc(n, sizeof(*d.rcpts));
	for (size_t i = 0; i < n; i++) {
		if ((r = array_item(a, "recipients", i, prefix, sizeof(prefix), &item, cause)) < 0 ||
		    (r = parse_rcpt_obj(item, prefix, &d.rcpts[i], cause)) < 0)
			goto out;
		d.n_rcpts++;
		d.counts[d.rcpts[i].status]++;
	}
	*ret = d;
	d = (struct batch_detail){ 0 };
out:
	batch_detail_clear(&d);
	json_object_put(root);
	return r;
}

int codec_parse_page(const char *body, size_t len, struct batch_page *ret, char **cause)
{
	struct batch_page p = { 0 };
	json_object *root = NULL, *a, *item, *v;
	char prefix[48];
	size_t n;
	int r;

	if ((r = parse_root(body, len, false, &root, cause)) < 0)
		return r;
	if ((r = jsonin_get(root, "", "batch_calls", json_type_array, JSONIN_REQUIRED, &a, cause)) < 0 ||
	    (r = jsonin_get_str(root, "", "next_doc", JSONIN_NULLABLE, &p.next_doc, cause)) < 0 ||
	    (r = jsonin_get(root, "", "has_more", json_type_boolean, JSONIN_NULLABLE, &v, cause)) < 0)
		goto out;
	p.has_more = v && json_object_get_boolean(v);
	n = json_object_array_length(a);
	p.batches = xcalloc(n, sizeof(*p.batches));
	for (size_t i = 0; i < n; i++) {
		if ((r = array_item(a, "batch_calls", i, prefix, sizeof(prefix), &item, cause)) < 0 ||
		    (r = parse_batch_obj(item, prefix, &p.batches[i], cause)) < 0)
			goto out;
		p.n_batches++;
	}
	*ret = p;
	p = (struct batch_page){ 0 };
out:
	batch_page_clear(&p);
	json_object_put(root);
	return r;
}

/* --- error messages ---------------------------------------------------- */

/* Characters that would break a log line or reorder it on a terminal: C0
 * and C1 controls, DEL, line/paragraph separators, bidi overrides. */
static bool is_breaking(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
	       (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

/* Append at most max characters of s as one clean line: runs of
 * whitespace and control characters become one space (none at either
 * end), invalid UTF-8 bytes become '?'. Returns the characters added. */
static size_t line_add_clean(struct sbuf *l, const char *s, size_t n, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, count = 0, k;
	bool space = false;
	uint32_t c;

	while (i < n && count < max) {
		k = utf8_decode(p + i, n - i, &c);
		if (k > 0 && (is_breaking(c) || c == ' ')) {
			space = true;
			i += k;
			continue;
		}
		if (space && count > 0) {
			sbuf_add(l, " ", 1);
			if (++count >= max)
				break;
		}
		space = false;
		if (k == 0) {
			sbuf_add(l, "?", 1);
			k = 1;
		} else {
			sbuf_add(l, s + i, k);
		}
		i += k;
		count++;
	}
	return count;
}

/* One FastAPI validation item: "recipients.0.phone_number: Field required"
 * (the leading "body" of loc says nothing to an operator). */
static bool add_validation_item(struct sbuf *l, json_object *item)
{
	json_object *loc, *msg;
	size_t start = l->len, n_loc = 0;
	char num[24];

	if (!json_object_is_type(item, json_type_object))
		return false;
	if (!json_object_object_get_ex(item, "msg", &msg) || !json_object_is_type(msg, json_type_string))
		return false;
	if (json_object_object_get_ex(item, "loc", &loc) && json_object_is_type(loc, json_type_array)) {
		size_t n = json_object_array_length(loc);
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(loc, i);
			const char *text;
			size_t tlen;

			if (json_object_is_type(e, json_type_string)) {
				text = json_object_get_string(e);
				tlen = (size_t)json_object_get_string_len(e);
				if (i == 0 && strcmp(text, "body") == 0)
					continue;
			} else if (json_object_is_type(e, json_type_int)) {
				snprintf(num, sizeof(num), "%" PRId64, json_object_get_int64(e));
				text = num;
				tlen = strlen(num);
			} else {
				continue;
			}
			if (n_loc++ > 0)
				sbuf_adds(l, ".");
			line_add_clean(l, text, tlen, ERR_SNIPPET_CHARS);
		}
		if (n_loc > 0)
			sbuf_adds(l, ": ");
	}
	if (line_add_clean(l, json_object_get_string(msg), (size_t)json_object_get_string_len(msg),
			   ERR_SNIPPET_CHARS) == 0) {
		l->len = start; /* nothing readable: drop the item */
		if (l->s)
			l->s[start] = '\0';
		return false;
	}
	return true;
}

static void add_validation_list(struct sbuf *l, json_object *detail)
{
	size_t n = json_object_array_length(detail), shown = 0, more = 0;

	for (size_t i = 0; i < n; i++) {
		size_t mark = l->len;
		if (shown == ERR_MAX_ITEMS) {
			more++;
			continue;
		}
		if (shown > 0)
			sbuf_adds(l, "; ");
		if (add_validation_item(l, json_object_array_get_idx(detail, i))) {
			shown++;
		} else {
			l->len = mark;
			if (l->s)
				l->s[mark] = '\0';
		}
	}
	if (more > 0 && shown > 0) {
		char tail[48];
		snprintf(tail, sizeof(tail), "; and %zu more", more);
		sbuf_adds(l, tail);
	}
}

/* A string member of o, cleaned, or nothing. */
static size_t add_member(struct sbuf *l, json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return 0;
	return line_add_clean(l, json_object_get_string(v), (size_t)json_object_get_string_len(v),
			      ERR_SNIPPET_CHARS);
}

/* The documented error object: "Invalid API key (invalid_api_key)". The
 * legacy `status` is what integrations match on; `code` replaces it on
 * newer responses. */
static void add_detail_object(struct sbuf *l, json_object *detail)
{
	size_t mark;

	if (add_member(l, detail, "message") == 0)
		return;
	mark = l->len;
	sbuf_adds(l, " (");
	if (add_member(l, detail, "status") == 0 && add_member(l, detail, "code") == 0) {
		l->len = mark;
		l->s[mark] = '\0';
		return;
	}
	sbuf_adds(l, ")");
}

bool codec_is_error_body(const char *body, size_t len)
{
	json_object *root = NULL, *detail, *v;
	bool ok = false;

	if (parse_root(body, len, false, &root, NULL) < 0)
		return false;
	if (json_object_object_get_ex(root, "detail", &detail) && detail) {
		if (json_object_is_type(detail, json_type_string))
			ok = json_object_get_string_len(detail) > 0;
		else if (json_object_is_type(detail, json_type_array))
			ok = true;
		else if (json_object_is_type(detail, json_type_object))
			ok = (json_object_object_get_ex(detail, "message", &v) && json_object_is_type(v, json_type_string)) ||
			     (json_object_object_get_ex(detail, "status", &v) && json_object_is_type(v, json_type_string));
	}
	json_object_put(root);
	return ok;
}

char *codec_error_message(long http_status, const char *body, size_t len)
{
	struct sbuf l = { 0 };
	json_object *root = NULL, *detail;
	char head[32];

	if (parse_root(body, len, false, &root, NULL) == 0 && json_object_object_get_ex(root, "detail", &detail) &&
	    detail) {
		if (json_object_is_type(detail, json_type_string))
			line_add_clean(&l, json_object_get_string(detail),
				       (size_t)json_object_get_string_len(detail), ERR_SNIPPET_CHARS);
		else if (json_object_is_type(detail, json_type_array))
			add_validation_list(&l, detail);
		else if (json_object_is_type(detail, json_type_object))
			add_detail_object(&l, detail);
	}
	json_object_put(root);
	if (l.len > 0)
		return l.s;

	/* Not an error body we know (HTML from a proxy, junk, nothing). */
	free(l.s);
	l = (struct sbuf){ 0 };
	snprintf(head, sizeof(head), "HTTP %ld", http_status);
	sbuf_adds(&l, head);
	if (body && len > 0) {
		size_t mark = l.len;
		sbuf_adds(&l, ": ");
		if (line_add_clean(&l, body, len, ERR_SNIPPET_CHARS) == 0) {
			l.len = mark;
			l.s[mark] = '\0';
		}
	}
	return l.s;
}
