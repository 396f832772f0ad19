/*
 * engine_int.h: the engine's parts and what they share. engine.h is the
 * engine's face to the rest of the daemon; only the engine's own files
 * include this one.
 *
 *   engine.c     engine_*     creating, starting, reloading and stopping the
 *                             engine, operator requests, the timer, settling
 *                             after each callback, the systemd STATUS= line
 *   slot.c       slot_*       the runs held (sorted slots), the heap of due
 *                             slots and the timerfd armed at its top
 *   carry.c      carry_*      stepping the run state machine and carrying out
 *                             its actions; group commit, journal compaction,
 *                             the submit body, follow-up runs
 *   scan.c       scan_*       the shared scan of the workspace list: polls of
 *                             active batches, lookups of uncertain submits
 *   reconcile.c  reconcile_*  loading the state folder, the runs against the
 *                             configuration, next runs, held call_names,
 *                             pruning
 *   report.c     report_*     the results files of each occurrence, the
 *                             conversation polls, the post-call events kept
 *   hook.c       hook_*       the post-call webhook receiver (webhook_listen)
 *
 * Every part works on the one struct engine below. A structure that only one
 * part looks inside (the list scan, the held call_names, the occurrences a
 * reload plans again) is private to that part.
 */
#ifndef BC_ENGINE_INT_H
#define BC_ENGINE_INT_H

#include <event2/util.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "jobspec.h"
#include "log.h"
#include "run.h"
#include "stats.h"
#include "suppress.h"
#include "suppress_store.h"
#include "ledger.h"
#include "ledger_store.h"

/* The core's severities go to the log as they are. */
_Static_assert(SEV_ERR == LOG_ERR && SEV_WARNING == LOG_WARNING && SEV_NOTICE == LOG_NOTICE &&
		       SEV_INFO == LOG_INFO && SEV_DEBUG == LOG_DEBUG,
	       "enum severity is syslog's priorities");

struct api;
struct api_result;
struct event;
struct event_base;
struct held_name;
struct http;
struct list_scan;
struct replan;
struct report;
struct store;
struct store_load_info;

/* Transient API failures are tried again after full jitter over
 * BACKOFF_BASE_MS * 2^n, capped (runs, and the conversation polls). */
#define BACKOFF_BASE_MS 1000
#define BACKOFF_CAP_MS (5 * 60 * 1000)

/* A first submit is stepped this long before its instant, as of its
 * instant: its intent is durable (with those of the whole burst due
 * then, in one write) before the instant comes, and its request waits in
 * the HTTP client's queue until the instant (http_hold_next). An edit or
 * removal of the job inside this window finds the run submitting. */
#define RUN_LEAD_MS 100

/* A run the engine holds, and what is under way for it. */
struct slot {
	struct engine *e;
	struct run *run;
	const struct jobspec *spec; /* NULL when the job was removed */
	size_t hidx;                /* index in the heap, SIZE_MAX when out */
	int busy;                   /* requests in flight that point at this slot */
	bool in_scan;               /* part of the running list scan */
	bool want_lookup;           /* waiting for the next list scan */
	bool forgotten;             /* freed once nothing points at it */
	bool in_group;              /* waits for the group commit */
	const char *skip;           /* for the next step: do not submit, and why */
	char *body;                 /* the submit body its intent records, until sent */
	char **body_keys;           /* its recipients' keys (checked again as it leaves */
	size_t n_body_keys;         /* the HTTP client's queue: submit_go_cb) */
	struct actions *rest;       /* actions after its deferred persist, or NULL:
	                             * allocated then, so that the many slots of
	                             * future runs stay small (a struct actions
	                             * is about 3 KiB) */
};

