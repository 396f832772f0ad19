/*
 * sign: the webhook signature header (webhook_sign of the daemon's core,
 * copied into the fixed buffer the delivery keeps) and base64.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sim_sign.h"
#include "webhook.h"

void sim_sign_header(const char *secret, int64_t t, const char *body, size_t body_len,
		     char out[SIM_SIG_HEADER_MAX])
{
	char *h = webhook_sign(secret, strlen(secret), t, body, body_len);
	size_t n = strlen(h);

	/* "t=" + at most 20 digits + ",v0=" + 64 hex always fits */
	if (n >= SIM_SIG_HEADER_MAX)
		n = SIM_SIG_HEADER_MAX - 1;
	memcpy(out, h, n);
	out[n] = '\0';
	free(h);
}

size_t sim_base64(const void *data, size_t len, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *p = data;
	char *o = out;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? tab[v & 63] : '=';
	}
	*o = '\0';
	return (size_t)(o - out);
}
