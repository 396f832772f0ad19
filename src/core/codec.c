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
#include "sbuf.h"
#include "utf8.h"
#include "util.h"

/* The deepest documented response nests about six levels (detail ->
 * recipients -> client data -> override -> agent -> prompt); echoed client
 * data may carry arbitrary user objects, so leave room, but refuse junk
 * nested thousands deep before it costs stack in json_object_put(). */
#define CODEC_MAX_DEPTH 64
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

static int failv(char **cause, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static int failv(char **cause, const char *fmt, va_list ap)
{
	if (cause)
		*cause = xvasprintf(fmt, ap);
	return -EBADMSG;
}

static int fail(char **cause, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char **cause, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = failv(cause, fmt, ap);
	va_end(ap);
	return r;
}

/* "batch_calls[3]" + "status" -> "batch_calls[3].status: <why>". */
static int field_fail(char **cause, const char *prefix, const char *key, const char *why)
{
	return fail(cause, "%s%s%s: %s", prefix, *prefix ? "." : "", key, why);
}

/* An RFC 8259 grammar check ahead of json-c, which even in strict mode
 * takes single-quoted keys, NaN and Infinity, raw control characters in
 * strings, "1." and "01". Iterative with a bounded stack, so deep junk
 * costs nothing; also refuses invalid UTF-8 and unpaired surrogates, which
 * would otherwise reach logs and the state file. */
struct lexer {
	const unsigned char *s;
	size_t n, i;
	const char *err; /* NULL: ran out of input */
};

static bool lex_fail(struct lexer *sc, const char *why)
{
	sc->err = why;
	return false;
}

static void lex_ws(struct lexer *sc)
{
	while (sc->i < sc->n && (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t' || sc->s[sc->i] == '\n' ||
				 sc->s[sc->i] == '\r'))
		sc->i++;
}

static bool lex_digits(struct lexer *sc)
{
	size_t start = sc->i;
	while (sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
		sc->i++;
	if (sc->i == start)
		return sc->i < sc->n ? lex_fail(sc, "digit expected") : false;
	return true;
}

static bool lex_number(struct lexer *sc)
{
	if (sc->s[sc->i] == '-')
		sc->i++;
	if (sc->i < sc->n && sc->s[sc->i] == '0')
		sc->i++;
	else if (!lex_digits(sc))
		return false;
	if (sc->i < sc->n && sc->s[sc->i] == '.') {
		sc->i++;
		if (!lex_digits(sc))
			return false;
	}
	if (sc->i < sc->n && (sc->s[sc->i] == 'e' || sc->s[sc->i] == 'E')) {
		sc->i++;
		if (sc->i < sc->n && (sc->s[sc->i] == '+' || sc->s[sc->i] == '-'))
			sc->i++;
		if (!lex_digits(sc))
			return false;
	}
	/* a number at the very end is not cut: the caller sees the end */
	return true;
}

/* Four hex digits after "\u". */
static bool lex_hex4(struct lexer *sc, uint32_t *ret)
{
	uint32_t v = 0;
	for (int k = 0; k < 4; k++, sc->i++) {
		if (sc->i >= sc->n)
			return false;
		unsigned char c = sc->s[sc->i];
		if (c >= '0' && c <= '9')
			v = v * 16 + (c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v = v * 16 + ((c | 0x20) - 'a' + 10);
		else
			return lex_fail(sc, "invalid \\u escape");
	}
	*ret = v;
	return true;
}

static bool lex_string(struct lexer *sc)
{
	uint32_t cp, lo;
	size_t k;

	sc->i++; /* the opening quote */
	while (sc->i < sc->n) {
		unsigned char c = sc->s[sc->i];
		if (c == '"') {
			sc->i++;
			return true;
		}
		if (c < 0x20)
			return lex_fail(sc, "control character in string");
		if (c != '\\') {
			k = utf8_decode(sc->s + sc->i, sc->n - sc->i, &cp);
			if (k == 0) {
				/* a multi-byte sequence cut by the end of input
				 * is truncation, not junk */
				if (sc->n - sc->i < 4 && c >= 0xc2 && c <= 0xf4) {
					size_t m = 1;
					while (sc->i + m < sc->n && (sc->s[sc->i + m] & 0xc0) == 0x80)
						m++;
					if (sc->i + m == sc->n)
						return false;
				}
				return lex_fail(sc, "invalid UTF-8");
			}
			sc->i += k;
			continue;
		}
		if (++sc->i >= sc->n)
			return false;
		c = sc->s[sc->i++];
		if (c == 'u') {
			if (!lex_hex4(sc, &cp))
				return false;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return lex_fail(sc, "unpaired surrogate");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (sc->i + 2 > sc->n)
					return false;
				if (sc->s[sc->i] != '\\' || sc->s[sc->i + 1] != 'u')
					return lex_fail(sc, "unpaired surrogate");
				sc->i += 2;
				if (!lex_hex4(sc, &lo))
					return false;
				if (lo < 0xdc00 || lo > 0xdfff)
					return lex_fail(sc, "unpaired surrogate");
			}
		} else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
			return lex_fail(sc, "invalid escape in string");
		}
	}
	return false;
}

static bool lex_literal(struct lexer *sc, const char *lit)
{
	for (size_t k = 0; lit[k]; k++, sc->i++) {
		if (sc->i >= sc->n)
			return false;
		if (sc->s[sc->i] != (unsigned char)lit[k])
			return lex_fail(sc, "invalid literal");
	}
	return true;
}

static bool lex_scalar(struct lexer *sc)
{
	unsigned char c = sc->s[sc->i];

	if (c == '"')
		return lex_string(sc);
	if (c == '-' || (c >= '0' && c <= '9'))
		return lex_number(sc);
	if (c == 't')
		return lex_literal(sc, "true");
	if (c == 'f')
		return lex_literal(sc, "false");
	if (c == 'n')
		return lex_literal(sc, "null");
	return lex_fail(sc, "value expected");
}

/* Object key and colon, after '{' or ','; *ret_key and *ret_len get the
 * key's raw text (between the quotes, escapes as written). */
static bool lex_key(struct lexer *sc, size_t *ret_key, size_t *ret_len)
{
	lex_ws(sc);
	if (sc->i >= sc->n)
		return false;
	if (sc->s[sc->i] != '"')
		return lex_fail(sc, "quoted key expected");
	*ret_key = sc->i + 1;
	if (!lex_string(sc))
		return false;
	*ret_len = sc->i - 1 - *ret_key;
	lex_ws(sc);
	if (sc->i >= sc->n)
		return false;
	if (sc->s[sc->i] != ':')
		return lex_fail(sc, "':' expected");
	sc->i++;
	return true;
}

/* What json-c spends on a parsed value, in bytes (json-c 0.16, glibc,
 * x86-64, measured: 16 MiB of "[{},{},...]" took 4.3 GB): an object
 * allocates a hash table of 16 entries up front, an array 32 slots. A
 * body made of small containers costs 250 times its size, so the budget
 * below, not the size of the body, is what bounds a parse's memory. */
#define COST_OBJECT 800
#define COST_ARRAY 160
#define COST_SCALAR 96 /* string, number, boolean (null is a NULL slot) */
#define COST_MEMBER 64 /* an object member: its key and hash entry */
#define COST_SLOT 8    /* the pointer that holds any value */

/* The document's responses cost json-c a few times their size: a page of
 * 100 batches about 0.6 MiB, the recipients of a 10,000-recipient detail
 * about 20 MiB once their client data is set aside (below). */
#define CODEC_MAX_PARSE_COST ((size_t)64 << 20)

/* What check_json learns on its way: the estimated cost, and the spans of
 * the recipients' conversation_initiation_client_data objects. Those echo
 * whatever the submit sent (dynamic variables, prompts: megabytes across
 * 10,000 recipients) and the daemon reads nothing of them but their type,
 * so a detail is parsed with each one replaced by {}. */
struct json_check {
	bool set_aside;  /* detail: set the client data aside */
	size_t cost;
	size_t (*spans)[2];
	size_t n_spans, cap_spans;
};

static bool key_is(const unsigned char *s, size_t off, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(s + off, want, len) == 0;
}

/* The next member's key in the object at depth: remembered for the first
 * levels (the set-aside rule looks at them), counted unless set aside. */
static bool next_key(struct lexer *sc, struct json_check *jc, int depth, bool counted, size_t *key_off,
		     size_t *key_len)
{
	size_t k, l;

	if (!lex_key(sc, &k, &l))
		return false;
	if (!counted)
		return true;
	if (depth < 4) {
		key_off[depth] = k;
		key_len[depth] = l;
	}
	jc->cost += COST_MEMBER + l;
	return true;
}

static int check_json(const char *body, size_t len, struct json_check *jc, char **cause)
{
	struct lexer sc = { (const unsigned char *)body, len, 0, NULL };
	unsigned char stack[CODEC_MAX_DEPTH]; /* '{' or '[' per open level */
	size_t key_off[4] = { 0 }, key_len[4] = { 0 }; /* member keys of levels 1..3 */
	size_t aside_from = SIZE_MAX, mark;
	int depth = 0;
	bool have_value = false;

	lex_ws(&sc);
	if (sc.i >= sc.n)
		return fail(cause, "empty body");
	if (sc.s[sc.i] != '{')
		return fail(cause, "expected a JSON object at the top level");
	for (;;) {
		lex_ws(&sc);
		if (!have_value) {
			unsigned char c;
			bool counted = aside_from == SIZE_MAX;
			if (sc.i >= sc.n)
				goto cut;
			c = sc.s[sc.i];
			if (c == '{' && counted && jc->set_aside && depth == 3 && stack[1] == '[' &&
			    stack[2] == '{' && key_is(sc.s, key_off[1], key_len[1], "recipients") &&
			    key_is(sc.s, key_off[3], key_len[3], "conversation_initiation_client_data")) {
				aside_from = sc.i;
				counted = false;
			}
			/* (set aside, it still costs what the {} in its place will) */
			if (counted || aside_from == sc.i)
				jc->cost += COST_SLOT + (c == '{' ? COST_OBJECT : c == '[' ? COST_ARRAY :
							 c == 'n' ? 0 : COST_SCALAR);
			if (c == '{' || c == '[') {
				if (depth == CODEC_MAX_DEPTH)
					return fail(cause, "not valid JSON: nested deeper than %d at offset %zu",
						    CODEC_MAX_DEPTH, sc.i);
				stack[depth++] = c;
				sc.i++;
				lex_ws(&sc);
				if (sc.i < sc.n && sc.s[sc.i] == (c == '{' ? '}' : ']')) {
					depth--;
					sc.i++;
					have_value = true;
					aside_from = depth == 3 && aside_from != SIZE_MAX ? SIZE_MAX : aside_from;
				} else if (c == '{' && !next_key(&sc, jc, depth, aside_from == SIZE_MAX, key_off, key_len)) {
					goto bad;
				}
				continue;
			}
			mark = sc.i;
			if (!lex_scalar(&sc))
				goto bad;
			if (counted)
				jc->cost += sc.i - mark;
			have_value = true;
			continue;
		}
		if (depth == 0) {
			if (sc.i != sc.n)
				return fail(cause, "trailing data after the JSON value at offset %zu", sc.i);
			break;
		}
		if (sc.i >= sc.n)
			goto cut;
		if (sc.s[sc.i] == ',') {
			sc.i++;
			have_value = false;
			if (stack[depth - 1] == '{' &&
			    !next_key(&sc, jc, depth, aside_from == SIZE_MAX, key_off, key_len))
				goto bad;
		} else if (sc.s[sc.i] == (stack[depth - 1] == '{' ? '}' : ']')) {
			sc.i++;
			depth--;
			if (depth == 3 && aside_from != SIZE_MAX) {
				xgrow((void **)&jc->spans, &jc->cap_spans, jc->n_spans + 1, sizeof(*jc->spans));
				jc->spans[jc->n_spans][0] = aside_from;
				jc->spans[jc->n_spans][1] = sc.i;
				jc->n_spans++;
				aside_from = SIZE_MAX;
			}
		} else {
			sc.err = stack[depth - 1] == '{' ? "',' or '}' expected" : "',' or ']' expected";
			goto bad;
		}
	}
	if (jc->cost > CODEC_MAX_PARSE_COST)
		return fail(cause, "more JSON structure than a documented answer has (about %zu MiB to parse, "
			    "more than %zu MiB)", jc->cost >> 20, CODEC_MAX_PARSE_COST >> 20);
	return 0;
bad:
	if (sc.err)
		return fail(cause, "not valid JSON: %s at offset %zu", sc.err, sc.i);
cut:
	return fail(cause, "truncated JSON (%zu bytes)", len);
}

/* Parse a whole body into a JSON object, refusing anything that is not
 * exactly one JSON object (optionally surrounded by whitespace). */
static int parse_root(const char *body, size_t len, bool set_aside, json_object **ret, char **cause)
{
	struct json_check jc = { .set_aside = set_aside };
	struct json_tokener *tok = NULL;
	json_object *root = NULL;
	enum json_tokener_error err;
	const char *nul;
	char *copy = NULL;
	size_t end;
	int r;

	if (!body || len == 0)
		return fail(cause, "empty body");
	if (len > CODEC_MAX_BODY)
		return fail(cause, "body too large (%zu bytes)", len);
	/* json-c would stop at a NUL and report success on the prefix */
	nul = memchr(body, '\0', len);
	if (nul)
		return fail(cause, "NUL byte at offset %zu", (size_t)(nul - body));

	r = check_json(body, len, &jc, cause);
	if (r < 0)
		goto out;
	if (jc.n_spans > 0) {
		/* the body with each set-aside object replaced by {} */
		size_t from = 0, n = 0;
		copy = xmalloc(len + 1);
		for (size_t i = 0; i < jc.n_spans; i++) {
			memcpy(copy + n, body + from, jc.spans[i][0] - from);
			n += jc.spans[i][0] - from;
			memcpy(copy + n, "{}", 2);
			n += 2;
			from = jc.spans[i][1];
		}
		memcpy(copy + n, body + from, len - from);
		n += len - from;
		copy[n] = '\0';
		body = copy;
		len = n;
	}

	/* one more level than the check allows, so that json-c's own limit
	 * can never refuse what the check let through */
	tok = json_tokener_new_ex(CODEC_MAX_DEPTH + 1);
	if (!tok)
		abort(); /* allocation failure, as xmalloc would */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, body, (int)len);
	err = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	/* check_json() has already refused cut bodies; this is a backstop
	 * should json-c ever want more input than the grammar does */
	if (err == json_tokener_continue) {
		r = fail(cause, "truncated JSON (%zu bytes)", len);
		goto out;
	}
	if (err != json_tokener_success) {
		r = fail(cause, "not valid JSON: %s at offset %zu", json_tokener_error_desc(err), end);
		goto out;
	}
	if (end != len) {
		r = fail(cause, "trailing data after the JSON value at offset %zu", end);
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		r = fail(cause, "expected a JSON object at the top level");
		goto out;
	}
	*ret = root;
	root = NULL;
	r = 0;
out:
	json_object_put(root);
	if (tok)
		json_tokener_free(tok);
	free(copy);
	free(jc.spans);
	return r;
}

