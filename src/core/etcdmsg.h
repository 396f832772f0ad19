/*
 * etcdmsg: the messages of etcd 3.4's JSON gateway (grpc-gateway over the
 * v3 API: POST /v3/kv/range, /v3/kv/txn, /v3/lease/grant, ...), built and
 * read without I/O. Keys and values travel base64-encoded; every 64-bit
 * integer is a JSON string ("123") and a field equal to its zero value is
 * left out of an answer (a txn that failed has no "succeeded"; a lease of 0
 * has no "lease"), so absent means 0/false here.
 *
 * Bodies built here are complete JSON documents the caller frees. Answers
 * are read with jsonin (strict, bounded); an answer that is not what the
 * gateway sends is refused with a cause naming the field.
 */
#ifndef BC_ETCDMSG_H
#define BC_ETCDMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a compare looks at (etcd's Compare.CompareTarget). */
enum etcd_target {
	ETCD_VERSION,
	ETCD_CREATE,
	ETCD_MOD,
	ETCD_VALUE,
	ETCD_LEASE,
};

/* etcd's Compare.CompareResult. */
enum etcd_cmp_result {
	ETCD_EQUAL,
	ETCD_GREATER,
	ETCD_LESS,
	ETCD_NOT_EQUAL,
};

struct etcd_cmp {
	const char *key;
	enum etcd_target target;
	enum etcd_cmp_result result;
	int64_t num;        /* version, create/mod revision or lease */
	const char *value;  /* ETCD_VALUE: the bytes compared (value_len of them) */
	size_t value_len;
};

enum etcd_op_kind {
	ETCD_OP_PUT,
	ETCD_OP_DELETE, /* key, or every key under it when prefix */
	ETCD_OP_RANGE,  /* key, or every key under it when prefix */
};

struct etcd_op {
	enum etcd_op_kind kind;
	const char *key;
	const char *value; /* PUT: value_len bytes */
	size_t value_len;
	int64_t lease;     /* PUT: attach to this lease (0: none) */
	bool prefix;       /* DELETE/RANGE: range_end = the prefix's end */
	int64_t limit;     /* RANGE: at most this many keys (0: all) */
};

/* One key-value of an answer (value decoded, NUL-terminated beyond
 * value_len). */
struct etcd_kv {
	char *key;
	char *value;
	size_t value_len;
	int64_t create_revision;
	int64_t mod_revision;
	int64_t version;
	int64_t lease;
};

/* What an answer said; the fields an answer of that kind does not carry
 * are 0/NULL. */
struct etcd_resp {
	int64_t revision;   /* header.revision */
	uint64_t member_id; /* header.member_id */
	int64_t raft_term;  /* header.raft_term */
	bool succeeded;     /* txn: the compares held */
	struct etcd_kv *kvs; /* range, and the range ops of a txn in order */
	size_t n_kvs;
	bool more;          /* range: more keys past the limit */
	int64_t count;      /* range: keys in the range */
	int64_t deleted;    /* txn: keys deleted by its delete ops */
	int64_t lease_id;   /* lease grant, keepalive, timetolive: ID */
	int64_t ttl;        /* lease grant, keepalive, timetolive: TTL left in
			     * seconds (-1 from timetolive: expired or never was;
			     * keepalive of an expired lease: 0) */
	uint64_t leader;    /* maintenance status: the member id of the raft leader */
	int64_t db_size;    /* maintenance status: dbSize */
	char *version;      /* maintenance status: the server's version */
	/* members: the cluster's members (member list) */
	struct etcd_member {
		uint64_t id;
		char *name;
		char *client_url; /* the first of clientURLs, NULL when none */
	} *members;
	size_t n_members;
};

/* Which answer a body is read as. */
enum etcd_kind {
	ETCD_RANGE_RESP,
	ETCD_TXN_RESP,
	ETCD_LEASE_GRANT_RESP,
	ETCD_LEASE_KEEPALIVE_RESP, /* {"result": {...}} as the gateway streams it */
	ETCD_LEASE_TTL_RESP,
	ETCD_LEASE_REVOKE_RESP,
	ETCD_STATUS_RESP,
	ETCD_MEMBERS_RESP,
};

/* Bodies. A txn of compares cmp[0..n_cmp), ops then[0..n_then) when all
 * hold, otherwise els[0..n_els). */
char *etcdmsg_txn(const struct etcd_cmp *cmp, size_t n_cmp, const struct etcd_op *then, size_t n_then,
		  const struct etcd_op *els, size_t n_els);
/* POST /v3/kv/range: key, or every key from key up to the end of prefix
 * (after: start past this key instead, for paging; NULL: from prefix). */
char *etcdmsg_range(const char *prefix, const char *after, int64_t limit);
/* The same, only the keys last modified at or after revision
 * min_mod_revision (0: every key). etcd filters after it reads the whole
 * range (the limit counts the keys that pass): paging with after works
 * as for etcdmsg_range. */
char *etcdmsg_range_since(const char *prefix, const char *after, int64_t limit, int64_t min_mod_revision);
char *etcdmsg_lease_grant(int64_t ttl_s);
char *etcdmsg_lease_keepalive(int64_t id);
char *etcdmsg_lease_revoke(int64_t id);
char *etcdmsg_lease_ttl(int64_t id);
/* {} (maintenance status, member list). */
char *etcdmsg_empty(void);

/* Read an answer (status 200) of kind. 0, or -EPROTO with *cause (the
 * caller frees). An error body of the gateway ({"error": ..., "code": N,
 * "message": ...}) is -EPROTO too, with its message as the cause. */
int etcdmsg_parse(const char *body, size_t len, enum etcd_kind kind, struct etcd_resp *out, char **cause);
/* The message of a gateway error body ({"error"|"message": "...",
 * "code": N}), NULL when body is not one; the caller frees. */
char *etcdmsg_error(const char *body, size_t len, int *code);
void etcd_resp_clear(struct etcd_resp *r);

/* The range_end that selects every key starting with prefix (prefix with
 * its last byte below 0xff incremented); the caller frees. "\0" (every key)
 * when prefix is all 0xff bytes. */
char *etcdmsg_prefix_end(const char *prefix, size_t *len);

#endif
