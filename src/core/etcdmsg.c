/*
 * etcdmsg: etcd 3.4's JSON gateway messages, built with json-c and read
 * with jsonin. What the gateway writes (checked against etcd 3.4.23): the
 * fields of the protobuf messages under their proto names, 64-bit integers
 * as decimal strings, bytes as padded base64, a field equal to its zero
 * value left out, every answer with a "header" (a lease keepalive's inside
 * its "result", as the gateway streams it, one object and a newline).
 * The reader holds answers to that: a number where a string belongs, a
 * string that is not a decimal integer or not base64 is refused with the
 * field's path; fields it does not know are ignored, as a newer server
 * may add some.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "etcdmsg.h"
#include "jsonin.h"
#include "util.h"

/* A range page of 1000 records of up to 1 MiB each is far past what the
 * store reads at once; an answer beyond this is refused, not built. */
#define ETCDMSG_MAX_BODY ((size_t)256 << 20)
#define ETCDMSG_MAX_COST ((size_t)1 << 30)

#define REQ JSONIN_REQUIRED

/* --- building --------------------------------------------------------------- */

static void add_str(json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, json_object_new_string(s));
}

static void add_bytes(json_object *o, const char *key, const void *p, size_t len)
{
	char *b = b64_encode(p, len);

	add_str(o, key, b);
	free(b);
}

/* An int64 as the gateway reads one: a decimal string. */
static void add_int(json_object *o, const char *key, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	add_str(o, key, buf);
}

/* The document's text (compact, '/' unescaped: base64 is full of them). */
static char *finish(json_object *o)
{
	char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(o);
	return s;
}

char *etcdmsg_prefix_end(const char *prefix, size_t *len)
{
	size_t n = strlen(prefix);

	while (n > 0 && (unsigned char)prefix[n - 1] == 0xff)
		n--;
	if (n == 0) {
		if (len)
			*len = 1;
		return xcalloc(2, 1);
	}
	char *end = xstrndup(prefix, n);
	end[n - 1] = (char)((unsigned char)end[n - 1] + 1);
	if (len)
		*len = n;
	return end;
}

static void add_range_end(json_object *o, const char *key)
{
	size_t n;
	char *end = etcdmsg_prefix_end(key, &n);

	add_bytes(o, "range_end", end, n);
	free(end);
}

static const char *const target_names[] = {
	[ETCD_VERSION] = "VERSION", [ETCD_CREATE] = "CREATE", [ETCD_MOD] = "MOD",
	[ETCD_VALUE] = "VALUE",	    [ETCD_LEASE] = "LEASE",
};
static const char *const target_fields[] = {
	[ETCD_VERSION] = "version", [ETCD_CREATE] = "create_revision", [ETCD_MOD] = "mod_revision",
	[ETCD_VALUE] = "value",	    [ETCD_LEASE] = "lease",
};
static const char *const result_names[] = {
	[ETCD_EQUAL] = "EQUAL",
	[ETCD_GREATER] = "GREATER",
	[ETCD_LESS] = "LESS",
	[ETCD_NOT_EQUAL] = "NOT_EQUAL",
};

static json_object *cmp_json(const struct etcd_cmp *c)
{
	json_object *o = json_object_new_object();

	add_bytes(o, "key", c->key, strlen(c->key));
	add_str(o, "target", target_names[c->target]);
	add_str(o, "result", result_names[c->result]);
	if (c->target == ETCD_VALUE)
		add_bytes(o, "value", c->value, c->value_len);
	else
		add_int(o, target_fields[c->target], c->num);
	return o;
}

static json_object *op_json(const struct etcd_op *op)
{
	json_object *o = json_object_new_object(), *req = json_object_new_object();

	add_bytes(req, "key", op->key, strlen(op->key));
	switch (op->kind) {
	case ETCD_OP_PUT:
		add_bytes(req, "value", op->value, op->value_len);
		if (op->lease)
			add_int(req, "lease", op->lease);
		json_object_object_add(o, "request_put", req);
		break;
	case ETCD_OP_DELETE:
		if (op->prefix)
			add_range_end(req, op->key);
		json_object_object_add(o, "request_delete_range", req);
		break;
	case ETCD_OP_RANGE:
		if (op->prefix)
			add_range_end(req, op->key);
		if (op->limit)
			add_int(req, "limit", op->limit);
		json_object_object_add(o, "request_range", req);
		break;
	}
	return o;
}

static void add_ops(json_object *o, const char *key, const struct etcd_op *ops, size_t n)
{
	json_object *a;

	if (n == 0)
		return;
	a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, op_json(&ops[i]));
	json_object_object_add(o, key, a);
}

