/*
 * batch: what the ElevenLabs API says about a batch call, as the daemon
 * keeps it (API doc §3): the batch and recipient statuses with their wire
 * names, a batch, its recipients, a page of the workspace list, and their
 * destructors. codec fills these from JSON; run and state keep them. No I/O.
 */
#ifndef BC_BATCH_H
#define BC_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum batch_status {
	BATCH_PENDING,
	BATCH_IN_PROGRESS,
	BATCH_COMPLETED,
	BATCH_FAILED,
	BATCH_CANCELLED,
	BATCH_UNKNOWN, /* a status string this build does not know */
	BATCH__MAX
};

enum batch_rcpt_status {
	BATCH_RCPT_PENDING,
	BATCH_RCPT_DISPATCHED,
	BATCH_RCPT_INITIATED,
	BATCH_RCPT_IN_PROGRESS,
	BATCH_RCPT_COMPLETED,
	BATCH_RCPT_FAILED,
	BATCH_RCPT_CANCELLED,
	BATCH_RCPT_VOICEMAIL,
	BATCH_RCPT_UNKNOWN,
	BATCH_RCPT__MAX
};

/* The former names of the recipient statuses, still spelled so by
 * src/core/run.c and run.h (changed elsewhere at the same time); remove
 * this block once they say BATCH_RCPT_*. */
#define RCPT_PENDING BATCH_RCPT_PENDING
#define RCPT_DISPATCHED BATCH_RCPT_DISPATCHED
#define RCPT_COMPLETED BATCH_RCPT_COMPLETED
#define RCPT_FAILED BATCH_RCPT_FAILED
#define RCPT_CANCELLED BATCH_RCPT_CANCELLED
#define RCPT_VOICEMAIL BATCH_RCPT_VOICEMAIL
#define RCPT__MAX BATCH_RCPT__MAX

/* Wire names ("in_progress"), and back (unknown strings -> *_UNKNOWN). */
const char *batch_status_name(enum batch_status s);
enum batch_status batch_status_from_name(const char *s);
const char *batch_rcpt_status_name(enum batch_rcpt_status s);
enum batch_rcpt_status batch_rcpt_status_from_name(const char *s);
/* Terminal batch statuses: completed, failed, cancelled. */
bool batch_status_terminal(enum batch_status s);

/* BatchCallResponse: the fields the daemon uses. */
struct batch {
	char *id;
	char *name;
	char *agent_id;
	char *timezone; /* as echoed: the job's zone at the submit (may be NULL) */
	enum batch_status status;
	int64_t created_at_unix;
	int64_t scheduled_time_unix;
	int64_t last_updated_at_unix;
	int64_t total_calls_dispatched;
	int64_t total_calls_scheduled;
	int64_t total_calls_finished;
	int64_t retry_count;
};

struct batch_rcpt {
	char *id;
	char *phone_number;     /* may be NULL */
	char *whatsapp_user_id; /* may be NULL */
	enum batch_rcpt_status status;
	char *conversation_id;  /* may be NULL */
};

/* BatchCallDetailedResponse. */
struct batch_detail {
	struct batch batch;
	struct batch_rcpt *rcpts;
	size_t n_rcpts;
	size_t counts[BATCH_RCPT__MAX]; /* recipients by status */
};

/* WorkspaceBatchCallsResponse. */
struct batch_page {
	struct batch *batches;
	size_t n_batches;
	char *next_doc; /* NULL on the last page */
	bool has_more;
};

/* Free what each holds and zero it (NULL is accepted). */
void batch_clear(struct batch *b);
void batch_rcpt_clear(struct batch_rcpt *r);
void batch_detail_clear(struct batch_detail *d);
void batch_page_clear(struct batch_page *p);

#endif