enum {
	F_REQUIRED = 1 << 0, /* absent is an error */
	F_NULLABLE = 1 << 1, /* null is the same as absent */
};

static const char *type_text(enum json_type t)
{
	switch (t) {
	case json_type_string:
		return "expected a string";
	case json_type_int:
		return "expected an integer";
	case json_type_boolean:
		return "expected a boolean";
	case json_type_object:
		return "expected an object";
	case json_type_array:
		return "expected an array";
	default:
		return "unexpected type";
	}
}

/* Find key in o with JSON type t: 0 and *ret (NULL when absent, or null
 * and allowed), or -EBADMSG naming prefix.key. */
static int get_field(json_object *o, const char *prefix, const char *key, enum json_type t, unsigned flags,
		     json_object **ret, char **cause)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v)) {
		if (flags & F_REQUIRED)
			return field_fail(cause, prefix, key, "missing");
		*ret = NULL;
		return 0;
	}
	/* json-c represents a JSON null as a NULL value */
	if (!v && (flags & F_NULLABLE) && !(flags & F_REQUIRED)) {
		*ret = NULL;
		return 0;
	}
	if (!v || !json_object_is_type(v, t))
		return field_fail(cause, prefix, key, type_text(t));
	*ret = v;
	return 0;
}

/* A string field's text (NULL when absent or null), not copied. */
static int get_cstr(json_object *o, const char *prefix, const char *key, unsigned flags, const char **ret,
		    char **cause)
{
	json_object *v;
	const char *s;
	int r;

	r = get_field(o, prefix, key, json_type_string, flags, &v, cause);
	if (r < 0)
		return r;
	if (!v) {
		*ret = NULL;
		return 0;
	}
	s = json_object_get_string(v);
	/* "\u0000" decodes to a NUL: C strings would silently truncate it */
	if ((size_t)json_object_get_string_len(v) != strlen(s))
		return field_fail(cause, prefix, key, "string contains a NUL character");
	*ret = s;
	return 0;
}