char *etcdmsg_txn(const struct etcd_cmp *cmp, size_t n_cmp, const struct etcd_op *then, size_t n_then,
		  const struct etcd_op *els, size_t n_els)
{
	json_object *o = json_object_new_object();

	if (n_cmp > 0) {
		json_object *a = json_object_new_array();
		for (size_t i = 0; i < n_cmp; i++)
			json_object_array_add(a, cmp_json(&cmp[i]));
		json_object_object_add(o, "compare", a);
	}
	add_ops(o, "success", then, n_then);
	add_ops(o, "failure", els, n_els);
	return finish(o);
}

char *etcdmsg_range(const char *prefix, const char *after, int64_t limit)
{
	json_object *o = json_object_new_object();

	if (after)
		/* the first key past after: after itself and a NUL byte */
		add_bytes(o, "key", after, strlen(after) + 1);
	else
		add_bytes(o, "key", prefix, strlen(prefix));
	add_range_end(o, prefix);
	if (limit)
		add_int(o, "limit", limit);
	return finish(o);
}

char *etcdmsg_range_since(const char *prefix, const char *after, int64_t limit, int64_t min_mod_revision)
{
	json_object *o = json_object_new_object();

	if (after)
		add_bytes(o, "key", after, strlen(after) + 1);
	else
		add_bytes(o, "key", prefix, strlen(prefix));
	add_range_end(o, prefix);
	if (limit)
		add_int(o, "limit", limit);
	if (min_mod_revision)
		add_int(o, "min_mod_revision", min_mod_revision);
	return finish(o);
}

static char *with_int(const char *key, int64_t v)
{
	json_object *o = json_object_new_object();

	add_int(o, key, v);
	return finish(o);
}

char *etcdmsg_lease_grant(int64_t ttl_s)
{
	return with_int("TTL", ttl_s);
}

char *etcdmsg_lease_keepalive(int64_t id)
{
	return with_int("ID", id);
}

char *etcdmsg_lease_revoke(int64_t id)
{
	return with_int("ID", id);
}

char *etcdmsg_lease_ttl(int64_t id)
{
	return with_int("ID", id);
}

char *etcdmsg_empty(void)
{
	return xstrdup("{}");
}

/* --- reading ---------------------------------------------------------------- */

/* A decimal integer as the gateway writes one: optional '-', digits, no
 * leading zero, nothing else. 0 and *ret (magnitude in *ret, sign in
 * *neg), or -EINVAL / -ERANGE. */
static int parse_dec(const char *s, bool *neg, uint64_t *ret)
{
	uint64_t v = 0;

	*neg = *s == '-';
	if (*neg)
		s++;
	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] != '\0'))
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return 0;
}

