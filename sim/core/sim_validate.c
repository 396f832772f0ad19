/*
 * validate: pydantic v2 (lax mode) rules for the submit body, with its error
 * wording: every error of a body is reported, each with type, loc, msg,
 * input and, for constraints, ctx.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include <json-c/json.h>

#include "sim_render.h"
#include "util.h"
#include "sim_validate.h"

struct sim_parsed {
	json_object *root;
	struct sim_submit s;
	struct sim_recipient_in *rcp;
	char *whatsapp_json;
	char *tmd_json;
};

/* Collects error items; loc is built as a stack of segments. */
struct verr {
	json_object *items;
	json_object *loc[8];
	int depth;
};

static void loc_push_str(struct verr *e, const char *s)
{
	e->loc[e->depth++] = json_object_new_string(s);
}

static void loc_push_int(struct verr *e, int64_t i)
{
	e->loc[e->depth++] = json_object_new_int64(i);
}

static void loc_pop(struct verr *e)
{
	json_object_put(e->loc[--e->depth]);
}

/* Add one error at the current loc (plus an optional last segment). */
static void verr_add(struct verr *e, const char *last, const char *type, const char *msg,
		     json_object *input, json_object *ctx)
{
	json_object *item = json_object_new_object();
	json_object *loc = json_object_new_array();

	for (int i = 0; i < e->depth; i++)
		json_object_array_add(loc, json_object_get(e->loc[i]));
	if (last)
		json_object_array_add(loc, json_object_new_string(last));
	json_object_object_add(item, "type", json_object_new_string(type));
	json_object_object_add(item, "loc", loc);
	json_object_object_add(item, "msg", json_object_new_string(msg));
	json_object_object_add(item, "input", json_object_get(input));
	if (ctx)
		json_object_object_add(item, "ctx", ctx);
	json_object_array_add(e->items, item);
}

static char *verr_body(json_object *items)
{
	json_object *o = json_object_new_object();
	char *s;

	json_object_object_add(o, "detail", items);
	s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

static json_object *ctx1(const char *k, json_object *v)
{
	json_object *c = json_object_new_object();
	json_object_object_add(c, k, v);
	return c;
}

/* --- field checks: each returns true when the value is usable ----------- */

static bool check_str(struct verr *e, json_object *parent, const char *k, bool required,
		      bool nullable, const char **ret)
{
	json_object *v;

	*ret = NULL;
	if (!json_object_object_get_ex(parent, k, &v)) {
		if (required)
			verr_add(e, k, "missing", "Field required", parent, NULL);
		return !required;
	}
	if (!v && nullable)
		return true;
	if (json_object_get_type(v) != json_type_string) {
		verr_add(e, k, "string_type", "Input should be a valid string", v, NULL);
		return false;
	}
	*ret = json_object_get_string(v);
	return true;
}

/* pydantic lax int: ints, floats without fraction, numeric strings. */
static bool check_int(struct verr *e, json_object *parent, const char *k, bool *ret_has, int64_t *ret)
{
	json_object *v;
	const char *s;
	char *end;
	double d;

	*ret_has = false;
	if (!json_object_object_get_ex(parent, k, &v) || !v)
		return true;
	switch (json_object_get_type(v)) {
	case json_type_int:
		*ret = json_object_get_int64(v);
		*ret_has = true;
		return true;
	case json_type_double:
		d = json_object_get_double(v);
		if (!isfinite(d)) {
			verr_add(e, k, "finite_number", "Input should be a finite number", v, NULL);
			return false;
		}
		if (d != floor(d)) {
			verr_add(e, k, "int_from_float",
				 "Input should be a valid integer, got a number with a fractional part", v, NULL);
			return false;
		}
		if (fabs(d) > 9.2e18) {
			verr_add(e, k, "int_parsing_size", "Unable to parse input string as an integer, exceeded maximum size", v, NULL);
			return false;
		}
		*ret = (int64_t)d;
		*ret_has = true;
		return true;
	case json_type_string:
		s = json_object_get_string(v);
		while (isspace((unsigned char)*s))
			s++;
		errno = 0;
		*ret = strtoll(s, &end, 10);
		while (end != s && isspace((unsigned char)*end))
			end++;
		if (end == s || *end || errno) {
			verr_add(e, k, "int_parsing",
				 "Input should be a valid integer, unable to parse string as an integer", v, NULL);
			return false;
		}
		*ret_has = true;
		return true;
	default:
		verr_add(e, k, "int_type", "Input should be a valid integer", v, NULL);
		return false;
	}
}

static bool check_int_range(struct verr *e, json_object *parent, const char *k, int64_t v, int64_t ge,
			    int64_t le)
{
	json_object *in = json_object_object_get(parent, k);
	char msg[96];

	if (v < ge) {
		snprintf(msg, sizeof(msg), "Input should be greater than or equal to %lld", (long long)ge);
		verr_add(e, k, "greater_than_equal", msg, in, ctx1("ge", json_object_new_int64(ge)));
		return false;
	}
	if (le >= ge && v > le) {
		snprintf(msg, sizeof(msg), "Input should be less than or equal to %lld", (long long)le);
		verr_add(e, k, "less_than_equal", msg, in, ctx1("le", json_object_new_int64(le)));
		return false;
	}
	return true;
}

static bool check_bool(struct verr *e, json_object *parent, const char *k, bool *ret)
{
	static const char *const yes[] = {"1", "on", "t", "true", "y", "yes"};
	static const char *const no[] = {"0", "off", "f", "false", "n", "no"};
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(parent, k, &v))
		return true;
	switch (json_object_get_type(v)) {
	case json_type_boolean:
		*ret = json_object_get_boolean(v);
		return true;
	case json_type_int:
		if (json_object_get_int64(v) == 0 || json_object_get_int64(v) == 1) {
			*ret = json_object_get_int64(v) == 1;
			return true;
		}
		verr_add(e, k, "bool_parsing", "Input should be a valid boolean, unable to interpret input", v, NULL);
		return false;
	case json_type_string:
		s = json_object_get_string(v);
		for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
			if (strcasecmp(s, yes[i]) == 0) {
				*ret = true;
				return true;
			}
			if (strcasecmp(s, no[i]) == 0) {
				*ret = false;
				return true;
			}
		}
		verr_add(e, k, "bool_parsing", "Input should be a valid boolean, unable to interpret input", v, NULL);
		return false;
	default:
		verr_add(e, k, "bool_type", "Input should be a valid boolean", v, NULL);
		return false;
	}
}

