/*
 * run: the life of one run of a job as a pure state machine. The shell feeds
 * it events (time reached, API answers, operator requests) with the current
 * time; it changes the run and returns actions (persist, submit, look up,
 * fetch, retry, cancel, log, forget) for the shell to carry out in order.
 * It never reads the clock, touches the network or writes a file.
 *
 * Exactly once: a submit is always preceded by a persisted intent (state
 * "submitting" with intent_ms). A submit whose outcome is unknown leaves the
 * run uncertain; an uncertain run is only ever looked up by its unique
 * call_name, and submitted again only when the lookup finds nothing after a
 * grace period long enough for any request still in flight to have landed.
 */
#ifndef BC_RUN_H
#define BC_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"
#include "jobspec.h"
#include "suppress.h"

enum run_state {
	RUN_SCHEDULED,
	RUN_SUBMITTING,
	RUN_PENDING,
	RUN_IN_PROGRESS,
	RUN_RETRY_WAIT,
	RUN_COMPLETED,
	RUN_FAILED,
	RUN_CANCELLED,
	RUN_MISSED,
	RUN_ERROR,
	RUN_DISABLED,
	RUN_REMOVED,
	RUN_PAUSED, /* a follow-up held by `batchcallctl pause` until resumed */
	RUN__MAX
};

/* What a log entry is about: the JOB_EVENT values of the SPEC, and a few
 * more kinds that carry no JOB_EVENT. */
enum job_event {
	JE_SCHEDULED,
	JE_SUBMITTED,
	JE_ADOPTED,
	JE_STATUS,
	JE_RETRIED,
	JE_CANCELLED,
	JE_FINISHED,
	JE_MISSED,
	JE_ERROR,
	JE_LATE,
	JE_CHANGED,   /* job changed after its run was submitted */
	JE_REMOVED,   /* job removed; its run is dropped or let go */
	JE_TRANSIENT, /* an API request failed and will be tried again */
	JE_DUPLICATE, /* the lookup found more than one batch of this run */
	JE_PAUSED,    /* paused or resumed by the operator */
	JE_SUPPRESSED, /* do-not-call lists left recipients out (action.count) */
	JE_CONTACT_LIMIT, /* the contact limits left recipients out (action.count) */
	JE__MAX
};

/* How much a log entry matters: the severities of RFC 5424, the numbers
 * journald's PRIORITY= and syslog's LOG_* use, so the shell passes them on
 * as they are (engine_int.h holds them equal to <syslog.h>'s). */
enum severity {
	SEV_ERR = 3,
	SEV_WARNING = 4,
	SEV_NOTICE = 5,
	SEV_INFO = 6,
	SEV_DEBUG = 7
};

/* Which request a run has in flight (not persisted: a restart forgets it and
 * the persisted state says what to do). */
enum run_op { OP_NONE, OP_SUBMIT, OP_LOOKUP, OP_DETAIL, OP_RETRY, OP_CANCEL };

/* The recorded state of a run; everything but `op` is persisted. */
/* Why a run's unfinished recipients get a follow-up run. */
enum follow_up {
	FOLLOW_NONE,
	FOLLOW_RESUME,
	FOLLOW_PAUSE,
	FOLLOW_DEFER, /* over the contact limits (over_limit = "defer"): a
		       * "deferred N" run at the first instant they allow */
};