/* The engine: the configuration, the runs, the state folder, the API, the timers. */
struct engine {
	struct event_base *base;
	char *config_path;
	struct daemonconf *conf;
	char *api_key;
	struct store *store;
	struct http *http;
	struct api *api;
	struct slot **slots; /* sorted by job, instant and part (slot.c) */
	size_t n_slots, cap_slots;
	struct slot **heap;
	size_t n_heap, cap_heap;
	int tfd;
	struct event *tfd_ev;
	struct event *poll_ev;
	struct event *status_ev;
	struct event *stop_ev;
	struct event *flush_ev;     /* group commit at the end of a loop iteration */
	struct list_scan *scan;
	bool scan_wanted;           /* lookups wait for the next scan */
	bool poll_wanted;           /* a poll came due during a scan */
	bool stopping;
	bool hook_on;               /* a webhook receiver listens (hook.c): its presence, not
	                             * webhook_listen, which a reload may change */
	bool store_broken;
	int64_t paused_until_ms;
	int auth_failures;
	int64_t grace_ms;
	int group_depth;            /* > 0: persists are grouped */
	struct slot **group;        /* slots waiting for the group commit */
	size_t n_group, cap_group;
	struct event *compact_ev;
	struct event *prune_ev;     /* records past state_retention are removed */
	struct event *touch_ev;     /* a follow-up touch comes due (follow_up) */
	int64_t touch_at_ms;        /* when touch_ev fires; 0: not armed */
	bool journal_damaged;
	bool starting;              /* the first load: runs made now have no record yet */
	bool earlier_life;          /* the state held records: a daemon ran here before */
	struct held_name *held;     /* call_names of runs of jobs that left the files, sorted */
	size_t n_held;
	struct replan *replan;      /* occurrences dropped by this (re)load, planned again */
	size_t n_replan;
	int64_t started_ms;
	int64_t born_ms;            /* when the process began: see engine_start */
	bool reap_needed;           /* a slot was forgotten */
	int stop_ticks;             /* 100 ms ticks a stop has waited for answers */
	char **pending_jobs;        /* jobs whose next run or pruning is due */
	size_t n_pending_jobs, cap_pending_jobs;
	char last_status[256];
	struct stats stats;
	/* CLOCK_MONOTONIC microseconds of the timer firing that is being
	 * carried out, and of the sync of the group commit whose deferred
	 * actions are being carried out; 0 outside: the first stages of a
	 * first submit (stats_stage) */
	int64_t fired_us, durable_us;
	/* The slot timer_cb is stepping ahead of its instant, and that
	 * instant: carry_make_ctx steps it as of then. */
	const struct slot *early_slot;
	int64_t early_at_ms;
	int64_t compact_held_ms; /* since when compaction waits for queued submits (0: it does not) */
	struct report *report;      /* the results files' inputs (report.c) */
	struct suppress_set own;    /* the daemon's own do-not-call list (batchcallctl suppress) */
	struct suppress_store *own_store;
	struct suppress_rules rules; /* every list, as carry_make_ctx last set it */
	struct ledger ledger;       /* every contact the contact limits may count */
	struct ledger_store *ledger_store; /* open once contact_limits was set */
	struct contact_rules contacts; /* as carry_make_ctx last set it */
	bool ledger_broken;         /* contact_limits set, the ledger not open: said once */
	int64_t ledger_tried_ms;    /* when it was last tried */
	char *ledger_dir;           /* the state folder of the start (a reload cannot move it) */
	int64_t ledger_horizon;     /* the longest span kept since the start (a reload keeps more, never less) */
	bool fenced;                /* a cluster's leader: requests ask the fence (engine_set_fence) */
	const struct engine_shared *shared; /* cluster mode (engine.h); NULL: one node */
	int lock_fd;                /* the state folder's lock when the store is not the folder's */
};

/* Open the contact ledger when contact_limits is set and it is not open
 * yet, or compact it (start and reload); logs what it did. 0, or a
 * negative errno with *cause. */
int engine_ledger_open(struct engine *e, char **cause);
/* Write the ledger again without the contacts past the horizon (when it
 * grew to twice what it holds): logs what it did. */
void engine_ledger_compact(struct engine *e);

/* engine.c */