static int get_str(json_object *o, const char *prefix, const char *key, unsigned flags, char **ret,
		   char **cause)
{
	const char *s;
	int r = get_cstr(o, prefix, key, flags, &s, cause);
	if (r < 0)
		return r;
	*ret = xstrdup(s);
	return 0;
}

/* An integer field in min..max (absent: 0). Everything the daemon keeps
 * of a response ends up in its state records and in arithmetic (a retry
 * count plus one, a timestamp in milliseconds), so a value outside what
 * the API can mean is not the documented JSON. */
static int get_int64(json_object *o, const char *prefix, const char *key, unsigned flags, int64_t min,
		     int64_t max, int64_t *ret, char **cause)
{
	json_object *v;
	char why[80];
	int64_t i;
	int r;

	r = get_field(o, prefix, key, json_type_int, flags, &v, cause);
	if (r < 0)
		return r;
	if (!v) {
		*ret = 0; /* counters default to 0 (API §3.4) */
		return 0;
	}
	/* json-c saturates out-of-range integers: above INT64_MAX it keeps
	 * a uint64 we can see; below INT64_MIN it silently clamps, so
	 * INT64_MIN itself cannot be told from an overflow and is refused. */
	i = json_object_get_int64(v);
	if ((i == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX) || i == INT64_MIN)
		return field_fail(cause, prefix, key, "integer out of range");
	if (i < min || i > max) {
		snprintf(why, sizeof(why), "%" PRId64 " is outside %" PRId64 "..%" PRId64, i, min, max);
		return field_fail(cause, prefix, key, why);
	}
	*ret = i;
	return 0;
}