struct run {
	char *job;
	int64_t start;   /* the run's instant, unix seconds */
	char *part;      /* NULL: the whole run; else a recipient zone ("America/Chicago")
			  * and/or a follow-up ("resume 1"): part of the run's identity */
	char *zone;      /* the zone whose calling hours apply; NULL: the job's */
	char **rcpts;    /* the recipients (phone number or WhatsApp id) of this
			  * run; NULL: every recipient of the job */
	size_t n_rcpts;
	char *call_name; /* unique per run */
	char *agent_id;
	enum run_state state;
	enum on_removal on_removal;
	char *batch_id;          /* once known */
	uint64_t digest;         /* the job's digest when submitted */
	int submit_attempts;     /* submit requests sent */
	bool lookup_only;        /* the record was lost and cannot be rebuilt (a
				  * follow-up's recipients): its batch may be
				  * adopted, but it is never submitted */
	bool rebuilt;            /* made from a damaged record's name (not
				  * written): a follow-up's recipients and
				  * retries are its parent's (reconcile_lost) */
	bool uncertain;          /* the last submit's outcome is unknown */
	int64_t intent_ms;       /* when the last submit/retry intent was recorded */
	int64_t first_intent_ms; /* when the first submit intent was recorded; 0:
				  * unknown (a record rebuilt after damage): a
				  * batch of this run was created after it */
	int64_t sent_count;      /* recipients in the last submit body; 0: unknown */
	uint64_t sent_digest;    /* digest of those recipients' keys, in order */
	int64_t settle_ms;       /* a lookup that finds nothing is conclusive from
				  * then on; 0: intent_ms + grace (after a crash) */
	int retries;             /* retries that took effect */
	int contact_base;        /* the retries the run began with: its attempts
				  * up to this one are contact_tag's */
	int64_t retry_expect;    /* retry_count expected after a retry intent; 0: none */
	int64_t due_ms;          /* when the next step is due; 0: nothing timed */
	uint64_t gen;            /* raised at each write: the newest record wins */
	int64_t submit_at_ms;    /* when to submit, if not start - submit_ahead
				  * (calling hours defer it); 0: not set */
	int64_t close_ms;        /* calling hours close: an active batch is
				  * cancelled then; 0: no window */
	enum follow_up follow;   /* after the cancel: hand the unfinished on */
	int follow_n;            /* follow-ups made of this run */
	int touch;               /* the touch of its occurrence (follow_up):
				  * 0 the occurrence's own run, N follow-up N;
				  * a resume keeps its parent's */
	int failures;            /* consecutive transient failures */
	char **unfinished;       /* recipients to hand on (ACT_FOLLOW_UP) */
	size_t n_unfinished;
	char **suppressed;       /* recipients (keys) the last submit body left
				  * out: on a do-not-call list at that moment */
	size_t n_suppressed;
	uint64_t contact_tag;    /* the attempt whose contacts this run's submit
				  * continues (a follow-up's: its parent's last
				  * attempt, those recipients' call handed on);
				  * 0: the run's own submit */
	char **over_limit;       /* recipients (keys) the last submit body left
				  * out: over the contact limits at that moment */
	size_t n_over_limit;
	char **retry_keys;       /* the recipients a retry of the finished batch
				  * would re-dial (failed, voicemail), from its
				  * detail; NULL: not known (a record of an
				  * earlier version) */
	size_t n_retry_keys;
	bool cancel_wanted;      /* cancel the batch once it is known */
	bool stopped;            /* `batchcallctl cancel` asked for it: no later
				  * touch of its campaign follows it */
	bool removing;           /* the job left the files: settle the run by
				  * on_removal; its record is kept as history */
	bool removal_cancel;     /* cancel_wanted was set by the removal (undone
				  * when the job comes back before it is sent) */
	bool late_logged;
	bool defer_over;         /* over_limit = "defer": once the submit is
				  * settled (a batch, or nothing sent), they go
				  * to a deferred follow-up (ACT_FOLLOW_UP) */
	bool counts_valid;       /* counts (below) holds the batch's */
	struct batch batch;      /* last snapshot (id/name/agent unused) */
	int64_t counts[RCPT__MAX];
	char *error;             /* the API's message of a permanent refusal */
	int64_t submitted_at;    /* unix seconds */
	int64_t finished_at;
	int64_t finished_ms;     /* the same instant in ms (0 in records written
				  * before it was kept): the results files of a
				  * run that ended are older than this when a
				  * crash came between the two writes */
	enum run_op op;
};

/* The frequency caps as of now (run_ctx.contacts): the ledger of every
 * contact recorded, the limits, the moment. */
struct ledger;
struct contact_limits;
struct contact_rules {
	const struct ledger *ledger;
	const struct contact_limits *limits;
	int64_t now_s;
};

