/*
 * log: the daemon's one way to say what happened.
 *
 * Every event goes out once, with structured fields, to one target:
 * journald (native entries through sd_journal_sendv, so that
 * `journalctl JOB_NAME=x` tells a job's story and `journalctl -x` explains
 * each event through the catalog), or the console (one line per event on
 * stderr: "LEVEL: message key=value ...", for terminals and containers).
 *
 * The output is a swappable writer so that unit tests of other modules can
 * record entries in memory (struct log_capture) and assert their fields.
 */
#ifndef BC_LOG_H
#define BC_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <syslog.h>

enum log_target {
	LOG_TARGET_AUTO,    /* journal when stderr is the journal ($JOURNAL_STREAM), else console */
	LOG_TARGET_JOURNAL,
	LOG_TARGET_CONSOLE,
};

/* Event kinds. Each has its own MESSAGE_ID (see systemd/batchcalld.catalog);
 * the job events (EV_SCHEDULED .. EV_LATE) also carry JOB_EVENT. */
enum log_event {
	EV_NONE,            /* a plain message: no MESSAGE_ID, no JOB_EVENT */
	/* job events: JOB_EVENT of SPEC §6 */
	EV_SCHEDULED,       /* a run was planned (JOB_EVENT=scheduled) */
	EV_SUBMITTED,       /* a batch was created by the API */
	EV_ADOPTED,         /* an uncertain submit was found in the list and taken over */
	EV_STATUS,          /* a poll saw a batch's status (debug unless it changed) */
	EV_RETRIED,         /* failed recipients of a batch were retried */
	EV_CANCELLED,       /* a batch was cancelled */
	EV_FINISHED,        /* a batch reached completed/failed/cancelled */
	EV_MISSED,          /* a run was later than max_lateness and not submitted */
	EV_ERROR,           /* the API refused a run for good (400/404/422) */
	EV_LATE,            /* a run was submitted late, within max_lateness */
	/* daemon events: MESSAGE_ID but no JOB_EVENT */
	EV_DAEMON_STARTED,  /* first configuration loaded, ready */
	EV_DAEMON_STOPPING, /* SIGTERM/SIGINT received, draining */
	EV_DAEMON_STOPPED,  /* state persisted, exiting */
	EV_RELOADED,        /* SIGHUP applied a new configuration */
	EV_RELOAD_FAILED,   /* SIGHUP found errors; old configuration kept */
	EV_CONFIG_ERROR,    /* one FILE:LINE error of a load */
	EV_API_KEY,         /* no API key could be found (startup error) */
	EV_API_AUTH,        /* 401/403: key refused, API work paused */
	EV_API_TRANSIENT,   /* a transient API failure, will retry */
	EV_STATE_ERROR,     /* the state folder could not be read or written */
	EV_JOB_CHANGED,     /* a job changed after its run was submitted */
	EV_REMOVED,         /* a job left the files (JOB_STATE=removed) */
	EV_CONTROL,         /* an operator request on the control socket */
	EV_CONTROL_LISTENING, /* the control socket (and metrics) are listening */
	EV_CONTROL_FAILED,  /* the control socket cannot be set up (startup error) */
	EV_CONTROL_ACCEPT,  /* accept() failed (EMFILE, ...): listener paused, backing off */
	EV_API_KEY_ACCEPTED, /* the API accepts the key again after a 401/403 */
	EV_STATE_WRITABLE,  /* the state folder is writable again; submissions resume */
	EV_DUPLICATE,       /* a lookup found more than one batch, or look-alikes, for one run */
	EV_PAUSED,          /* an operator paused or resumed a run */
	EV_RESTART_NEEDED,  /* a reload saw changes that apply at the next start only */
	EV_STOP_ABANDONED,  /* a stop ended with requests still unanswered */
	EV_RECORD_REMOVED,  /* the record of a run of a removed job expired */
	EV_INTERNAL,        /* the event loop or its timer failed (a bug or no resources) */
	EV_RESULTS_WRITTEN, /* a results file was written (or could not be) */
	EV_WEBHOOK_REFUSED, /* a post-call webhook was refused (401, 400) */
	EV_WEBHOOK_FAILED,  /* a verified webhook could not be stored (503) */
	EV_API_CLOCK,       /* the API's clock is more than a minute from ours, or back */
	EV_SUPPRESSED,      /* a do-not-call list left a recipient out of a submit or retry, or was added to */
	EV_CONTACT_LIMIT,   /* the contact limits left a recipient out of a submit or retry */
	EV_LEADER_GAINED,   /* cluster: this node became the leader */
	EV_LEADER_LOST,     /* cluster: this node lost (or gave up) the leadership */
	EV_CLUSTER,         /* cluster: etcd unreachable or back, job files differ from the leader's, a standby's news */
	EV__MAX,
};

/* Who sent a request on the control socket (SO_PEERCRED). */
struct log_peer {
	uint32_t uid;
	uint32_t gid;
	int32_t pid;
};

