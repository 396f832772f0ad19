/*
 * jsonin: reading JSON that comes from outside (API answers, webhook
 * bodies) on top of json-c, which alone is neither strict nor safe for it.
 *
 * One pass over a body checks it against RFC 8259 (json-c's own parser
 * takes NaN, single quotes, "01", raw control characters even in strict
 * mode), refuses nesting deeper than JSONIN_MAX_DEPTH and bytes that are
 * not UTF-8 outside strings, reads an unpaired surrogate escape and each
 * byte that is not UTF-8 inside a string as U+FFFD (text cut
 * mid-character by a sender; a refused webhook is never sent again),
 * prices what json-c spends on the tree, and builds the tree with json-c's
 * constructors as it goes (the values json-c's parser would make). A body
 * that could pass the caller's budget (a long one) is checked and priced
 * first and built on a second reading only if it passes: nothing of it
 * is built when it is over (16 MiB of "[{},{},...]" would take json-c 4
 * GB). The same pass asks the caller's rule, for every value by its path,
 * whether to build it, set it aside (checked and counted, never built:
 * the tree holds {} [] or "" in its place, so a transcript of megabytes
 * costs nothing) or capture it (its exact text kept, without
 * insignificant whitespace: the tree holds the capture's number instead,
 * so an integer json-c would saturate is never altered).
 *
 * Then the typed getters read fields the way the API documents want: a key
 * absent, null, of the wrong type or out of bounds is a refusal with a
 * cause naming the key path, never a crash. No I/O.
 */
#ifndef BC_JSONIN_H
#define BC_JSONIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* Deep enough for every documented answer (a batch detail nests about six
 * levels, a conversation's tool calls a few more), shallow enough that
 * json_object_put() never recurses far. */
#define JSONIN_MAX_DEPTH 64
/* Set-aside values are counted under a tag the rule gives (0..3). */
#define JSONIN_TAGS 4

/* What becomes of a value (chosen by the rule before it is read). */
enum jsonin_take {
	JSONIN_BUILD,     /* built into the json-c tree (the default) */
	JSONIN_SET_ASIDE, /* objects, arrays, strings: checked and counted, then {} [] "" */
	JSONIN_CAPTURE,   /* any value: its compact text kept; the tree holds its index */
};

/* One open container on the way to a value. */
struct jsonin_level {
	unsigned char kind; /* '{' or '[' */
	size_t key_off;     /* '{': the current member's key, raw (escapes as written) */
	size_t key_len;
	size_t index;       /* '[': the current element's position */
};

/* Where a value is: lv[0] is the root container, lv[depth - 1] the one
 * that holds the value (depth 0: the value is the root). */
struct jsonin_path {
	const unsigned char *body;
	const struct jsonin_level *lv;
	int depth;
};

/* Is the value's container at level i (0 <= i < depth) an object whose
 * current member key, decoded, is want? */
bool jsonin_path_key(const struct jsonin_path *p, int i, const char *want);

/* The rule: what to do with the value at p whose first byte is first;
 * *ret_tag (0 when untouched) counts a set-aside value under that tag. */
typedef enum jsonin_take (*jsonin_rule_fn)(const struct jsonin_path *p, unsigned char first, int *ret_tag,
					   void *arg);

struct jsonin_opts {
	size_t max_body;     /* bytes of text */
	size_t max_cost;     /* bytes json-c's tree of it may take */
	jsonin_rule_fn rule; /* NULL: build everything */
	void *arg;
};

/* What was set aside under one tag. */
struct jsonin_aside {
	size_t values;      /* values set aside */
	size_t bytes;       /* their text */
	size_t items;       /* direct elements of the arrays among them */
	size_t non_objects; /* ... that were not objects */
};

struct jsonin_capture {
	char *text; /* compact JSON, NUL-terminated */
	size_t len;
};

struct jsonin_doc {
	json_object *root; /* an object */
	struct jsonin_capture *captures;
	size_t n_captures;
	struct jsonin_aside aside[JSONIN_TAGS];
	size_t cost; /* the estimate the budget was held to */
};

/* Parse body (len bytes, no NUL needed or allowed) into *ret: 0, or
 * -EBADMSG with *cause (caller frees; cause may be NULL) saying why. The
 * top level must be one object. *ret is untouched on failure. */
int jsonin_parse(const char *body, size_t len, const struct jsonin_opts *o, struct jsonin_doc *ret, char **cause);
/* Free what d holds (NULL accepted). */
void jsonin_doc_clear(struct jsonin_doc *d);
/* The capture that v (an integer json-c holds in a captured value's
 * place) stands for, or NULL when v is not one. */
const struct jsonin_capture *jsonin_capture_of(const struct jsonin_doc *d, json_object *v);

/* The text of a JSON string literal (json: len bytes, quotes included)
 * with its escapes decoded, as UTF-8 the caller frees; "\u0000" becomes
 * U+FFFD, so the text is a whole C string. NULL when json is not exactly
 * one valid string literal. */
char *jsonin_unquote(const char *json, size_t len);

/* Field flags of the getters. */
enum {
	JSONIN_REQUIRED = 1 << 0, /* absent is an error */
	JSONIN_NULLABLE = 1 << 1, /* null is the same as absent */
};

/* -EBADMSG with *cause (may be NULL) set to the formatted text. */
int jsonin_fail(char **cause, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* -EBADMSG with "prefix.key: why" (just "key: why" when prefix is ""). */
int jsonin_field_fail(char **cause, const char *prefix, const char *key, const char *why);

/* Key of o with JSON type t (json_type_double: any number): 0 and *ret
 * (NULL when absent, or null and allowed), or -EBADMSG naming prefix.key. */
int jsonin_get(json_object *o, const char *prefix, const char *key, enum json_type t, unsigned flags,
	       json_object **ret, char **cause);
/* A string field's text, not copied (NULL when absent or null). A string
 * holding "\u0000" is refused: C strings would cut it. */
int jsonin_get_cstr(json_object *o, const char *prefix, const char *key, unsigned flags, const char **ret,
		    char **cause);
/* The same, copied (caller frees). */
int jsonin_get_str(json_object *o, const char *prefix, const char *key, unsigned flags, char **ret, char **cause);
/* An integer field in min..max; absent (or null, if allowed): 0. An
 * integer json-c could not hold exactly is refused like one out of bounds. */
int jsonin_get_int64(json_object *o, const char *prefix, const char *key, unsigned flags, int64_t min,
		     int64_t max, int64_t *ret, char **cause);

/* A documented key the caller does not keep: only its type is checked. */
struct jsonin_shape {
	const char *key;
	enum json_type type; /* json_type_double: any number */
	unsigned flags;
};
int jsonin_check_shapes(json_object *o, const char *prefix, const struct jsonin_shape *s, size_t n, char **cause);

#endif