/* A sub-model: *ret is the object, NULL when absent/null (and allowed). */
static bool check_obj(struct verr *e, json_object *parent, const char *k, bool nullable, json_object **ret)
{
	json_object *v;

	*ret = NULL;
	if (!json_object_object_get_ex(parent, k, &v))
		return true;
	if (!v && nullable)
		return true;
	if (json_object_get_type(v) != json_type_object) {
		verr_add(e, k, "model_attributes_type",
			 "Input should be a valid dictionary or object to extract fields from", v, NULL);
		return false;
	}
	*ret = v;
	return true;
}

static const char *compact(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void check_recipients(struct verr *e, struct sim_parsed *p, json_object *list)
{
	size_t n = json_object_array_length(list);

	p->rcp = xcalloc(n ? n : 1, sizeof(*p->rcp));
	p->s.recipients = p->rcp;
	p->s.n_recipients = n;
	loc_push_str(e, "recipients");
	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(list, i), *ccd;
		struct sim_recipient_in *r = &p->rcp[i];
		int before = (int)json_object_array_length(e->items);

		if (json_object_get_type(item) != json_type_object) {
			loc_push_int(e, (int64_t)i);
			verr_add(e, NULL, "model_attributes_type",
				 "Input should be a valid dictionary or object to extract fields from", item, NULL);
			loc_pop(e);
			continue;
		}
		loc_push_int(e, (int64_t)i);
		check_str(e, item, "id", false, true, &r->id);
		check_str(e, item, "phone_number", false, true, &r->phone_number);
		check_str(e, item, "whatsapp_user_id", false, true, &r->whatsapp_user_id);
		if (check_obj(e, item, "conversation_initiation_client_data", true, &ccd) && ccd)
			r->ccd_json = compact(ccd);
		/* Simulator policy: a recipient nobody can call is refused the
		 * way a pydantic model validator would refuse it. */
		if ((int)json_object_array_length(e->items) == before && !r->phone_number &&
		    !r->whatsapp_user_id)
			verr_add(e, NULL, "value_error",
				 "Value error, a recipient needs a phone_number or a whatsapp_user_id", item,
				 ctx1("error", json_object_new_object()));
		loc_pop(e);
	}
	loc_pop(e);
}

