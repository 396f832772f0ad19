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

/* Conversation statuses, as on the wire (note the hyphen of in-progress). */
enum sim_conv_status {
	SIM_CONV_INITIATED,
	SIM_CONV_IN_PROGRESS,
	SIM_CONV_PROCESSING,
	SIM_CONV_DONE,
	SIM_CONV_FAILED,
};

/* metadata.phone_call.call_result, as on the wire. */
enum sim_call_result {
	SIM_CALL_ANSWERED,
	SIM_CALL_VOICEMAIL,
	SIM_CALL_BUSY,
	SIM_CALL_NO_ANSWER,
	SIM_CALL_FAILED,
};

/* Tunables of a model; sim_params_default() gives the documented values. */
struct sim_params {
	int64_t dial_us;     /* dispatched -> initiated */
	int64_t ring_us;     /* initiated -> in_progress (or failed: no answer) */
	int64_t talk_us;     /* in_progress -> completed/voicemail (x3 for digit 9) */
	int64_t processing_us; /* a conversation's processing -> done (analysis) */
	double speed;        /* what the durations were divided by (for nominal seconds) */
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

/* A conversation: one attempt of one recipient that reached "initiated".
 * Held by value; it names its batch by creation key, so it stays valid
 * (or is simply not found) whatever happens to the batch. */
struct sim_conv_ref {
	uint64_t batch_key;
	uint32_t idx;
	uint8_t attempt;
};

/* A conversation at the model's current time. */
struct sim_conv_view {
	char conversation_id[40];
	enum sim_conv_status status;
	bool answered;         /* reached in-progress (a person or a voicemail) */
	bool ended;            /* the call is over (processing, done or failed) */
	bool cancelled;        /* hung up by a cancel or a delete of its batch */
	bool long_talk;        /* digit 9 */
	enum sim_call_result call_result; /* valid when ended */
	int attempt;           /* 0 = the first call of the recipient */
	int64_t start_us;      /* placed (initiated) */
	int64_t accepted_us;   /* answered, or -1 */
	int64_t end_us;        /* hung up, or -1 while the call goes on */
	int64_t done_us;       /* analysis finished, or -1 (failed, or not yet) */
	/* seconds of talk as at speed 1 (what the call lasts without --speed);
	 * the part so far while it goes on */
	int64_t duration_secs;
	double talk_elapsed_secs; /* the same, unrounded (transcript turns) */
	const char *batch_id, *agent_id, *agent_name, *branch_id, *environment, *timezone;
	const char *phone_number_id, *phone_provider, *whatsapp_params_json;
	const char *recipient_id, *phone_number, *whatsapp_user_id, *ccd_json;
	char rcp_id_buf[40];   /* holds a generated recipient id (do not copy views) */
};

/* What the model tells the webhook sender: a conversation reached the state
 * a post-call event reports, at due_us (simulated time). */
enum sim_conv_event_kind {
	SIM_EV_TRANSCRIPT, /* done: post_call_transcription */
	SIM_EV_FAILURE,    /* not answered: call_initiation_failure */
};

struct sim_conv_event {
	struct sim_conv_ref conv;
	enum sim_conv_event_kind kind;
	int64_t due_us;
};

/* The documented defaults: dial 1 s, ring 2 s, talk 5 s, processing 3 s,
 * divided by speed. */
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
const char *sim_conv_status_str(enum sim_conv_status s);
const char *sim_call_result_str(enum sim_call_result r);
/* How an unanswered attempt failed (digit 6: no answer, 8: busy). */
enum sim_call_result sim_failure_kind(const char *number, int attempt);

/* Find a conversation by its id; false when unknown or not placed yet. */
bool sim_model_find_conv(const struct sim_model *m, const char *id, struct sim_conv_ref *ret);
/* Whether ref names a conversation that exists now. */
bool sim_model_conv_exists(const struct sim_model *m, const struct sim_conv_ref *ref);
/* The conversation ref names, which must exist (sim_model_conv_exists). */
void sim_conv_view(const struct sim_model *m, const struct sim_conv_ref *ref, struct sim_conv_view *ret);
/* Every conversation that exists now, also of deleted batches (they stay in
 * the conversation history), in no particular order. *ret is malloc'd. */
size_t sim_model_convs(const struct sim_model *m, struct sim_conv_ref **ret);

/* Record post-call events from now on (the webhook sender wants them);
 * off by default, so a simulator without webhooks keeps nothing. */
void sim_model_set_events(struct sim_model *m, bool on);
/* Hand over the events recorded since the last call (*ret is malloc'd,
 * NULL when none), in the order they were found. */
size_t sim_model_take_events(struct sim_model *m, struct sim_conv_event **ret);
/* The next simulated instant at which a batch changes on its own (a start,
 * a call ending, an agent failure), or INT64_MAX. */
int64_t sim_model_next_change(const struct sim_model *m);
/* Whether the batch of key has ended (completed, failed, cancelled or
 * deleted; a retried batch runs again) and when. */
bool sim_model_batch_ended(const struct sim_model *m, uint64_t batch_key, int64_t *ret_end_us);

/* Write prefix + 28 lowercase Crockford base32 chars from (a, b, c) into
 * buf (room for strlen(prefix) + 29). */
void sim_make_id(char *buf, const char *prefix, uint64_t a, uint64_t b, uint64_t c);

#endif
