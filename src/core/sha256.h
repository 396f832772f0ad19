/*
 * sha256: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), self-contained,
 * for verifying the signature of post-call webhooks (webhook.c). Pure
 * arithmetic on memory: no library state, no configuration file, no
 * entropy source (libcrypto's first use reads openssl.cnf and honours
 * OPENSSL_CONF, which the core must never do).
 */
#ifndef BC_SHA256_H
#define BC_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_BLOCK 64

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;              /* message length so far */
	unsigned char buf[SHA256_BLOCK];
	size_t n;                    /* bytes waiting in buf */
};

/* Streaming: init, update any number of times, final (which wipes c). */
void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
void sha256_final(struct sha256 *c, uint8_t out[SHA256_LEN]);
/* The digest of one buffer. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);

struct hmac_sha256 {
	struct sha256 inner, outer;
};

/* HMAC-SHA256 streaming, keyed with key (any length, 0 included). */
void hmac_sha256_init(struct hmac_sha256 *h, const void *key, size_t key_len);
void hmac_sha256_update(struct hmac_sha256 *h, const void *data, size_t len);
/* The MAC; wipes h. */
void hmac_sha256_final(struct hmac_sha256 *h, uint8_t out[SHA256_LEN]);
/* The MAC of one buffer. */
void hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, uint8_t out[SHA256_LEN]);

/* Whether a and b (n bytes each) are equal, in a time that depends on n
 * only, never on where they differ. */
bool sha256_equal_ct(const void *a, const void *b, size_t n);

/* Set n bytes at p to zero in a way the compiler may not drop. */
void sha256_wipe(void *p, size_t n);

#endif