/* What the shell must know to advance a run. */
struct run_ctx {
	const struct jobspec *spec; /* NULL when the job was removed */
	int64_t now_ms;             /* wall clock, unix milliseconds */
	uint64_t rnd;               /* a fresh random value for jitter */
	int64_t grace_ms;           /* how long a lost request may still land */
	int64_t backoff_base_ms;    /* transient failures: full jitter base */
	int64_t backoff_cap_ms;
	const char *skip;           /* when set, a run about to be submitted is
				     * not: it is marked missed for this reason */
	/* Calling hours as of now_ms (0: the job has none): when they open
	 * (now_ms itself when open), when that window closes, and whether a
	 * run outside them is skipped rather than deferred. */
	int64_t window_open_ms;
	int64_t window_close_ms;
	bool window_skip;
	/* The do-not-call lists as of now_ms (NULL: none): a retry whose
	 * recipients they name is not sent (see RE_SUPPRESSED for the
	 * submit's side). */
	const struct suppress_rules *rules;
	/* The contact limits (NULL: none): a retry that would call a
	 * recipient over them is not sent, as for the lists. */
	const struct contact_rules *contacts;
};

enum action_kind {
	ACT_PERSIST,      /* write the run durably; the actions after it depend on it */
	ACT_SUBMIT,       /* POST submit; scheduled_time_unix when > 0 */
	ACT_LOOKUP,       /* find the run's batch by call_name in the list */
	ACT_FETCH_DETAIL, /* GET the batch with recipients */
	ACT_RETRY,        /* POST retry */
	ACT_CANCEL,       /* POST cancel */
	ACT_LOG,          /* log an event */
	ACT_DROP,         /* delete the run and its record: it was never submitted
			   * and can be made again from the configuration */
	ACT_FOLLOW_UP     /* make a run of run.unfinished (resume or pause) */
};

struct action {
	enum action_kind kind;
	int64_t scheduled_time_unix; /* ACT_SUBMIT */
	enum job_event event;        /* ACT_LOG */
	enum severity priority;      /* ACT_LOG */
	long http_status;            /* ACT_LOG: 0 when none */
	int attempt;                 /* ACT_LOG: 0 when none */
	int64_t count;               /* ACT_LOG of JE_SUPPRESSED/JE_CONTACT_LIMIT: how many recipients */
	char msg[320];               /* ACT_LOG */
};

#define ACTIONS_MAX 8
struct actions {
	struct action v[ACTIONS_MAX];
	size_t n;
};

/* Is a request to the API (submit, lookup, detail, retry, cancel) among
 * acts->v[from...]? (acts may be NULL: none.) */
bool run_actions_request(const struct actions *acts, size_t from);

/* How an API request ended, as the machine needs to know it (the shell maps
 * its api layer's outcome onto this). */
enum req_outcome {
	REQ_OK,
	REQ_TRANSIENT, /* try again later */
	REQ_AUTH,      /* the key is refused: pause, do not fail the run */
	REQ_REJECTED,  /* a permanent refusal, with the API's message */
	REQ_NOT_FOUND  /* the batch does not exist (get/cancel/retry) */
};

enum run_event_kind {
	RE_TIME,          /* the run's due time came (or a fresh look is wanted) */
	RE_SUBMIT_DONE,   /* answer to ACT_SUBMIT */
	RE_LOOKUP_DONE,   /* answer to ACT_LOOKUP: batch, or NULL when not found */
	RE_STATUS,        /* the batch as seen by a poll */
	RE_DETAIL_DONE,   /* answer to ACT_FETCH_DETAIL */
	RE_RETRY_DONE,    /* answer to ACT_RETRY */
	RE_CANCEL_DONE,   /* answer to ACT_CANCEL */
	RE_STORE_FAILED,  /* ACT_PERSIST failed: nothing after it was done */
	RE_CANCEL_REQ,    /* operator: cancel */
	RE_RETRY_REQ,     /* operator: retry now */
	RE_TRIGGER_REQ,   /* operator: submit now */
	RE_REMOVED,       /* the job is no longer in the files */
	RE_PAUSE_REQ,     /* operator: stop dialling, keep the unfinished for later */
	RE_RESUME_REQ,    /* operator: submit a paused run's recipients */
	RE_READDED,       /* the job is back in the files */
	RE_SUPPRESSED     /* instead of ACT_SUBMIT: every recipient of the body
			   * is on a do-not-call list, nothing was sent */
};