/* Documented keys the daemon does not keep: their JSON type is still
 * checked, because a wrong type there means the body is not the
 * documented JSON. Non-nullable ones may be absent (API §10 drift). */
struct shape {
	const char *key;
	enum json_type type;
	unsigned flags;
};

static const struct shape batch_extra_keys[] = {
	{ "phone_number_id", json_type_string, F_NULLABLE },
	{ "phone_provider", json_type_string, F_NULLABLE },
	{ "whatsapp_params", json_type_object, F_NULLABLE },
	{ "branch_id", json_type_string, F_NULLABLE },
	{ "environment", json_type_string, F_NULLABLE },
	{ "timezone", json_type_string, F_NULLABLE },
	{ "telephony_call_config", json_type_object, 0 },
	{ "target_concurrency_limit", json_type_int, F_NULLABLE },
	{ "agent_name", json_type_string, 0 },
	{ "branch_name", json_type_string, F_NULLABLE },
};

static const struct shape rcpt_extra_keys[] = {
	{ "conversation_initiation_client_data", json_type_object, F_NULLABLE },
};

static int check_shapes(json_object *o, const char *prefix, const struct shape *s, size_t n, char **cause)
{
	json_object *v;
	for (size_t i = 0; i < n; i++) {
		int r = get_field(o, prefix, s[i].key, s[i].type, s[i].flags, &v, cause);
		if (r < 0)
			return r;
	}
	return 0;
}