static void check_whatsapp(struct verr *e, struct sim_parsed *p, json_object *wa)
{
	const char *id, *tname, *tlang;
	bool ok = true;
	struct sbuf b = {0};

	loc_push_str(e, "whatsapp_params");
	ok &= check_str(e, wa, "whatsapp_phone_number_id", false, true, &id);
	ok &= check_str(e, wa, "whatsapp_call_permission_request_template_name", true, false, &tname);
	ok &= check_str(e, wa, "whatsapp_call_permission_request_template_language_code", true, false, &tlang);
	loc_pop(e);
	if (!ok)
		return;
	sbuf_adds(&b, "{\"whatsapp_phone_number_id\":");
	sbuf_add_json_str(&b, id);
	sbuf_adds(&b, ",\"whatsapp_call_permission_request_template_name\":");
	sbuf_add_json_str(&b, tname);
	sbuf_adds(&b, ",\"whatsapp_call_permission_request_template_language_code\":");
	sbuf_add_json_str(&b, tlang);
	sbuf_adds(&b, "}");
	p->whatsapp_json = sbuf_steal(&b, NULL);
	p->s.whatsapp_params_json = p->whatsapp_json;
}

static void check_telephony(struct verr *e, struct sim_parsed *p, json_object *tc)
{
	bool has;
	int64_t v;
	json_object *tmd;

	loc_push_str(e, "telephony_call_config");
	if (check_int(e, tc, "ringing_timeout_secs", &has, &v) && has &&
	    check_int_range(e, tc, "ringing_timeout_secs", v, 1, 999))
		p->s.ringing_timeout_secs = (int)v;
	check_bool(e, tc, "twilio_call_recording_enabled", &p->s.twilio_call_recording_enabled);
	if (check_obj(e, tc, "twilio_machine_detection", true, &tmd) && tmd) {
		const char *mode;
		loc_push_str(e, "twilio_machine_detection");
		if (check_str(e, tmd, "mode", true, false, &mode)) {
			if (strcmp(mode, "enable") != 0 && strcmp(mode, "detect_message_end") != 0) {
				verr_add(e, "mode", "enum", "Input should be 'enable' or 'detect_message_end'",
					 json_object_object_get(tmd, "mode"),
					 ctx1("expected", json_object_new_string("'enable' or 'detect_message_end'")));
			} else {
				p->tmd_json = xasprintf("{\"mode\":\"%s\"}", mode);
				p->s.twilio_machine_detection_json = p->tmd_json;
			}
		}
		loc_pop(e);
	}
	loc_pop(e);
}

static void check_body(struct verr *e, struct sim_parsed *p, json_object *root)
{
	json_object *list = NULL, *wa, *tc;
	struct sim_submit *s = &p->s;
	bool has;
	int64_t v;

	check_str(e, root, "call_name", true, false, &s->call_name);
	check_str(e, root, "agent_id", true, false, &s->agent_id);
	if (!json_object_object_get_ex(root, "recipients", &list)) {
		verr_add(e, "recipients", "missing", "Field required", root, NULL);
	} else if (json_object_get_type(list) != json_type_array) {
		verr_add(e, "recipients", "list_type", "Input should be a valid list", list, NULL);
	} else if (json_object_array_length(list) > SIM_MAX_RECIPIENTS) {
		char msg[128];
		json_object *ctx = json_object_new_object();
		size_t n = json_object_array_length(list);
		snprintf(msg, sizeof(msg), "List should have at most %d items after validation, not %zu",
			 SIM_MAX_RECIPIENTS, n);
		json_object_object_add(ctx, "field_type", json_object_new_string("List"));
		json_object_object_add(ctx, "max_length", json_object_new_int(SIM_MAX_RECIPIENTS));
		json_object_object_add(ctx, "actual_length", json_object_new_int64((int64_t)n));
		verr_add(e, "recipients", "too_long", msg, list, ctx);
	} else {
		check_recipients(e, p, list);
	}
	if (check_int(e, root, "scheduled_time_unix", &has, &v) && has) {
		s->has_scheduled_time = true;
		s->scheduled_time_unix = v;
	}
	check_str(e, root, "agent_phone_number_id", false, true, &s->agent_phone_number_id);
	if (check_obj(e, root, "whatsapp_params", true, &wa) && wa)
		check_whatsapp(e, p, wa);
	check_str(e, root, "timezone", false, true, &s->timezone);
	check_str(e, root, "branch_id", false, true, &s->branch_id);
	check_str(e, root, "environment", false, true, &s->environment);
	s->ringing_timeout_secs = 60;
	if (check_obj(e, root, "telephony_call_config", false, &tc) && tc)
		check_telephony(e, p, tc);
	if (check_int(e, root, "target_concurrency_limit", &has, &v) && has &&
	    check_int_range(e, root, "target_concurrency_limit", v, 1, -1)) {
		s->has_target_concurrency_limit = true;
		s->target_concurrency_limit = v;
	}
}

