/*
 * sign: SHA-256 and HMAC-SHA256 over bytes, and the ElevenLabs webhook
 * signature header built on them. Pure: no I/O, no clock (the timestamp is
 * an argument), no library beyond the C runtime, so the core can sign what
 * it renders and the unit tests can check the API document's test vector.
 */
#ifndef BC_SIM_SIGN_H
#define BC_SIM_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define SIM_SHA256_LEN 32

struct sim_sha256 {
	uint32_t h[8];
	uint64_t len; /* bytes hashed so far */
	uint8_t buf[64];
	size_t n; /* bytes in buf */
};

void sim_sha256_init(struct sim_sha256 *c);
void sim_sha256_update(struct sim_sha256 *c, const void *data, size_t len);
void sim_sha256_final(struct sim_sha256 *c, uint8_t out[SIM_SHA256_LEN]);
void sim_sha256(const void *data, size_t len, uint8_t out[SIM_SHA256_LEN]);

/* HMAC-SHA256(key, msg1 || msg2) (msg2 may be NULL), as in RFC 2104. */
void sim_hmac_sha256(const void *key, size_t key_len, const void *msg1, size_t len1, const void *msg2,
		     size_t len2, uint8_t out[SIM_SHA256_LEN]);

/* Room for "t=<int64>,v0=<64 hex>" and its NUL. */
#define SIM_SIG_HEADER_MAX 96

/* The ElevenLabs-Signature header value for body signed at unix second t:
 * "t=<t>,v0=<lowercase hex of HMAC-SHA256(secret, "<t>." || body)>". */
void sim_sign_header(const char *secret, int64_t t, const char *body, size_t body_len,
		     char out[SIM_SIG_HEADER_MAX]);

/* Standard base64 (RFC 4648, with padding) of len bytes into out, which
 * needs room for 4 * ((len + 2) / 3) + 1 bytes. Returns the length. */
size_t sim_base64(const void *data, size_t len, char *out);

#endif