/* BatchCallResponse at o (prefix names it in causes). */
static int parse_batch_obj(json_object *o, const char *prefix, struct batch *ret, char **cause)
{
	struct batch b = { 0 };
	const char *status = NULL; /* set by get_cstr; NULL reads as unknown */
	int r;

	if ((r = get_str(o, prefix, "id", F_REQUIRED, &b.id, cause)) < 0)
		goto out;
	/* the id goes into request paths: an empty one would address the
	 * collection instead of the batch */
	if (!*b.id) {
		r = field_fail(cause, prefix, "id", "empty string");
		goto out;
	}
	if ((r = get_str(o, prefix, "name", F_REQUIRED, &b.name, cause)) < 0 ||
	    (r = get_str(o, prefix, "agent_id", F_REQUIRED, &b.agent_id, cause)) < 0 ||
	    (r = get_cstr(o, prefix, "status", F_REQUIRED, &status, cause)) < 0 ||
	    (r = get_int64(o, prefix, "created_at_unix", F_REQUIRED, 0, CODEC_TIME_MAX,
				 &b.created_at_unix, cause)) < 0 ||
	    (r = get_int64(o, prefix, "scheduled_time_unix", F_REQUIRED, 0, CODEC_TIME_MAX,
				 &b.scheduled_time_unix, cause)) < 0 ||
	    (r = get_int64(o, prefix, "last_updated_at_unix", F_REQUIRED, 0, CODEC_TIME_MAX,
				 &b.last_updated_at_unix, cause)) < 0 ||
	    (r = get_int64(o, prefix, "total_calls_dispatched", 0, 0, CODEC_COUNT_MAX,
				 &b.total_calls_dispatched, cause)) < 0 ||
	    (r = get_int64(o, prefix, "total_calls_scheduled", 0, 0, CODEC_COUNT_MAX,
				 &b.total_calls_scheduled, cause)) < 0 ||
	    (r = get_int64(o, prefix, "total_calls_finished", 0, 0, CODEC_COUNT_MAX,
				 &b.total_calls_finished, cause)) < 0 ||
	    (r = get_int64(o, prefix, "retry_count", 0, 0, CODEC_RETRY_COUNT_MAX, &b.retry_count, cause)) < 0 ||
	    (r = check_shapes(o, prefix, batch_extra_keys, ARRAY_SIZE(batch_extra_keys), cause)) < 0)
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

	if ((r = get_str(o, prefix, "id", F_REQUIRED, &rc.id, cause)) < 0 ||
	    (r = get_str(o, prefix, "phone_number", F_NULLABLE, &rc.phone_number, cause)) < 0 ||
	    (r = get_str(o, prefix, "whatsapp_user_id", F_NULLABLE, &rc.whatsapp_user_id, cause)) < 0 ||
	    (r = get_cstr(o, prefix, "status", F_REQUIRED, &status, cause)) < 0 ||
	    (r = get_int64(o, prefix, "created_at_unix", F_REQUIRED, 0, CODEC_TIME_MAX, &unused, cause)) < 0 ||
	    (r = get_int64(o, prefix, "updated_at_unix", F_REQUIRED, 0, CODEC_TIME_MAX, &unused, cause)) < 0 ||
	    /* server-required but nullable, SDK-optional: absent is accepted */
	    (r = get_str(o, prefix, "conversation_id", F_NULLABLE, &rc.conversation_id, cause)) < 0 ||
	    (r = check_shapes(o, prefix, rcpt_extra_keys, ARRAY_SIZE(rcpt_extra_keys), cause)) < 0)
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

	snprintf(prefix, size, "%s[%zu]", key, i);
	if (!v || !json_object_is_type(v, json_type_object))
		return fail(cause, "%s: expected an object", prefix);
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
	    (r = get_field(root, "", "recipients", json_type_array, F_REQUIRED, &a, cause)) < 0)
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
	if ((r = get_field(root, "", "batch_calls", json_type_array, F_REQUIRED, &a, cause)) < 0 ||
	    (r = get_str(root, "", "next_doc", F_NULLABLE, &p.next_doc, cause)) < 0 ||
	    (r = get_field(root, "", "has_more", json_type_boolean, F_NULLABLE, &v, cause)) < 0)
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