/* Python's json module names the first problem; json-c's tokener errors
 * map onto the few messages clients are likely to see. */
static const char *json_error_text(enum json_tokener_error err, bool extra)
{
	if (extra)
		return "Extra data";
	switch (err) {
	case json_tokener_error_parse_object_key_name:
		return "Expecting property name enclosed in double quotes";
	case json_tokener_error_parse_object_key_sep:
		return "Expecting ':' delimiter";
	case json_tokener_error_parse_object_value_sep:
	case json_tokener_error_parse_array:
		return "Expecting ',' delimiter";
	case json_tokener_error_parse_string:
		return "Unterminated string starting at";
	default:
		return "Expecting value";
	}
}

static char *json_invalid_body(size_t pos, const char *msg)
{
	json_object *items = json_object_new_array();
	json_object *item = json_object_new_object();
	json_object *loc = json_object_new_array();

	json_object_array_add(loc, json_object_new_string("body"));
	json_object_array_add(loc, json_object_new_int64((int64_t)pos));
	json_object_object_add(item, "type", json_object_new_string("json_invalid"));
	json_object_object_add(item, "loc", loc);
	json_object_object_add(item, "msg", json_object_new_string("JSON decode error"));
	json_object_object_add(item, "input", json_object_new_object());
	json_object_object_add(item, "ctx", ctx1("error", json_object_new_string(msg)));
	json_object_array_add(items, item);
	return verr_body(items);
}

int sim_validate_submit(const char *body, size_t len, struct sim_parsed **ret, char **ret_detail)
{
	struct sim_parsed *p = xcalloc(1, sizeof(*p));
	struct verr e = {.items = json_object_new_array()};
	struct json_tokener *tok = NULL;
	int r = -EINVAL;

	*ret = NULL;
	*ret_detail = NULL;
	if (len == 0) {
		/* FastAPI reads an empty body as "no body": each field is missing */
		loc_push_str(&e, "body");
		verr_add(&e, "call_name", "missing", "Field required", NULL, NULL);
		verr_add(&e, "agent_id", "missing", "Field required", NULL, NULL);
		verr_add(&e, "recipients", "missing", "Field required", NULL, NULL);
		loc_pop(&e);
		goto out;
	}
	tok = json_tokener_new_ex(1000);
	/* trailing bytes are reported as Python's "Extra data" below */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
	if (len > INT_MAX) {
		*ret_detail = json_invalid_body(0, "Expecting value");
		goto out;
	}
	p->root = json_tokener_parse_ex(tok, body, (int)len);
	{
		enum json_tokener_error err = json_tokener_get_error(tok);
		size_t end = json_tokener_get_parse_end(tok);
		bool extra = false;
		if (err == json_tokener_continue) {
			/* input ended inside a value */
			*ret_detail = json_invalid_body(len, "Expecting value");
			goto out;
		}
		if (err == json_tokener_success) {
			while (end < len && isspace((unsigned char)body[end]))
				end++;
			extra = end < len;
		}
		if (err != json_tokener_success || extra || memchr(body, '\0', len)) {
			*ret_detail = json_invalid_body(end, json_error_text(err, extra));
			goto out;
		}
	}
	loc_push_str(&e, "body");
	if (json_object_get_type(p->root) != json_type_object) {
		verr_add(&e, NULL, "model_attributes_type",
			 "Input should be a valid dictionary or object to extract fields from", p->root, NULL);
	} else {
		check_body(&e, p, p->root);
	}
	loc_pop(&e);
out:
	if (!*ret_detail && json_object_array_length(e.items) > 0)
		*ret_detail = verr_body(json_object_get(e.items));
	if (!*ret_detail) {
		*ret = p;
		p = NULL;
		r = 0;
	}
	while (e.depth > 0)
		loc_pop(&e);
	json_object_put(e.items);
	if (tok)
		json_tokener_free(tok);
	sim_parsed_free(p);
	return r;
}

const struct sim_submit *sim_parsed_submit(const struct sim_parsed *p)
{
	return &p->s;
}

