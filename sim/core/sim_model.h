/*
 * model: the simulator's pure batch model. Batches, recipients, simulated
 * call progress and deterministic outcomes, as a function of (state, now).
 * No clock, no sockets, no JSON: the caller hands in "now" (microseconds)
 * and everything observable is derived from it, so the unit tests can walk
 * time forward with plain numbers.
 */
#ifndef BC_SIM_MODEL_H
#define BC_SIM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Batch statuses, as on the wire. */
enum sim_batch_status {
	SIM_BATCH_PENDING,
	SIM_BATCH_IN_PROGRESS,
	SIM_BATCH_COMPLETED,
	SIM_BATCH_FAILED,
	SIM_BATCH_CANCELLED,
};

/* Recipient statuses, as on the wire. */
enum sim_rcp_status {
	SIM_RCP_PENDING,
	SIM_RCP_DISPATCHED,
	SIM_RCP_INITIATED,
	SIM_RCP_IN_PROGRESS,
	SIM_RCP_COMPLETED,
	SIM_RCP_FAILED,
	SIM_RCP_CANCELLED,
	SIM_RCP_VOICEMAIL,
};

/* Tunables of a model; sim_params_default() gives the documented values. */
struct sim_params {
	int64_t dial_us;     /* dispatched -> initiated */
	int64_t ring_us;     /* initiated -> in_progress (or failed: no answer) */
	int64_t talk_us;     /* in_progress -> completed/voicemail (x3 for digit 9) */
	int default_cap;     /* simultaneous calls when target_concurrency_limit is null */
	int64_t fail_after_us; /* a "fail" agent's batch fails this long after it starts */
	uint64_t seed;       /* only shapes ids, never outcomes */
};

/* One recipient of a submission (strings may be NULL). ccd is the compact
 * JSON text of conversation_initiation_client_data, or NULL. */
struct sim_recipient_in {
	const char *id;
	const char *phone_number;
	const char *whatsapp_user_id;
	const char *ccd_json;
};

/* A validated submission; strings may be NULL where the API allows null.
 * The *_json members are compact JSON texts echoed verbatim. */
struct sim_submit {
	const char *call_name;
	const char *agent_id;
	const char *agent_phone_number_id;
	const char *whatsapp_params_json;
	const char *timezone;
	const char *branch_id;
	const char *environment;
	bool has_scheduled_time;
	int64_t scheduled_time_unix;
	int ringing_timeout_secs;
	bool twilio_call_recording_enabled;
	const char *twilio_machine_detection_json;
	bool has_target_concurrency_limit;
	int64_t target_concurrency_limit;
	const struct sim_recipient_in *recipients;
	size_t n_recipients;
};

struct sim_model;
struct sim_batch;

/* What a recipient looks like at the model's current time. */
struct sim_rcp_view {
	const char *id;                  /* caller's id or btcrcp_… (owned by model) */
	const char *phone_number;        /* NULL when absent */
	const char *whatsapp_user_id;    /* NULL when absent */
	const char *ccd_json;            /* NULL when absent */
	enum sim_rcp_status status;
	int64_t created_us;
	int64_t updated_us;
	bool has_conversation;
	char conversation_id[40];        /* conv_…, valid when has_conversation */
	char id_buf[40];                 /* holds a generated id (do not copy views) */
};

/* What a batch looks like at the model's current time. */
struct sim_batch_view {
	const char *id;
	const char *name;
	const char *agent_id;
	const char *agent_name;
	const char *phone_number_id;     /* NULL when absent */
	const char *phone_provider;      /* NULL when absent */
	const char *whatsapp_params_json;
	const char *branch_id;
	const char *branch_name;
	const char *environment;
	const char *timezone;
	const char *twilio_machine_detection_json;
	int64_t created_us;
	int64_t scheduled_time_unix;
	int64_t last_updated_us;
	size_t total_scheduled, total_dispatched, total_finished;
	enum sim_batch_status status;
	int retry_count;
	int ringing_timeout_secs;
	bool twilio_call_recording_enabled;
	bool has_target_concurrency_limit;
	int64_t target_concurrency_limit;
	size_t n_recipients;
};

/* The documented defaults: dial 1 s, ring 2 s, talk 5 s divided by speed. */
void sim_params_default(struct sim_params *p, double speed, uint64_t seed);

struct sim_model *sim_model_new(const struct sim_params *p);
void sim_model_free(struct sim_model *m);
/* Forget every batch (ids keep increasing so old ids never come back). */
void sim_model_reset(struct sim_model *m);

/* Move the model to now (never backwards: an older now is ignored). */
void sim_model_advance(struct sim_model *m, int64_t now_us);
/* The model's current time. */
int64_t sim_model_now(const struct sim_model *m);

/* Create a batch from a validated submission at the model's time. */
struct sim_batch *sim_model_submit(struct sim_model *m, const struct sim_submit *s);
/* Find a batch by id, NULL when unknown or deleted. */
struct sim_batch *sim_model_find(struct sim_model *m, const char *id);
/* Cancel: 0, or -EBUSY when the batch is already terminal. */
int sim_model_cancel(struct sim_model *m, struct sim_batch *b);
/* Retry: 0, -EBUSY when the batch is not completed/failed, -ENOENT when no
 * recipient failed or reached voicemail. */
int sim_model_retry(struct sim_model *m, struct sim_batch *b);
/* Remove a batch for good (any state). */
void sim_model_delete(struct sim_model *m, struct sim_batch *b);

/* A page of batches, newest first, optionally of one agent, starting after
 * the batch whose id is last_doc (NULL: from the newest). Fills ret (room
 * for limit entries) and returns how many; *ret_has_more tells whether
 * further matching batches exist. */
size_t sim_model_list(struct sim_model *m, const char *agent_id, const char *last_doc,
		      size_t limit, struct sim_batch **ret, bool *ret_has_more);

void sim_batch_view(const struct sim_model *m, const struct sim_batch *b, struct sim_batch_view *ret);
void sim_recipient_view(const struct sim_model *m, const struct sim_batch *b, size_t i,
			struct sim_rcp_view *ret);

const char *sim_batch_status_str(enum sim_batch_status s);
const char *sim_rcp_status_str(enum sim_rcp_status s);
/* Terminal outcome of an attempt for a number, by its last digit (the
 * documented rule): attempt 0 is the first call. */
enum sim_rcp_status sim_outcome(const char *number, int attempt, bool *ret_long_talk);

#endif