/* An int64 field (a decimal string; absent: 0). */
static int get_i64(json_object *o, const char *prefix, const char *key, int64_t *ret, char **cause)
{
	const char *s;
	uint64_t v;
	bool neg;
	int r;

	if ((r = jsonin_get_cstr(o, prefix, key, 0, &s, cause)) < 0)
		return r;
	if (!s) {
		*ret = 0;
		return 0;
	}
	r = parse_dec(s, &neg, &v);
	if (r == 0 && (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX))
		r = -ERANGE;
	if (r < 0)
		return jsonin_field_fail(cause, prefix, key, "not a 64-bit integer in a string");
	*ret = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* A uint64 field (a decimal string; absent: 0). */
static int get_u64(json_object *o, const char *prefix, const char *key, uint64_t *ret, char **cause)
{
	const char *s;
	uint64_t v;
	bool neg;
	int r;

	if ((r = jsonin_get_cstr(o, prefix, key, 0, &s, cause)) < 0)
		return r;
	if (!s) {
		*ret = 0;
		return 0;
	}
	if (parse_dec(s, &neg, &v) < 0 || (neg && v != 0))
		return jsonin_field_fail(cause, prefix, key, "not an unsigned 64-bit integer in a string");
	*ret = v;
	return 0;
}

/* A bytes field, decoded (absent: empty, or NULL when want_null). */
static int get_bytes(json_object *o, const char *prefix, const char *key, bool want_null, char **ret,
		     size_t *ret_len, char **cause)
{
	const char *s;
	int r;

	if ((r = jsonin_get_cstr(o, prefix, key, 0, &s, cause)) < 0)
		return r;
	if (!s && want_null) {
		*ret = NULL;
		*ret_len = 0;
		return 0;
	}
	if (b64_decode(s ? s : "", s ? strlen(s) : 0, ret, ret_len) < 0)
		return jsonin_field_fail(cause, prefix, key, "not base64");
	return 0;
}

static int get_bool(json_object *o, const char *prefix, const char *key, bool *ret, char **cause)
{
	json_object *v;
	int r;

	if ((r = jsonin_get(o, prefix, key, json_type_boolean, 0, &v, cause)) < 0)
		return r;
	*ret = v && json_object_get_boolean(v);
	return 0;
}

static int parse_header(json_object *o, const char *prefix, bool required, struct etcd_resp *out, char **cause)
{
	json_object *h;
	char *p;
	uint64_t cluster;
	int r;

	if ((r = jsonin_get(o, prefix, "header", json_type_object, required ? REQ : 0, &h, cause)) < 0)
		return r;
	if (!h)
		return 0;
	p = *prefix ? xasprintf("%s.header", prefix) : xstrdup("header");
	if ((r = get_u64(h, p, "cluster_id", &cluster, cause)) == 0 &&
	    (r = get_u64(h, p, "member_id", &out->member_id, cause)) == 0 &&
	    (r = get_i64(h, p, "revision", &out->revision, cause)) == 0)
		r = get_i64(h, p, "raft_term", &out->raft_term, cause);
	free(p);
	return r;
}

static void kv_clear(struct etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
}

static int parse_kv(json_object *o, const char *prefix, struct etcd_kv *kv, char **cause)
{
	size_t klen;
	int r;

	if ((r = get_bytes(o, prefix, "key", false, &kv->key, &klen, cause)) < 0)
		return r;
	if (klen == 0 || memchr(kv->key, '\0', klen))
		return jsonin_field_fail(cause, prefix, "key", klen ? "holds a NUL byte" : "missing or empty");
	if ((r = get_bytes(o, prefix, "value", false, &kv->value, &kv->value_len, cause)) < 0 ||
	    (r = get_i64(o, prefix, "create_revision", &kv->create_revision, cause)) < 0 ||
	    (r = get_i64(o, prefix, "mod_revision", &kv->mod_revision, cause)) < 0 ||
	    (r = get_i64(o, prefix, "version", &kv->version, cause)) < 0 ||
	    (r = get_i64(o, prefix, "lease", &kv->lease, cause)) < 0)
		return r;
	return 0;
}

/* The kvs of a range answer at o, appended to out->kvs; count and more
 * added up (a txn's ranges). */
static int parse_range(json_object *o, const char *prefix, struct etcd_resp *out, char **cause)
{
	json_object *a;
	int64_t count = 0;
	bool more = false;
	size_t n;
	int r;

	if ((r = jsonin_get(o, prefix, "kvs", json_type_array, 0, &a, cause)) < 0 ||
	    (r = get_i64(o, prefix, "count", &count, cause)) < 0 || (r = get_bool(o, prefix, "more", &more, cause)) < 0)
		return r;
	if (count < 0)
		return jsonin_field_fail(cause, prefix, "count", "negative");
	out->count += count;
	out->more = out->more || more;
	n = a ? json_object_array_length(a) : 0;
	if (n == 0)
		return 0;
	out->kvs = xrealloc(out->kvs, (out->n_kvs + n) * sizeof(*out->kvs));
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		char *p = xasprintf("%s%skvs[%zu]", prefix, *prefix ? "." : "", i);
		struct etcd_kv *kv = &out->kvs[out->n_kvs++];

		memset(kv, 0, sizeof(*kv));
		if (!json_object_is_type(e, json_type_object))
			r = jsonin_fail(cause, "%s: not an object", p);
		else
			r = parse_kv(e, p, kv, cause);
		free(p);
		if (r < 0)
			return r;
	}
	return 0;
}

/* One element of a txn's responses: exactly one of a range, put or
 * delete answer. */
static int parse_txn_response(json_object *e, const char *p, struct etcd_resp *out, char **cause)
{
	json_object *v;
	char *q;
	int64_t deleted = 0;
	int r;

	if (!json_object_is_type(e, json_type_object) || json_object_object_length(e) != 1)
		return jsonin_fail(cause, "%s: not an object holding one response", p);
	if (json_object_object_get_ex(e, "response_put", &v))
		return jsonin_get(e, p, "response_put", json_type_object, REQ, &v, cause);
	if (json_object_object_get_ex(e, "response_range", &v)) {
		if ((r = jsonin_get(e, p, "response_range", json_type_object, REQ, &v, cause)) < 0)
			return r;
		q = xasprintf("%s.response_range", p);
		r = parse_range(v, q, out, cause);
		free(q);
		return r;
	}
	if (!json_object_object_get_ex(e, "response_delete_range", &v))
		return jsonin_fail(cause, "%s: not a range, put or delete response", p);
	if ((r = jsonin_get(e, p, "response_delete_range", json_type_object, REQ, &v, cause)) < 0)
		return r;
	q = xasprintf("%s.response_delete_range", p);
	if ((r = get_i64(v, q, "deleted", &deleted, cause)) == 0 && deleted < 0)
		r = jsonin_field_fail(cause, q, "deleted", "negative");
	if (r == 0)
		out->deleted += deleted;
	free(q);
	return r;
}

