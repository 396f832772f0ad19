/*
 * b64: standard base64 (RFC 4648, section 4) with padding. The decoder is
 * strict: length a multiple of 4, padding only at the end, and the unused
 * bits of the last symbol zero, so that every text decodes from exactly
 * one encoding (what etcd's gateway writes, Go's encoding/base64).
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "b64.h"
#include "util.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *b64_encode(const void *p, size_t len)
{
	const unsigned char *s = p;
	char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i = 0;

	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = alphabet[(v >> 6) & 63];
		*o++ = alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)s[i] << 16;
		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = alphabet[(v >> 6) & 63];
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

/* The value of symbol c, or -1. */
static int sym(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int b64_decode(const char *s, size_t slen, char **ret, size_t *ret_len)
{
	char *out;
	size_t n = 0;

	if (slen % 4 != 0)
		return -EINVAL;
	out = xmalloc(slen / 4 * 3 + 1);
	for (size_t i = 0; i < slen; i += 4) {
		bool last = i + 4 == slen;
		int a = sym((unsigned char)s[i]), b = sym((unsigned char)s[i + 1]);
		int c = sym((unsigned char)s[i + 2]), d = sym((unsigned char)s[i + 3]);
		uint32_t v;

		if (a < 0 || b < 0)
			goto bad;
		if (last && s[i + 2] == '=' && s[i + 3] == '=') {
			if (b & 15)
				goto bad;
			out[n++] = (char)(a << 2 | b >> 4);
			break;
		}
		if (c < 0)
			goto bad;
		if (last && s[i + 3] == '=') {
			if (c & 3)
				goto bad;
			v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
			out[n++] = (char)(v >> 16);
			out[n++] = (char)(v >> 8 & 0xff);
			break;
		}
		if (d < 0)
			goto bad;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		out[n++] = (char)(v >> 16);
		out[n++] = (char)(v >> 8 & 0xff);
		out[n++] = (char)(v & 0xff);
	}
	out[n] = '\0';
	*ret = out;
	*ret_len = n;
	return 0;
bad:
	free(out);
	return -EINVAL;
}
