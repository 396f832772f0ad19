/*
 * fuzz_etcdmsg: libFuzzer target for the etcd gateway's answers
 * (etcdmsg.c) and base64 (b64.c). The input's first byte picks the kind of
 * answer (modulo the kinds), the rest is the body. Besides "no crash, no
 * leak, no read past the input", it checks: etcdmsg_parse gives 0 or
 * -EPROTO, a cause exactly on failure, the output untouched on failure,
 * and on success keys that are whole non-empty C strings and values
 * NUL-terminated at their length; a body etcdmsg_error reads as an error
 * is never taken as an answer; the body's bytes encode to base64 that
 * decodes back to them, and a body that decodes as base64 is the one
 * canonical encoding of what it decodes to.
 *
 * Seeds: fuzz/corpus/etcdmsg/ (real etcd 3.4.23 answers, kind digit first).
 * Build: ./configure --enable-fuzzing CC=clang && make fuzz/fuzz_etcdmsg (mk/fuzz.mk).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "etcdmsg.h"

#define KINDS (ETCD_MEMBERS_RESP + 1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_answer(enum etcd_kind kind, const char *body, size_t len)
{
	struct etcd_resp r, sentinel;
	char *cause = NULL, *err;
	int code = 0, rc;

	memset(&r, 0x5a, sizeof(r));
	memset(&sentinel, 0x5a, sizeof(sentinel));
	rc = etcdmsg_parse(body, len, kind, &r, &cause);
	err = etcdmsg_error(body, len, &code);
	if (rc != 0) {
		if (rc != -EPROTO || !cause || memcmp(&r, &sentinel, sizeof(r)) != 0)
			abort();
		free(cause);
		free(err);
		return;
	}
	if (cause || err || (r.n_kvs > 0) != (r.kvs != NULL) || (r.n_members > 0) != (r.members != NULL))
		abort();
	for (size_t i = 0; i < r.n_kvs; i++) {
		const struct etcd_kv *kv = &r.kvs[i];
		if (!kv->key || !*kv->key || !kv->value || kv->value[kv->value_len] != '\0' || kv->value_len > len)
			abort();
	}
	for (size_t i = 0; i < r.n_members; i++)
		if (!r.members[i].name)
			abort();
	if (kind == ETCD_STATUS_RESP && !r.version)
		abort();
	if (r.count < 0 || r.deleted < 0)
		abort();
	etcd_resp_clear(&r);
}

static void fuzz_b64(const char *p, size_t len)
{
	char *enc = b64_encode(p, len), *dec = NULL, *again;
	size_t n = 0;

	if (b64_decode(enc, strlen(enc), &dec, &n) != 0 || n != len || memcmp(dec, p, len) != 0 || dec[n] != '\0')
		abort();
	free(enc);
	free(dec);
	dec = NULL;
	if (b64_decode(p, len, &dec, &n) == 0) {
		again = b64_encode(dec, n);
		if (strlen(again) != len || memcmp(again, p, len) != 0)
			abort();
		free(again);
		free(dec);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = size ? size - 1 : 0;
	/* an exact-size copy, so that ASan sees where it ends */
	char *body = malloc(len ? len : 1);

	if (!body)
		abort();
	if (len)
		memcpy(body, data + 1, len);
	fuzz_answer((enum etcd_kind)(size ? data[0] % KINDS : 0), body, len);
	fuzz_b64(body, len);
	free(body);
	return 0;
}