struct run_event {
	enum run_event_kind kind;
	enum req_outcome outcome;
	long http_status;
	const char *message;     /* API error text, may be NULL */
	int64_t retry_after_s;   /* -1: none */
	bool maybe_applied;      /* a failed request may have taken effect */
	bool origin_answered;    /* the API itself answered the failure: a lookup now sees its effect */
	bool sent;               /* RE_STORE_FAILED: the request of the run's op
				  * went out before the write that failed (which
				  * was not its intent): its answer still comes */
	const struct batch *batch;         /* RE_SUBMIT/LOOKUP/STATUS/RETRY/CANCEL_DONE */
	const struct batch_detail *detail; /* RE_DETAIL_DONE */
	int n_found;             /* RE_LOOKUP_DONE: batches with this call_name */
};

const char *run_state_name(enum run_state s);
/* -1 for an unknown name. */
int run_state_from_name(const char *s);
/* Finished for good: nothing more will happen to the run. */
bool run_state_final(enum run_state s);
/* A batch exists that is (or may again be) dialling. */
bool run_state_active(enum run_state s);
/* A batch of this run exists or may exist: it was submitted, or a submit's
 * outcome is unknown. Such a run is never made again, moved or dropped. */
bool run_submitted(const struct run *r);
/* A follow-up run (resume or pause of a stopped batch): its recipients
 * exist only in its record, never in the configuration. */
bool run_is_follow_up(const struct run *r);
/* Nothing is under way or waiting on the API: the run may be left as a
 * record (its job left the files) without losing anything. */
bool run_at_rest(const struct run *r);
/* The last instant the run was at work (unix seconds): its retention in
 * the state counts from then. */
int64_t run_end_s(const struct run *r);
/* The shell is about to send a submit for r: record what it sends (how
 * many recipients and their digest) in the intent. */
void run_note_submission(struct run *r, int64_t count, uint64_t digest);
/* ... and which recipients (keys, taken with the array; n of them) the
 * do-not-call lists left out of that body. */
void run_note_suppressed(struct run *r, char **keys, size_t n);
/* r is about to be written: its record gets the next generation, so that
 * it wins over every earlier record of the run wherever the store keeps
 * them (a journal line, a run file). */
void run_note_write(struct run *r);
/* Would a batch b seen in the list be this run's? Everything the list shows
 * of the intent must agree: name (unique per run), agent, recipient count
 * (when known). Not its creation time: a batch with this run's name made
 * before the run's first intent is this run's too, by an earlier life of
 * the daemon or by the API's clock running behind ours (adopting it rings
 * nobody; a second submit would ring everyone twice). */
bool run_batch_matches(const struct run *r, const struct batch *b);
/* The same but for the name: agent and recipient count. */
bool run_batch_agrees(const struct run *r, const struct batch *b);
/* The call_name r would carry had its local start been written in zone z
 * rather than in spec's: its base, the local start in z, its part. A lookup
 * also accepts a batch of that name whose echoed timezone is z: the run's
 * own occurrence, submitted while the job's zone was z (its record lost
 * since, r's call_name is made from today's zone). NULL when r's call_name
 * is not spec's base and local start (another base), or when r's start
 * falls in the hour z repeats at a fall-back (that name is two instants'). */
char *run_call_name_in_zone(const struct run *r, const struct jobspec *spec, const struct tz *z);
/* The local start of instant t in spec's zone as a call_name writes it
 * ("2026-12-01 09:00", or with ":SS" when the seconds are not zero). */
void run_local_start(const struct jobspec *spec, int64_t t, char *buf, size_t size);
/* How many seconds before the run's first intent the API dated b's
 * creation (0: not before, or the intent is not known). */
int64_t run_batch_early_s(const struct run *r, const struct batch *b);

