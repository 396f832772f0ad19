/*
 * events_etcd: the post-call events of a cluster in etcd. One key per
 * conversation and type, PREFIX "events/" TYPE-CONVERSATION.json, its
 * value the body as received (the same name and content as a file of
 * STATE_DIR/events on a single node). Events are idempotent facts, not
 * the leader's work: any node's receiver stores them, without the
 * leader's fence; what is stored never goes backwards because every
 * write is a compare-and-swap on what the writer read (the key's mod
 * revision, or its absence), decided again after a conflict.
 *
 * The calls block (etcd_call): the receiver answers 200 only once etcd
 * answered the write, as it does after a sync on a single node. A group
 * stops at the first call that gets no answer (etcd down): the rest fail
 * at once, so a group never holds the loop for more than one timeout.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "events_etcd.h"
#include "log.h"
#include "report.h"
#include "util.h"

char *events_etcd_key(const char *prefix, const char *name)
{
	return xasprintf("%s" EVENTS_ETCD_DIR "%s", prefix, name);
}

/* A txn that reads key (and does nothing else). 0 with *out, or a
 * negative errno. */
static int read_key(struct etcd *c, const char *key, struct etcd_resp *out, char **cause)
{
	struct etcd_op op = { .kind = ETCD_OP_RANGE, .key = key };
	char *body = etcdmsg_txn(NULL, 0, &op, 1, NULL, 0);
	int r = etcd_call(c, "/v3/kv/txn", body, ETCD_TXN_RESP, out, cause);

	free(body);
	return r;
}

/* The kv of key in a txn answer, or NULL. */
static const struct etcd_kv *kv_of(const struct etcd_resp *resp, const char *key)
{
	for (size_t i = 0; i < resp->n_kvs; i++)
		if (strcmp(resp->kvs[i].key, key) == 0)
			return &resp->kvs[i];
	return NULL;
}

int events_etcd_get(struct etcd *c, const char *prefix, const char *name, char **ret_text, size_t *ret_len,
		    int64_t *ret_mod)
{
	char *key = events_etcd_key(prefix, name), *cause = NULL;
	struct etcd_resp resp;
	const struct etcd_kv *kv;
	int r = read_key(c, key, &resp, &cause);

	free(cause);
	if (r < 0) {
		free(key);
		return r == -EPROTO ? r : -EIO;
	}
	kv = kv_of(&resp, key);
	free(key);
	if (!kv) {
		etcd_resp_clear(&resp);
		return 0;
	}
	*ret_text = xmalloc(kv->value_len + 1);
	memcpy(*ret_text, kv->value, kv->value_len);
	(*ret_text)[kv->value_len] = '\0';
	*ret_len = kv->value_len;
	if (ret_mod)
		*ret_mod = kv->mod_revision;
	etcd_resp_clear(&resp);
	return 1;
}

int events_etcd_stored(struct etcd *c, const char *prefix, const struct webhook_event *ev, const char *body,
		       size_t len)
{
	char *name = report_event_name(ev), *text = NULL;
	size_t n = 0;
	int r;

	if (!name)
		return 0;
	r = events_etcd_get(c, prefix, name, &text, &n, NULL);
	free(name);
	if (r == 1)
		r = n == len && memcmp(text, body, len) == 0;
	free(text);
	return r;
}

/* Whether the stored value kv makes ev (body) change nothing: the same
 * delivery, or one ev does not supersede (an unreadable value is
 * replaced, as an unreadable file is). */
static bool kept_over(const struct etcd_kv *kv, const struct webhook_event *ev, const char *body, size_t len)
{
	struct webhook_event old = { 0 };
	bool kept;

	if (kv->value_len == len && memcmp(kv->value, body, len) == 0)
		return true;
	if (webhook_parse(kv->value, kv->value_len, &old, NULL) < 0)
		return false;
	kept = !webhook_event_supersedes(ev, &old);
	webhook_event_clear(&old);
	return kept;
}

/* Store one event under key unless what is stored keeps it out: 0 and
 * *mod (written), 1 (dup), or a negative errno with *cause. */