static int parse_txn(json_object *root, struct etcd_resp *out, char **cause)
{
	json_object *a;
	size_t n;
	int r;

	if ((r = get_bool(root, "", "succeeded", &out->succeeded, cause)) < 0 ||
	    (r = jsonin_get(root, "", "responses", json_type_array, 0, &a, cause)) < 0)
		return r;
	n = a ? json_object_array_length(a) : 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		char *p = xasprintf("responses[%zu]", i);
		r = parse_txn_response(json_object_array_get_idx(a, i), p, out, cause);
		free(p);
	}
	return r;
}

static int parse_lease(json_object *o, const char *prefix, struct etcd_resp *out, char **cause)
{
	const char *err;
	int r;

	if ((r = get_i64(o, prefix, "ID", &out->lease_id, cause)) < 0 ||
	    (r = get_i64(o, prefix, "TTL", &out->ttl, cause)) < 0 ||
	    (r = jsonin_get_cstr(o, prefix, "error", 0, &err, cause)) < 0)
		return r;
	if (err && *err)
		return jsonin_fail(cause, "%s", err);
	return 0;
}

static int parse_status(json_object *root, struct etcd_resp *out, char **cause)
{
	static const struct jsonin_shape shapes[] = {
		{ "raftIndex", json_type_string, 0 }, { "raftTerm", json_type_string, 0 },
		{ "raftAppliedIndex", json_type_string, 0 }, { "dbSizeInUse", json_type_string, 0 },
		{ "errors", json_type_array, 0 }, { "isLearner", json_type_boolean, 0 },
	};
	int r;

	if ((r = jsonin_check_shapes(root, "", shapes, ARRAY_SIZE(shapes), cause)) < 0 ||
	    (r = jsonin_get_str(root, "", "version", REQ, &out->version, cause)) < 0 ||
	    (r = get_i64(root, "", "dbSize", &out->db_size, cause)) < 0 ||
	    (r = get_u64(root, "", "leader", &out->leader, cause)) < 0)
		return r;
	return 0;
}

static int parse_member(json_object *o, const char *p, struct etcd_member *m, char **cause)
{
	json_object *urls, *peers;
	int r;

	if ((r = get_u64(o, p, "ID", &m->id, cause)) < 0 || (r = jsonin_get_str(o, p, "name", 0, &m->name, cause)) < 0 ||
	    (r = jsonin_get(o, p, "peerURLs", json_type_array, 0, &peers, cause)) < 0 ||
	    (r = jsonin_get(o, p, "clientURLs", json_type_array, 0, &urls, cause)) < 0)
		return r;
	if (!m->name)
		m->name = xstrdup(""); /* a member that has not started yet has none */
	for (size_t k = 0; k < 2; k++) {
		json_object *a = k ? urls : peers;
		size_t n = a ? json_object_array_length(a) : 0;
		for (size_t j = 0; j < n; j++) {
			json_object *u = json_object_array_get_idx(a, j);
			if (!json_object_is_type(u, json_type_string))
				return jsonin_fail(cause, "%s.%s[%zu]: not a string", p, k ? "clientURLs" : "peerURLs", j);
			if (k && j == 0)
				m->client_url = xstrdup(json_object_get_string(u));
		}
	}
	return 0;
}

static int parse_members(json_object *root, struct etcd_resp *out, char **cause)
{
	json_object *a;
	size_t n;
	int r;

	if ((r = jsonin_get(root, "", "members", json_type_array, 0, &a, cause)) < 0)
		return r;
	n = a ? json_object_array_length(a) : 0;
	if (n == 0)
		return 0;
	out->members = xcalloc(n, sizeof(*out->members));
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		char *p = xasprintf("members[%zu]", i);

		out->n_members++;
		if (!json_object_is_type(e, json_type_object))
			r = jsonin_fail(cause, "%s: not an object", p);
		else
			r = parse_member(e, p, &out->members[i], cause);
		free(p);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The message of an error document (the gateway's {"error": "...",
 * "code": N, "message": "..."}, or a stream's {"error": {"grpc_code": N,
 * "message": "..."}}), NULL when root is not one. */