/* A new run of spec with its instant; state scheduled (or disabled). */
struct run *run_new(const struct jobspec *spec);
/* A new run of spec at another instant (an occurrence of a recurring job). */
struct run *run_new_at(const struct jobspec *spec, int64_t instant);
void run_free(struct run *r);

/* Advance r by ev; append the actions to do, in order, to out. Refusals of
 * operator requests return -EBUSY/-ENOENT/-EALREADY with *ret_why (static
 * text); then r is unchanged. */
int run_step(struct run *r, const struct run_ctx *ctx, const struct run_event *ev,
	     struct actions *out, const char **ret_why);

/* The job's definition was (re)loaded: bring a run that was never submitted
 * in line with it at its own instant (call_name, agent, enabled; a missed or
 * refused run comes back only when the job changed), or warn that a
 * submitted run's job changed (its batch is not altered). A run is never
 * moved to another instant: the shell drops it and plans a new one. */
void run_update_spec(struct run *r, const struct run_ctx *ctx, struct actions *out);

/* The job was (re)loaded and r keeps its instant and recipients (a
 * follow-up, or a zone group of an occurrence already under way): only
 * `enabled` reaches it (scheduled <-> disabled). */
void run_follow_enabled(struct run *r, const struct run_ctx *ctx, struct actions *out);

/* A part of occurrence `start` for the recipients rcpts (taken; n of
 * them) in zone (its calling hours apply; NULL: the job's), named part. */
struct run *run_new_part(const struct jobspec *spec, int64_t start, const char *part, const char *zone, char **rcpts,
			 size_t n);
/* The follow-up of parent, a run stopped by the calling hours or the
 * operator: its never-dialled recipients (taken from parent.unfinished),
 * the same zone and retry budget, named part; paused (pause) or due at
 * now_ms, when the calling hours defer it to their next opening (resume). */
struct run *run_new_follow_up(struct run *parent, const struct jobspec *spec, const char *part, int64_t now_ms);
/* (a deferred one, FOLLOW_DEFER: its own attempt, due at the instant the
 * shell set with run_defer_at, not a carried-on call) */
#define RUN_TOUCH_MAX 20
/* Touch `touch` (1..) of occurrence start for the recipients rcpts (taken;
 * n of them) in zone (NULL: the job's), named part ("[ZONE, ]follow-up
 * N"), its call_name "... (ZONE, SUFFIX)" with the touch's suffix; due at
 * due_ms (its calling hours may defer it further when it is looked at). */
struct run *run_new_touch(const struct jobspec *spec, int64_t start, int touch, const char *zone, char **rcpts,
			  size_t n, int64_t due_ms);
/* The touch a part names ("[ZONE, ]follow-up N"), else 0. */
int run_part_touch(const char *part);

/* r handed its unfinished recipients on (follow set, unfinished not
 * empty) and its follow-up exists: a record of r written between the
 * two (a crash before the follow-up's record) is brought in line. */
void run_follow_made(struct run *r);

/* r, a follow-up rebuilt from a damaged record, was made from parent
 * (occur_lost_parent): it carries on parent's retries and, for a resume,
 * its last call as r's first contact; hands_on: r is the run parent's record
 * hands its unfinished on to, and they are r's recipients. */
void run_rebuilt_from(struct run *r, const struct run *parent, bool hands_on);

/* A run whose record was lost or damaged, rebuilt from its identity:
 * uncertain, looked up through the whole list, concluded only from
 * settle_ms on; lookup_only when what it would send is unknown (and
 * rebuilt: reconcile_lost may learn it from its parent). rcpts
 * (taken) for a part. */
struct run *run_new_lost(const struct jobspec *spec, int64_t start, const char *part, const char *zone, char **rcpts,
			 size_t n, bool lookup_only, int64_t settle_ms);
/* A scheduled run that may have been submitted without a record (an
 * earlier life's record lost): looked up first, concluded from settle_ms
 * on; intent_ms when the intent is known (0: the whole list). */
void run_suspect(struct run *r, int64_t intent_ms, int64_t settle_ms);
/* The calling hours put the submit at submit_at_ms (0: the run's own time)
 * and close the window at close_ms (0: none). */
