/*
 * sign: the ElevenLabs webhook signature header as the simulator sends it,
 * and base64 for the audio events. The SHA-256 and HMAC under it are the
 * daemon's own (src/core/sha256.c through webhook_sign in
 * src/core/webhook.c): one implementation signs in the simulator and
 * verifies in the receiver, and sim/core may use src/core
 * (ARCHITECTURE.md: sim/ links libcore, never the shell). Pure: the
 * timestamp is an argument.
 */
#ifndef BC_SIM_SIGN_H
#define BC_SIM_SIGN_H

#include <stddef.h>
#include <stdint.h>

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