/* Structured fields of an event; a zero/NULL member is absent. */
struct log_fields {
	const char *job;      /* JOB_NAME */
	int64_t run_start;    /* RUN_START, unix seconds */
	const char *batch_id; /* BATCH_ID */
	const char *state;    /* JOB_STATE */
	int attempt;          /* ATTEMPT */
	long http_status;     /* HTTP_STATUS */
	const struct log_peer *peer; /* PEER_UID, PEER_GID, PEER_PID */
	const char *recipient;       /* RECIPIENT: masked at info and above (suppress_mask) */
};

/* One entry as handed to a writer; strings are sanitised, valid only
 * during the call. */
struct log_entry {
	int priority;
	enum log_event ev;
	const char *message;
	struct log_fields f;
};

/* A writer receives every entry, whatever its priority (the built-in
 * writers apply max_priority themselves). */
typedef void (*log_writer_fn)(const struct log_entry *e, void *userdata);

/* Choose the target and the most verbose priority written (LOG_INFO
 * by default: debug off). Resolves LOG_TARGET_AUTO at once; the journal
 * falls back to the console when journald's socket does not exist. */
void log_open(enum log_target target, int max_priority);
/* Tests only: where log_open looks for journald's socket (NULL: the real
 * /run/systemd/journal/socket), so that both the kept journal target and
 * the console fallback are tested whether or not this host runs journald.
 * The daemon never calls it. */
void log_test_journal_socket(const char *path);
/* The target log_open resolved (never LOG_TARGET_AUTO). */
enum log_target log_get_target(void);
/* Change the most verbose priority written (e.g. --verbose). */
void log_set_max_priority(int max_priority);
/* Parse "auto" | "journal" | "console"; 0 or -EINVAL. */
int log_target_parse(const char *s, enum log_target *ret);
/* True when $JOURNAL_STREAM names the device:inode of stderr. */
bool log_stderr_is_journal(void);

/* Where a log call is, for journald's CODE_FILE, CODE_LINE and CODE_FUNC
 * (the caller's place, not log.c's). */
#define LOG_STRINGIFY_(x) #x
#define LOG_STRINGIFY(x) LOG_STRINGIFY_(x)
#define LOG_HERE "CODE_FILE=" __FILE__, "CODE_LINE=" LOG_STRINGIFY(__LINE__), __func__

/* Log an event with fields (f may be NULL). */
#define log_event(priority, ev, f, ...) log_event_at(LOG_HERE, priority, ev, f, __VA_ARGS__)
/* Log a plain message without fields. */
#define log_msg(priority, ...) log_event_at(LOG_HERE, priority, EV_NONE, NULL, __VA_ARGS__)

/* What log_event expands to: code_file is "CODE_FILE=...", code_line
 * "CODE_LINE=..." (both may be NULL). */
void log_event_at(const char *code_file, const char *code_line, const char *func, int priority,
		  enum log_event ev, const struct log_fields *f, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
/* The va_list form, for wrappers (pass LOG_HERE of their caller or NULLs). */
void log_eventv_at(const char *code_file, const char *code_line, const char *func, int priority,
		   enum log_event ev, const struct log_fields *f, const char *fmt, va_list ap)
	__attribute__((format(printf, 7, 0)));

/* The JOB_EVENT name of a job event ("scheduled" ...), NULL for others. */
const char *log_event_job_name(enum log_event ev);
/* A stable lower-case name of every event kind, for tests and messages. */
const char *log_event_name(enum log_event ev);
/* The MESSAGE_ID of an event kind as 32 hex digits, NULL for EV_NONE. */
const char *log_event_message_id(enum log_event ev);
/* "err", "warning", "info", ... for a syslog priority. */
const char *log_priority_name(int priority);

/* Format an entry as its console line, without the newline; caller frees. */
char *log_format_console(const struct log_entry *e);
/* Copy s replacing control characters and bytes that are not UTF-8 by
 * \n, \t, \r or \xHH; caller frees. */
char *log_sanitise(const char *s);

/* Replace the writer (NULL restores the target's own). */
void log_set_writer(log_writer_fn fn, void *userdata);

/* One recorded entry with copies of its strings. */
struct log_capture_entry {
	int priority;
	enum log_event ev;
	char *message;
	char *job, *batch_id, *state;
	int64_t run_start;
	int attempt;
	long http_status;
	bool has_peer;
	struct log_peer peer;
};

/* An in-memory writer for unit tests. */
struct log_capture {
	struct log_capture_entry *v;
	size_t n, cap;
	log_writer_fn prev_fn; /* the writer to restore on stop */
	void *prev_userdata;
};

/* Start recording every entry into c (replaces the writer). */
void log_capture_start(struct log_capture *c);
/* Restore the previous writer and free what c recorded. */
void log_capture_stop(struct log_capture *c);
/* Forget what c recorded so far. */
void log_capture_clear(struct log_capture *c);
/* The first entry of kind ev for job (job NULL: any), or NULL. */
const struct log_capture_entry *log_capture_find(const struct log_capture *c, enum log_event ev,
						 const char *job);
/* How many entries of kind ev were recorded (EV__MAX: all). */
size_t log_capture_count(const struct log_capture *c, enum log_event ev);

#endif
