/*
 * jobspec: the validated definition of a job and of the daemon's
 * configuration, as the rest of the program sees them once cfg has loaded
 * and checked the files. Plain values only; no I/O.
 */
#ifndef BC_JOBSPEC_H
#define BC_JOBSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tz;
struct tz_cache;
struct suppress_set;
struct contact_limits;
struct calendar;
struct window;
struct strpool;

#define JOB_NAME_MAX 64
#define JOB_MAX_RECIPIENTS 10000

/* A dynamic variable keeps its JSON type. */
enum var_type { VAR_STRING, VAR_INT, VAR_FLOAT, VAR_BOOL };

struct var {
	char *name;
	enum var_type type;
	char *s;    /* VAR_STRING */
	int64_t i;  /* VAR_INT */
	double f;   /* VAR_FLOAT */
	bool b;     /* VAR_BOOL */
};

struct recipient {
	char *id;               /* NULL: none given */
	char *phone_number;     /* E.164, or NULL for a WhatsApp recipient */
	char *whatsapp_user_id; /* or NULL */
	struct var *vars;       /* -> dynamic_variables */
	size_t n_vars;
	/* conversation_config_override (CSV override columns), NULL if unset */
	char *language;      /* agent.language */
	char *first_message; /* agent.first_message */
	char *system_prompt; /* agent.prompt.prompt */
	char *voice_id;      /* tts.voice_id */
	char *timezone;      /* IANA name whose calling hours apply, or NULL: the job's */
	const struct tz *tz; /* that zone loaded (owned by daemonconf.zones), or NULL */
	char *file;          /* where it was defined (for messages) */
	int line;            /* line in the job file, or row in the CSV */
};

struct retry_policy {
	int max_retries; /* retries of a finished batch, 0..100 */
	int delay;       /* seconds before the first retry */
	double backoff;  /* multiplier per further retry, >= 1.0 */
	int max_delay;   /* cap, seconds */
};

enum on_removal { ON_REMOVAL_CANCEL, ON_REMOVAL_KEEP };

/* A recurring job's next occurrence while the previous run's batch is still active. */
enum overlap_policy {
	OVERLAP_SKIP,            /* the new occurrence is not submitted (default) */
	OVERLAP_ALLOW,           /* both run */
	OVERLAP_CANCEL_PREVIOUS, /* the active batch is cancelled, the new one submitted */
};

/* A run whose submit time falls outside the calling hours. */
enum outside_window {
	OUTSIDE_DEFER, /* waits for the next opening (default) */
	OUTSIDE_SKIP,  /* is skipped */
};

struct whatsapp_params {
	char *phone_number_id;        /* -> whatsapp_phone_number_id, may be NULL */
	char *template_name;          /* -> whatsapp_call_permission_request_template_name */
	char *template_language_code; /* -> ..._template_language_code */
};

/* Which recipients of the previous touch a follow-up touch calls, by the
 * status of their results row (touch_status bits; 0: any). */
enum touch_status {
	TOUCH_COMPLETED = 1u << 0,
	TOUCH_FAILED = 1u << 1,
	TOUCH_VOICEMAIL = 1u << 2,
	TOUCH_CANCELLED = 1u << 3,
	TOUCH_NOT_DIALLED = 1u << 4, /* never dialled in that touch (not suppressed) */
};
#define TOUCH_STATUS__COUNT 5
/* The name of status bit 1 << k ("completed", ... "not_dialled"), NULL
 * past the last: config, plan and results read the same list. */
const char *touch_status_name(unsigned k);
/* ... and by the conversation's call_successful (bits 1 << conv_verdict:
 * success, failure, unknown; a row without an analysis is unknown). */

/* A data-collection value a touch asks for: the conversation's value for
 * id equals the JSON text value (a string is compared as its text). */
struct touch_data {
	char *id;
	char *value; /* compact JSON: "\"undecided\"", "3", "true" */
};

/* One follow-up touch of a job (follow_up, issue 15): touch N (1-based) of
 * an occurrence calls those recipients of touch N-1 (0: the occurrence's
 * own run) who match, after_s after touch N-1 ended (its batches and their
 * retries), at the first instant inside the calling hours. */