static char *error_of(json_object *root, int *code)
{
	json_object *e = NULL, *m = NULL, *c = NULL;

	if (json_object_object_get_ex(root, "header", NULL) || json_object_object_get_ex(root, "result", NULL))
		return NULL;
	json_object_object_get_ex(root, "error", &e);
	if (e && json_object_is_type(e, json_type_object)) {
		json_object_object_get_ex(e, "message", &m);
		json_object_object_get_ex(e, "grpc_code", &c);
	} else {
		json_object_object_get_ex(root, "message", &m);
		json_object_object_get_ex(root, "code", &c);
		if (!m || !json_object_is_type(m, json_type_string) || !*json_object_get_string(m))
			m = e;
	}
	if (!m || !json_object_is_type(m, json_type_string) || !c || !json_object_is_type(c, json_type_int))
		return NULL;
	if (code)
		*code = json_object_get_int(c);
	return xstrdup(json_object_get_string(m));
}

/* The body without the whitespace after it (the streamed keepalive ends
 * with a newline). */
static size_t trimmed(const char *body, size_t len)
{
	while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r' || body[len - 1] == ' ' ||
			   body[len - 1] == '\t'))
		len--;
	return len;
}

static int doc_of(const char *body, size_t len, struct jsonin_doc *doc, char **cause)
{
	struct jsonin_opts o = { ETCDMSG_MAX_BODY, ETCDMSG_MAX_COST, NULL, NULL };

	return jsonin_parse(body, trimmed(body, len), &o, doc, cause);
}

char *etcdmsg_error(const char *body, size_t len, int *code)
{
	struct jsonin_doc doc = { 0 };
	char *msg;

	if (doc_of(body, len, &doc, NULL) < 0)
		return NULL;
	msg = error_of(doc.root, code);
	jsonin_doc_clear(&doc);
	return msg;
}

int etcdmsg_parse(const char *body, size_t len, enum etcd_kind kind, struct etcd_resp *out, char **cause)
{
	struct jsonin_doc doc = { 0 };
	struct etcd_resp resp = { 0 };
	json_object *root;
	char *err;
	int r;

	if (doc_of(body, len, &doc, cause) < 0)
		return -EPROTO;
	root = doc.root;
	if ((err = error_of(root, NULL))) {
		*cause = xasprintf("etcd: %s", err);
		free(err);
		r = -EPROTO;
		goto out;
	}
	if (kind == ETCD_LEASE_KEEPALIVE_RESP &&
	    (r = jsonin_get(doc.root, "", "result", json_type_object, REQ, &root, cause)) < 0)
		goto out;
	if ((r = parse_header(root, kind == ETCD_LEASE_KEEPALIVE_RESP ? "result" : "", true, &resp, cause)) < 0)
		goto out;
	switch (kind) {
	case ETCD_RANGE_RESP:
		r = parse_range(root, "", &resp, cause);
		break;
	case ETCD_TXN_RESP:
		r = parse_txn(root, &resp, cause);
		break;
	case ETCD_LEASE_GRANT_RESP:
	case ETCD_LEASE_TTL_RESP:
		r = parse_lease(root, "", &resp, cause);
		break;
	case ETCD_LEASE_KEEPALIVE_RESP:
		r = parse_lease(root, "result", &resp, cause);
		break;
	case ETCD_LEASE_REVOKE_RESP:
		break;
	case ETCD_STATUS_RESP:
		r = parse_status(root, &resp, cause);
		break;
	case ETCD_MEMBERS_RESP:
		r = parse_members(root, &resp, cause);
		break;
	default:
		r = jsonin_fail(cause, "unknown kind of answer %d", (int)kind);
		break;
	}
	if (r == 0) {
		*out = resp;
		resp = (struct etcd_resp){ 0 };
	}
out:
	etcd_resp_clear(&resp);
	jsonin_doc_clear(&doc);
	return r < 0 ? -EPROTO : 0;
}

void etcd_resp_clear(struct etcd_resp *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_kvs; i++)
		kv_clear(&r->kvs[i]);
	free(r->kvs);
	free(r->version);
	for (size_t i = 0; i < r->n_members; i++) {
		free(r->members[i].name);
		free(r->members[i].client_url);
	}
	free(r->members);
	memset(r, 0, sizeof(*r));
}
