/*
 * b64: standard base64 (RFC 4648, section 4, with padding), the encoding of
 * keys and values in etcd's JSON gateway. No I/O.
 */
#ifndef BC_B64_H
#define BC_B64_H

#include <stddef.h>

/* The encoding of len bytes of p, NUL-terminated; the caller frees. */
char *b64_encode(const void *p, size_t len);
/* Decode s (padding required, no whitespace): 0 and *ret (NUL-terminated
 * beyond *ret_len; the caller frees), or -EINVAL for anything else. */
int b64_decode(const char *s, size_t slen, char **ret, size_t *ret_len);

#endif