struct touch {
	int64_t after_s;
	unsigned status;        /* touch_status bits; 0: any */
	unsigned verdicts;      /* 1 << conv_verdict bits; 0: any */
	struct touch_data *data; /* every one must match */
	size_t n_data;
	char *suffix;           /* the call_name's "(follow-up N)" words; NULL: those */
	char *first_message;    /* overrides every recipient's; NULL: as the job */
	struct var *vars;       /* override (or add) dynamic variables */
	size_t n_vars;
	struct window *hours;   /* NULL: the job's calling hours */
	int line;               /* where it was defined */
};

struct jobspec {
	char *name;       /* [A-Za-z0-9._-]{1,64}, unique */
	char *file;       /* job file it came from */
	int line;         /* line of the job's group in that file */
	char *agent_id;
	char *phone_number_id; /* -> agent_phone_number_id, may be NULL */
	char *timezone;        /* IANA name, validated; "UTC" when only
				* scheduled_time_unix was given, without a zone */
	const struct tz *tz;   /* the loaded zone, owned by daemonconf.zones */
	char *start_text;      /* start as written ("2026-12-01 09:00"), when has_start */
	int64_t start;         /* the run's instant, unix seconds (either form);
				* with repeat: the earliest instant an occurrence may
				* have, when anchored */
	/* recurrence (issue 8); repeat == NULL: a single run at start */
	struct calendar *repeat; /* owned */
	int64_t until;           /* no occurrence after this instant */
	int count;               /* at most this many occurrences from start, 0: no limit */
	enum overlap_policy overlap;
	/* calling hours; hours == NULL: any time */
	struct window *hours;    /* owned */
	enum outside_window outside;
	char *call_name;       /* NULL: use name */
	struct recipient *recipients; /* the inline ones first, then the CSV's */
	size_t n_recipients;
	size_t n_inline_recipients;
	char *recipients_csv;         /* resolved path, or NULL */
	int target_concurrency_limit; /* 0: unset */
	int ringing_timeout_secs;     /* 0: unset */
	char *branch_id;              /* may be NULL */
	char *environment;            /* may be NULL */
	struct whatsapp_params whatsapp;
	struct retry_policy retry;
	int max_lateness; /* seconds */
	int submit_ahead; /* seconds, 0: submit at the instant */
	enum on_removal on_removal;
	/* the flags, together: 100,000 jobs are held at once */
	bool has_start;        /* start given as a wall time (start_text) */
	bool anchored;         /* repeat with start or scheduled_time_unix; else the
				* occurrences begin where the caller starts looking */
	bool has_until;        /* until is set */
	bool resume;           /* a batch cancelled at the close of the calling
				* hours resumes at the next opening */
	bool has_recipient_zones; /* some recipient has its own timezone */
	bool has_whatsapp;     /* whatsapp is set */
	bool enabled;
	bool view_vars;        /* a touch view (jobspec_touch_view): its
				* recipients' vars arrays are its own */
	bool pooled;           /* its strings (its recipients', variables' and
				* touches' too) belong to a strpool, the
				* daemonconf's: jobspec_clear leaves them */
	struct touch *touches; /* follow_up, in order: touch 1, 2, ... */
	size_t n_touches;
	uint64_t digest; /* hash of everything that is sent: detects changes */
};

struct apiconf {
	char *base_url;       /* no trailing slash */
	char *api_key_file;   /* NULL: credentials dir, then $ELEVENLABS_API_KEY */
	int request_timeout;  /* seconds */
	int max_concurrent_requests;
	double max_requests_per_second;
	char *ca_file; /* NULL: system store */
	bool allow_insecure_http; /* http:// to a host that is not loopback */
};

/* cluster = { ... }: active/standby nodes on etcd (README "Running more
 * than one node"). */