static int put_one(struct etcd *c, const char *key, const struct webhook_event *ev, const char *body, size_t len,
		   int64_t *mod, char **cause)
{
	struct etcd_resp cur;
	const struct etcd_kv *kv;
	int r = read_key(c, key, &cur, cause);

	if (r < 0)
		return r;
	for (int attempt = 0;; attempt++) {
		struct etcd_resp resp;
		struct etcd_cmp cmp;
		struct etcd_op put = { .kind = ETCD_OP_PUT, .key = key, .value = body, .value_len = len };
		struct etcd_op get = { .kind = ETCD_OP_RANGE, .key = key };
		char *txn;

		kv = kv_of(&cur, key);
		if (kv && kept_over(kv, ev, body, len)) {
			etcd_resp_clear(&cur);
			return 1;
		}
		if (attempt == EVENTS_ETCD_TRIES) {
			etcd_resp_clear(&cur);
			*cause = xstrdup("other writes of the same event kept coming");
			return -EAGAIN;
		}
		cmp = kv ? (struct etcd_cmp){ .key = key, .target = ETCD_MOD, .result = ETCD_EQUAL, .num = kv->mod_revision }
			 : (struct etcd_cmp){ .key = key, .target = ETCD_CREATE, .result = ETCD_EQUAL, .num = 0 };
		/* written if nothing changed since it was read; else what is
		 * there now, to decide again */
		txn = etcdmsg_txn(&cmp, 1, &put, 1, &get, 1);
		r = etcd_call(c, "/v3/kv/txn", txn, ETCD_TXN_RESP, &resp, cause);
		free(txn);
		etcd_resp_clear(&cur);
		if (r < 0)
			return r;
		if (resp.succeeded) {
			*mod = resp.revision;
			etcd_resp_clear(&resp);
			return 0;
		}
		cur = resp;
	}
}

void events_etcd_store(struct etcd *c, const char *prefix, struct report_pending *v, size_t n, int64_t *mods)
{
	char **names = xcalloc(n ? n : 1, sizeof(*names));
	int down = 0; /* etcd did not answer: the rest fail the same */
	bool said = false;

	for (size_t i = 0; i < n; i++) {
		v[i].result = 0;
		v[i].dup = false;
		if (mods)
			mods[i] = 0;
		names[i] = report_event_name(&v[i].ev);
		if (!names[i])
			v[i].result = -EINVAL;
	}
	/* of the deliveries of one event in this group, the first that no
	 * later one supersedes is the candidate (report_take_events) */
	for (size_t i = 0; i < n; i++) {
		size_t j;
		if (!names[i])
			continue;
		for (j = 0; j < i; j++)
			if (names[j] && !v[j].dup && strcmp(names[i], names[j]) == 0)
				break;
		if (j < i) {
			if (webhook_event_supersedes(&v[i].ev, &v[j].ev))
				v[j].dup = true;
			else
				v[i].dup = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		char *key, *cause = NULL;
		int64_t mod = 0;
		int r;
		if (!names[i] || v[i].dup)
			continue;
		if (down) {
			v[i].result = down;
			continue;
		}
		key = events_etcd_key(prefix, names[i]);
		r = put_one(c, key, &v[i].ev, v[i].body, v[i].len, &mod, &cause);
		if (r == 1) {
			v[i].dup = true;
		} else if (r == 0) {
			if (mods)
				mods[i] = mod;
		} else {
			if (r != -EPROTO && r != -EAGAIN)
				r = down = -EIO;
			v[i].result = r;
			if (!said)
				log_event(LOG_ERR, EV_WEBHOOK_FAILED, NULL, "cannot keep the webhook event '%s' in etcd: %s",
					  key, cause ? cause : strerror(-r));
			said = true;
		}
		free(cause);
		free(key);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int events_etcd_delete(struct etcd *c, const char *prefix, const char *name, int64_t mod)
{
	char *key = events_etcd_key(prefix, name), *cause = NULL, *txn;
	struct etcd_cmp cmp = { .key = key, .target = ETCD_MOD, .result = ETCD_EQUAL, .num = mod };
	struct etcd_op del = { .kind = ETCD_OP_DELETE, .key = key };
	struct etcd_resp resp;
	int r;

	txn = etcdmsg_txn(&cmp, 1, &del, 1, NULL, 0);
	r = etcd_call(c, "/v3/kv/txn", txn, ETCD_TXN_RESP, &resp, &cause);
	free(txn);
	free(cause);
	free(key);
	if (r == 0)
		etcd_resp_clear(&resp);
	return r;
}