void sim_parsed_free(struct sim_parsed *p)
{
	if (!p)
		return;
	json_object_put(p->root);
	free(p->rcp);
	free(p->whatsapp_json);
	free(p->tmd_json);
	free(p);
}

char *sim_validate_query_int(const char *name, const char *value, long long min, long long max,
			     long long *ret_value)
{
	json_object *items, *item, *loc;
	const char *s = value;
	char *end, msg[96];
	long long v;

	while (isspace((unsigned char)*s))
		s++;
	errno = 0;
	v = strtoll(s, &end, 10);
	while (end != s && isspace((unsigned char)*end))
		end++;
	loc = json_object_new_array();
	json_object_array_add(loc, json_object_new_string("query"));
	json_object_array_add(loc, json_object_new_string(name));
	items = json_object_new_array();
	item = json_object_new_object();
	if (end == s || *end || errno) {
		json_object_object_add(item, "type", json_object_new_string("int_parsing"));
		json_object_object_add(item, "loc", loc);
		json_object_object_add(item, "msg",
				       json_object_new_string("Input should be a valid integer, unable to parse string as an integer"));
		json_object_object_add(item, "input", json_object_new_string(value));
	} else if (v < min || (max >= min && v > max)) {
		bool low = v < min;
		snprintf(msg, sizeof(msg), low ? "Input should be greater than or equal to %lld"
					       : "Input should be less than or equal to %lld", low ? min : max);
		json_object_object_add(item, "type", json_object_new_string(low ? "greater_than_equal" : "less_than_equal"));
		json_object_object_add(item, "loc", loc);
		json_object_object_add(item, "msg", json_object_new_string(msg));
		json_object_object_add(item, "input", json_object_new_string(value));
		json_object_object_add(item, "ctx", ctx1(low ? "ge" : "le", json_object_new_int64(low ? min : max)));
	} else {
		json_object_put(loc);
		json_object_put(item);
		json_object_put(items);
		*ret_value = v;
		return NULL;
	}
	json_object_array_add(items, item);
	return verr_body(items);
}

char *sim_validate_query_enum(const char *name, const char *value, const char *const *allowed, size_t n)
{
	json_object *items, *item, *loc;
	struct {
		char *s;
		size_t len, cap;
	} b = {0};
	char *expected, *msg;

	for (size_t i = 0; i < n; i++)
		if (strcmp(value, allowed[i]) == 0)
			return NULL;
	/* pydantic: 'a', 'b' or 'c' */
	for (size_t i = 0; i < n; i++) {
		char *part = xasprintf("%s'%s'", i == 0 ? "" : i + 1 == n ? " or " : ", ", allowed[i]);
		size_t pl = strlen(part);
		xgrow((void **)&b.s, &b.cap, b.len + pl + 1, 1);
		memcpy(b.s + b.len, part, pl + 1);
		b.len += pl;
		free(part);
	}
	expected = b.s ? b.s : xstrdup("");
	msg = xasprintf("Input should be %s", expected);
	loc = json_object_new_array();
	json_object_array_add(loc, json_object_new_string("query"));
	json_object_array_add(loc, json_object_new_string(name));
	item = json_object_new_object();
	json_object_object_add(item, "type", json_object_new_string("enum"));
	json_object_object_add(item, "loc", loc);
	json_object_object_add(item, "msg", json_object_new_string(msg));
	json_object_object_add(item, "input", json_object_new_string(value));
	json_object_object_add(item, "ctx", ctx1("expected", json_object_new_string(expected)));
	items = json_object_new_array();
	json_object_array_add(items, item);
	free(msg);
	free(expected);
	return verr_body(items);
}

char *sim_validate_join(char *a, char *b)
{
	json_object *oa, *ob, *da, *db;
	char *s;

	if (!a || !b)
		return a ? a : b;
	oa = json_tokener_parse(a);
	ob = json_tokener_parse(b);
	if (!oa || !ob || !json_object_object_get_ex(oa, "detail", &da) || !json_object_object_get_ex(ob, "detail", &db)) {
		json_object_put(oa);
		json_object_put(ob);
		free(b);
		return a;
	}
	for (size_t i = 0; i < json_object_array_length(db); i++)
		json_object_array_add(da, json_object_get(json_object_array_get_idx(db, i)));
	s = xstrdup(json_object_to_json_string_ext(oa, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(oa);
	json_object_put(ob);
	free(a);
	free(b);
	return s;
}
