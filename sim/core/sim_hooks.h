/*
 * hooks: the post-call webhook sender, without the socket. It turns the
 * model's post-call events into signed deliveries (post_call_transcription,
 * post_call_audio, call_initiation_failure), one at a time in a fixed
 * order, retries the transcriptions on the documented schedule, plays the
 * webhook faults, and keeps the log of every attempt. The server performs
 * each delivery it hands out and reports the answer back; time is an
 * argument (simulated microseconds) like everywhere in sim/core.
 */
#ifndef BC_SIM_HOOKS_H
#define BC_SIM_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_model.h"
#include "sim_render.h"
#include "sim_sign.h"

/* Subscriptions (ConvAiWebhooks.events). */
#define SIM_HOOK_TRANSCRIPT 1u
#define SIM_HOOK_AUDIO 2u
#define SIM_HOOK_FAILURE 4u
#define SIM_HOOK_DEFAULT_EVENTS (SIM_HOOK_TRANSCRIPT | SIM_HOOK_FAILURE)

/* The documented retry schedule: 5 attempts, at 0, +30 s, +2 min, +8 min,
 * +30 min (divided by --speed), each delay with up to 10 % jitter. */
#define SIM_HOOK_MAX_ATTEMPTS 5

/* A signature t this much in the past is stale (the SDK's tolerance is
 * 30 minutes). */
#define SIM_HOOK_STALE_SECS 1860

/* One delivery to perform: POST body to url with the header
 * ElevenLabs-Signature: signature. */
struct sim_delivery {
	uint64_t id;                         /* for sim_hooks_done */
	char *url;
	char *body;
	size_t body_len;
	char signature[SIM_SIG_HEADER_MAX];
	const char *event;                   /* the envelope's type */
	char conversation_id[40];
	int attempt;                         /* 1 = first */
};

void sim_delivery_clear(struct sim_delivery *d);

struct sim_hooks;

/* seed: for fault probabilities and retry jitter; speed divides the retry
 * delays. The model is the one events come from (not owned). */
struct sim_hooks *sim_hooks_new(struct sim_model *m, uint64_t seed, double speed);
void sim_hooks_free(struct sim_hooks *h);

/* Parse a comma-separated subscription list (transcript, audio,
 * call_initiation_failure): the mask, or 0 when a name is unknown. */
unsigned sim_hooks_parse_events(const char *list);
/* Check a webhook URL: NULL when fine (http://HOST[:PORT][/PATH]), else
 * why not (a static string). */
const char *sim_hooks_check_url(const char *url);
/* Set the target (url NULL: webhooks off), the secret and the
 * subscriptions; 0, or -EINVAL (url without a secret, a bad url). */
int sim_hooks_configure(struct sim_hooks *h, const char *url, const char *secret, unsigned events, bool retry);

/* The next delivery to perform at simulated time now (the model already
 * advanced to now), when one is due and none is in flight: true and *ret.
 * *ret_wake: the simulated time at which to ask again (INT64_MAX: only
 * after an answer, or when something changes). now_real_us goes into the
 * log. */
bool sim_hooks_next(struct sim_hooks *h, int64_t now, int64_t now_real_us, struct sim_delivery *ret,
		    int64_t *ret_wake);
/* The answer to delivery id: an HTTP status, or 0 with error when there
 * was none (connection refused, timeout). */
void sim_hooks_done(struct sim_hooks *h, uint64_t id, int status, const char *error, int64_t now,
		    int64_t now_real_us);

/* Forget queued events, faults and the log (not the configuration). */
void sim_hooks_reset(struct sim_hooks *h);

/* /_sim/webhooks and /_sim/webhook-faults: what is "webhooks" or
 * "webhook-faults"; the answer's status and JSON body. */
int sim_hooks_control(struct sim_hooks *h, const char *what, const char *method, const char *query,
		      const char *body, size_t body_len, struct sbuf *out);

#endif