struct clusterconf {
	char **etcd_endpoints; /* "http://127.0.0.1:2379", ... */
	size_t n_etcd_endpoints;
	char *node_name;
	int lease_ttl;         /* seconds */
	char *key_prefix;      /* begins and ends with '/' */
	char *ca_file;         /* TLS to etcd: CA bundle (NULL: the system's) */
	char *cert_file;       /* client certificate and key (NULL: none) */
	char *key_file;
};

struct daemonconf {
	char *file; /* the config file loaded */
	struct apiconf api;
	char *jobs_dir;       /* resolved against the config file's folder */
	char *state_dir;
	char *results_dir;    /* the results files (default: STATE_DIR/results) */
	char *control_socket;
	char *control_group;  /* NULL: the daemon's group */
	char *metrics_listen; /* NULL: no TCP metrics listener */
	char *webhook_listen; /* NULL: no post-call webhook receiver */
	int webhook_tolerance; /* seconds a webhook signature's t may be old */
	int poll_interval;    /* seconds */
	int state_retention;  /* seconds the state keeps a run's record after the
			       * run ended, its job in the files or not; every
			       * job's max_lateness is at most this */
	struct jobspec *jobs; /* sorted by name */
	size_t n_jobs;
	size_t n_files; /* job files read */
	size_t n_recipients;
	struct tz_cache *zones; /* owns every jobspec.tz */
	char **suppression;     /* the do-not-call list files, resolved */
	size_t n_suppression;
	struct suppress_set *suppress; /* their targets, sealed; NULL: no key */
	struct contact_limits *limits; /* the frequency caps; NULL: none */
	struct clusterconf *cluster;   /* NULL: one node, the state folder */
	struct strpool *strings;       /* the strings of every job (jobspec.pooled) */
};

/* Is s an E.164 number: '+' and 8..15 digits? */
bool e164_valid(const char *s);
/* Is s a valid job name? */
bool job_name_valid(const char *s);
/* The base of every call_name job j sends: its call_name, else its name. */
const char *jobspec_call_base(const struct jobspec *j);
/* The call_name sent for the run of job j whose local start is local_start
 * ("December renewals 2026-12-01 09:00"); the caller frees. */
char *jobspec_run_call_name(const struct jobspec *j, const char *local_start);
/* Does base begin with other, a space and a digit ("Renewals 2026" and
 * "Renewals")? Two jobs whose bases are equal, or one of which extends the
 * other so, may send the same call_name; two that are neither never do
 * (the proof is in jobspec.c). */
bool jobspec_call_base_extends(const char *base, const char *other);
/* Compute j->digest from every field that is sent to the API or decides when. */
void jobspec_compute_digest(struct jobspec *j);
/* Find a job by name (jobs sorted by name), or NULL. */
const struct jobspec *daemonconf_find(const struct daemonconf *c, const char *name);

/* Free what v holds (v itself is not freed). */
void var_clear(struct var *v);
/* Free what r holds (r itself is not freed). */
void recipient_clear(struct recipient *r);
/* The calling hours of touch (0: the occurrence's own run) of j. */
const struct window *jobspec_hours(const struct jobspec *j, int touch);
/* The words of touch's call_name ("follow-up 2", or its suffix); touch >= 1. */
char *jobspec_touch_suffix(const struct jobspec *j, int touch);
/* A view of j for the submit body of a touch: j's values with the touch's
 * overrides (first_message, variables) in a recipient list of its own.
 * Shares every string with j; free with jobspec_view_clear. */
void jobspec_touch_view(const struct jobspec *j, int touch, struct jobspec *view);
void jobspec_view_clear(struct jobspec *view);
/* Call fn with the address of every string field of j, its recipients',
 * their variables' and its touches' included (NULL ones too): the one list
 * of them, for jobspec_clear and for the loader's pooling. */
void jobspec_each_string(struct jobspec *j, void (*fn)(char **s, void *ctx), void *ctx);
/* Free what j holds (j itself is not freed). */
void jobspec_clear(struct jobspec *j);
void clusterconf_free(struct clusterconf *k);
/* Free c and everything it owns, zones included. */
void daemonconf_free(struct daemonconf *c);

#endif