void run_set_window(struct run *r, int64_t submit_at_ms, int64_t close_ms);
/* The shell found r due again right after a step: wait until due_ms. */
void run_postpone(struct run *r, int64_t due_ms);

/* Make the run one part of its occurrence (a zone group or a follow-up):
 * part joins its identity and its call_name ("Renewals 2026-12-01 09:00
 * (resume 1)"). */
void run_set_part(struct run *r, const struct jobspec *spec, const char *part);

/* The calling hours as of ctx->now_ms for r (job ctx->spec), in zone (the
 * run's zone group's, else the job's): ctx->window_* for a run that may be
 * submitted in this step (not active, not waiting to retry: a scheduled
 * run, one whose lookup may find nothing, one an operator triggers or
 * resumes). The opening is never before now; left 0 when the job has no
 * calling hours or they never open again. */
void run_ctx_window(struct run_ctx *ctx, const struct run *r, const struct tz *zone);

/* Which of the recipients v (the job's list as it is now: a recurring job's
 * CSV is read again per run) go into r's batch: include[i] for v[i], all
 * when r has no recipient list of its own, else those whose key is in
 * r->rcpts (a zone group, a follow-up). Returns how many; *ret_digest
 * (when not NULL) is the FNV-1a of their keys, NUL-terminated, in order:
 * the intent records both. */
size_t run_part_select(const struct run *r, const struct recipient *v, size_t n, bool *include,
		       uint64_t *ret_digest);

/* What r's submit body holds: run_part_select, less every recipient the
 * do-not-call lists (rules, NULL: none) name at this moment, whose keys
 * go to *ret_left_out (n of them; NULL when none, the caller frees).
 * Returns how many are left; their digest as run_part_select's. */
size_t run_body_select(const struct run *r, const struct suppress_rules *rules, const struct contact_rules *contacts,
		       const struct recipient *v, size_t n, bool *include, uint64_t *ret_digest, char ***ret_left_out,
		       size_t *ret_n_left_out, char ***ret_over, size_t *ret_n_over);
/* ... less, then, every recipient over the contact limits (contacts,
 * NULL: none) counting every contact but those of this very attempt,
 * whose keys go to *ret_over (n of them, NULL when none). */

/* The tag of r's contacts for attempt: its submit is attempt r->retries
 * as it then stands (0, or for a follow-up the retries it inherited:
 * then its parent's attempt, contact_tag), a retry is r->retries + 1 when
 * it is made (the retries that took effect, plus this one): the ledger's
 * key of one attempt, the same in every life of the daemon. */
uint64_t run_contact_tag(const struct run *r, int attempt);
/* Would a call to key by r as attempt go over the contact limits? */
bool run_over_limit(const struct run *r, const struct contact_rules *c, const char *key, int attempt);
/* ... and which recipients (keys, taken) the contact limits left out. */
void run_note_over_limit(struct run *r, char **keys, size_t n, bool defer);
/* With defer, they are handed on to a follow-up run ("deferred N") once
 * the submit is settled. */
/* The first instant (unix seconds) the contact limits allow one of the
 * recipients keys (n of them) of r again: the earliest among those over
 * them now; c->now_s when none is. A deferred run waits for it; those
 * still over then are deferred again. */
int64_t run_limits_allow_at(const struct run *r, const struct contact_rules *c, char *const *keys, size_t n);

/* Why r must not be submitted at all (written into buf), or NULL: it is a
 * part of its occurrence whose recipients are unknown, or its call_name is
 * held by a submitted run of another job that left the files and whose
 * record is kept (holder_job, with its batch holder_batch; NULL: no run
 * holds r's call_name). */
const char *run_submit_refusal(const struct run *r, const char *holder_job, const char *holder_batch, char *buf,
			       size_t size);

/* The key of a recipient in run.rcpts: its phone number, else its WhatsApp id. */
const char *recipient_key(const char *phone_number, const char *whatsapp_user_id);

/* When the run should be submitted (submit_at_ms when set, else
 * start - submit_ahead), unix ms. */
int64_t run_submit_at_ms(const struct run *r, const struct jobspec *spec);

#endif