/* The wall clock (CLOCK_REALTIME) in milliseconds since the epoch. */
int64_t engine_now_ms(void);
/* CLOCK_MONOTONIC in microseconds, for how long a piece of work took. */
int64_t engine_mono_us(void);
void engine_want_next(struct engine *e, const char *job);
/* 64 random bits, for jitter (the machine's, backoffs). */
uint64_t engine_rnd64(void);
/* qsort/bsearch comparison of two elements of type char *. */
int engine_str_cmp(const void *a, const void *b);
/* The log event a job event of the machine is logged as. */
enum log_event engine_log_event_of(enum job_event je);
/* Log a sentence about run r, with its job, instant, batch and state as fields. */
void engine_log_run(int prio, enum log_event ev, const struct run *r, int attempt, long http_status,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Refresh the systemd STATUS= line within a second (at most once a second). */
void engine_status_touch(struct engine *e);
/* The end of every callback: next runs, pruning, slots freed, the timer armed. */
void engine_settle(struct engine *e);
/* Whether a run comes due within margin_ms (or came due less than a second
 * ago): background writes (journal compaction, results files, webhook
 * commits) wait, so that a submit is never late behind them. */
bool engine_due_soon(const struct engine *e, int64_t now, int64_t margin_ms);

/* slot.c */

/* Take s out of the heap of due slots (nothing when it is out). */
void slot_heap_remove(struct engine *e, struct slot *s);
/* Put s where its due time says in the heap, or out of it when nothing is due. */
void slot_heap_place(struct engine *e, struct slot *s);
/* Arm the timerfd at the earliest due instant, not before an API pause ends. */
void slot_heap_arm(struct engine *e);
bool engine_steps_early(const struct slot *s);
/* Index of the first slot at or after (job, start). */
size_t slot_lower(const struct engine *e, const char *job, int64_t start);
/* Whether slot i exists and holds a run of job. */
bool slot_of_job(const struct engine *e, size_t i, const char *job);
/* The job's runs (not forgotten) in order, and their slots into ret_slots; caller frees. */
size_t slot_job_runs(const struct engine *e, const char *job, const struct run ***ret, struct slot ***ret_slots);
/* Whether s is only the kept record of a job that left the files. */
bool slot_detached(const struct slot *s);
/* The run of a job an operator means: the active one, else the next, else the newest. */
struct slot *slot_find(const struct engine *e, const char *job);
/* Append a slot for r (slot_sort puts it in place). */
struct slot *slot_add(struct engine *e, struct run *r, const struct jobspec *spec);
/* Add a slot for r at its sorted place. */
struct slot *slot_insert(struct engine *e, struct run *r, const struct jobspec *spec);
/* Sort the slots by job, instant and part. */
void slot_sort(struct engine *e);
/* Keep one slot per run identity: the newer of two records. */
void slot_dedupe(struct engine *e);
/* Free the forgotten slots that nothing points at any more. */
void slot_reap(struct engine *e);
/* Delete a run that was never submitted, and its record: it can be made again. */
void slot_drop(struct engine *e, struct slot *s);
/* Remove the record of s's run and forget the slot (pruning). */
void slot_remove_record(struct engine *e, struct slot *s);

/* carry.c */

/* Forget the keys of the body a slot was about to send. */
void carry_drop_body_keys(struct slot *s);

/* The context the machine steps s's run in: now, jitter, grace, calling hours. */
struct run_ctx carry_make_ctx(const struct slot *s);
/* Every do-not-call list in force now (the engine's rules, refreshed). */
const struct suppress_rules *carry_rules(struct engine *e);
/* The contact limits as of now (the ledger, the limits, the moment), or
 * NULL when contact_limits is not set. */
const struct contact_rules *carry_contacts(struct engine *e);
/* Whether contacts can be recorded now: no contact_limits, or the ledger
 * is open (tried now, at most every 10 s, when a reload set the limits and
 * could not open it). A submit or retry waits while it cannot. */
bool carry_ledger_ready(struct engine *e);
/* s's run left state prev: its job's next run and pruning wait for engine_settle(). */
void carry_note_state_change(struct engine *e, struct slot *s, enum run_state prev);
/* Step s's run with ev and carry out the actions it returns. */
void carry_step(struct slot *s, const struct run_event *ev);
/* Count an API answer; 401/403 pause all API work, any other answer resumes it. */
void carry_note_api_result(struct engine *e, const struct api_result *res);
/* The machine's event of this kind for an API answer. */
struct run_event carry_event_of(enum run_event_kind kind, const struct api_result *res);
/* Carry out the machine's actions for s in order; a failed persist stops the rest. */
void carry_actions(struct slot *s, struct actions *acts);
/* Carry out a reaction of the machine to a (re)load on s: fn, or an event of kind. */
void carry_reload_step(struct slot *s, void (*fn)(struct run *, const struct run_ctx *, struct actions *),
		       enum run_event_kind kind);
/* Write every run held in the journal into its own file now. */
void carry_compact_all(struct engine *e);
/* Event callback: fold a chunk of the journal into run files while the loop is quiet. */
void carry_compact_cb(evutil_socket_t fd, short what, void *arg);
/* Open a group: persists wait for the outermost carry_group_end(). */
void carry_group_begin(struct engine *e);
/* Close a group; closing the outermost one commits it. */
void carry_group_end(struct engine *e);
/* Commit the deferred persists with one sync, then carry out what each deferred. */
void carry_group_flush(struct engine *e);
/* Event callback: the group commit at the end of a loop iteration. */
void carry_flush_cb(evutil_socket_t fd, short what, void *arg);
/* Write a new run that the configuration alone cannot make again, in the group commit. */
void carry_persist_new(struct engine *e, struct slot *s);

/* scan.c */

/* Poll again in poll_interval (unless already armed, or stopping). */
void scan_poll_arm(struct engine *e);
/* Event callback: poll the active batches, now or after the running scan. */
void scan_poll_cb(evutil_socket_t fd, short what, void *arg);
/* Start a scan for the slots that want a lookup (poll: and for the active batches). */
void scan_start(struct engine *e, bool poll);
/* A slot wants a lookup: scan now, or after the running scan. */
void scan_request(struct engine *e);
/* Free a scan (NULL is fine). */
void scan_free(struct list_scan *sc);

/* reconcile.c */

/* Load the runs of the state folder into slots. 0, or a negative errno. */
int reconcile_load(struct engine *e, struct store_load_info *ret_info);
/* Bring the slots in line with e->conf (start, reload); every job gets its next run. */
void reconcile_apply_conf(struct engine *e);
/* Give a job the runs it needs: its single run, or its next occurrence. */
void reconcile_ensure_next(struct engine *e, const struct jobspec *spec);
/* Remove the records a job no longer needs; when the oldest kept one expires. */
int64_t reconcile_prune_job(struct engine *e, const char *job);
/* Event callback: prune every job's records. */
/* Make the follow-up run s's run hands on (its follow and unfinished). */
void carry_follow_up(struct engine *e, struct slot *s);
/* At the start: a run whose record says it handed recipients on, but
 * whose follow-up has no record (a crash between the two writes), hands
 * them on now; one whose follow-up exists is brought in line. */
void reconcile_follow_ups(struct engine *e);
/* After the load: a follow-up rebuilt from a damaged record takes its
 * retries, and the recipients still handed on to it, from its parent. */
void reconcile_lost(struct engine *e);
void reconcile_touch_cb(evutil_socket_t fd, short what, void *arg);
void reconcile_prune_cb(evutil_socket_t fd, short what, void *arg);
/* Why a submit of s must not be sent at all (written into buf), or NULL:
 * run_submit_refusal, told which held call_name matches s's. */
const char *reconcile_submit_refusal(struct engine *e, const struct slot *s, char *buf, size_t size);
/* Free the held call_names. */
void reconcile_held_clear(struct engine *e);

#endif
