/*
 * log: structured events to journald or the console.
 *
 * Journal entries are native (sd_journal_sendv) so that every field of
 * SPEC §6 is its own journal field; the console gets one line per event,
 * "LEVEL: message key=value ...", with the journal's field names in lower
 * case so that the same words find an event in both. Messages and values
 * are sanitised before any writer sees them: a job name or an API error
 * body must not be able to forge a second line or a second field.
 */
#include "config.h"

#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "sbuf.h"
#include "utf8.h"
#include "util.h"

#define LOG_IDENTIFIER "batchcalld"
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* Where log_open looks for journald: JOURNAL_SOCKET unless a test moved it
 * (log_test_journal_socket); nothing else, no environment, sets it. */
static const char *journal_socket = JOURNAL_SOCKET;

struct log_event_info {
	const char *name;      /* stable name of the kind */
	const char *job_event; /* JOB_EVENT value, NULL for daemon events */
	const char *id;        /* MESSAGE_ID; fixed forever, the catalog uses it */
};

/* Generated once with `systemd-id128 new`; never change one, operators and
 * the catalog match on them. */
static const struct log_event_info event_info[EV__MAX] = {
	[EV_NONE] = { "none", NULL, NULL },
	[EV_SCHEDULED] = { "scheduled", "scheduled", "06a2fcbd0a3e45039abb88e83f2d5604" },
	[EV_SUBMITTED] = { "submitted", "submitted", "52db1a0b3ca441058a88453a18d80fb2" },
	[EV_ADOPTED] = { "adopted", "adopted", "c9db8e79c7f04878afcb267a6377f17f" },
	[EV_STATUS] = { "status", "status", "0345ab50abc941acbaffbd28fd770154" },
	[EV_RETRIED] = { "retried", "retried", "4cfec00bb0214248ba9b77eb661eea01" },
	[EV_CANCELLED] = { "cancelled", "cancelled", "a418bd70e2184c24978fd7f341557f5c" },
	[EV_FINISHED] = { "finished", "finished", "99df601d78ca4cbab54de82d214d8adf" },
	[EV_MISSED] = { "missed", "missed", "a0910cfb3c2045bea6705c535c2bd2ee" },
	[EV_ERROR] = { "error", "error", "e89f56a81d624dc79f4b6667a3d030f5" },
	[EV_LATE] = { "late", "late", "bd5f11da4b95496184bc9d8f47f4d3c9" },
	[EV_DAEMON_STARTED] = { "daemon-started", NULL, "d21f7874ee0e499ba41b96b51b5f8ca7" },
	[EV_DAEMON_STOPPING] = { "daemon-stopping", NULL, "e8d246706f6947118b5362a688156cc7" },
	[EV_DAEMON_STOPPED] = { "daemon-stopped", NULL, "d92205aa43f24d4d82541d97732a801e" },
	[EV_RELOADED] = { "reloaded", NULL, "7c325cf6ee6d4a43bd5470d5cc79f422" },
	[EV_RELOAD_FAILED] = { "reload-failed", NULL, "037e7ccf3f064731a88061227c640062" },
	[EV_CONFIG_ERROR] = { "config-error", NULL, "664c312f53b94cc0ab48422efddb4c0a" },
	[EV_API_KEY] = { "api-key", NULL, "15c98541775244d2ad06491e7315e390" },
	[EV_API_AUTH] = { "api-auth", NULL, "ae9b2427aed84c7d987bdfbb2d7dc141" },
	[EV_API_TRANSIENT] = { "api-transient", NULL, "c7029d4b36bf47fba255f4bb49ec1a59" },
	[EV_STATE_ERROR] = { "state-error", NULL, "f256f693394c4bddbe09ad0f2fc8b3b7" },
	[EV_JOB_CHANGED] = { "job-changed", NULL, "7a352a1c64534195b51a65f234f4946e" },
	[EV_REMOVED] = { "removed", NULL, "1cc102a77d9f420085ba9b4a4031239c" },
	[EV_CONTROL] = { "control", NULL, "e84c3566cdfc4f8083713ef4b07bae08" },
	[EV_CONTROL_LISTENING] = { "control-listening", NULL, "c946f8e5e95345a89ab8a1f02f76cd7c" },
	[EV_CONTROL_FAILED] = { "control-failed", NULL, "0b3a6ee87d054508b680d0bc79f35a58" },
	[EV_CONTROL_ACCEPT] = { "control-accept", NULL, "fb61b628bd09430baba1db952b252a9f" },
	[EV_API_KEY_ACCEPTED] = { "api-key-accepted", NULL, "bcafdf473ad64d69ac82fcb25b3c6e2d" },
	[EV_STATE_WRITABLE] = { "state-writable", NULL, "10bff2a02507452e8157e02f7b2d2b08" },
	[EV_DUPLICATE] = { "duplicate", NULL, "976151599cc848a48bc96f1a36b7d3ce" },
	[EV_PAUSED] = { "paused", NULL, "cbf3c335bd7a4b38b7aa30a3a146f6a1" },
	[EV_RESTART_NEEDED] = { "restart-needed", NULL, "7a70138514994365977017d8bdc468e5" },
	[EV_STOP_ABANDONED] = { "stop-abandoned", NULL, "5c5d284f60144991a185425d7cad1cde" },
	[EV_RECORD_REMOVED] = { "record-removed", NULL, "304adc6bd2ff40ac9539464d6adc8ee6" },
	[EV_INTERNAL] = { "internal", NULL, "a39206db9ef3494d994fff3b90df3a17" },
	[EV_RESULTS_WRITTEN] = { "results-written", NULL, "dbdaecf626fc42ce9b88a8c307b61464" },
	[EV_WEBHOOK_REFUSED] = { "webhook-refused", NULL, "c0ad8aae23424426b8c32ff771a2096c" },
	[EV_WEBHOOK_FAILED] = { "webhook-failed", NULL, "6f132762825644acb6db22596a0682af" },
	[EV_API_CLOCK] = { "api-clock", NULL, "46f197c731234704b00f486b0bb50276" },
	[EV_SUPPRESSED] = { "suppressed", NULL, "5d1e6a0c9b7f4e2a8c3d41f0a6b2e917" },
	[EV_CONTACT_LIMIT] = { "contact-limit", NULL, "904c8d9fcf5c417d9a53c7d265bf476f" },
	[EV_LEADER_GAINED] = { "leader-gained", NULL, "734986c986344c9883b80c7d0c0ee8cb" },
	[EV_LEADER_LOST] = { "leader-lost", NULL, "3e60082be14b4eaa89c404039a3230d3" },
	[EV_CLUSTER] = { "cluster", NULL, "4196ed2680194e87908d8b39cd6d8381" },
};

static const char *const priority_names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

static enum log_target log_target = LOG_TARGET_CONSOLE;
static int log_max_priority = LOG_INFO;
static log_writer_fn log_writer;
static void *log_writer_userdata;

const char *log_event_job_name(enum log_event ev)
{
	if ((unsigned)ev >= EV__MAX)
		return NULL;
	return event_info[ev].job_event;
}

const char *log_event_name(enum log_event ev)
{
	if ((unsigned)ev >= EV__MAX)
		return "invalid";
	return event_info[ev].name;
}

const char *log_event_message_id(enum log_event ev)
{
	if ((unsigned)ev >= EV__MAX)
		return NULL;
	return event_info[ev].id;
}

const char *log_priority_name(int priority)
{
	if (priority < 0 || (size_t)priority >= ARRAY_SIZE(priority_names))
		return "debug";
	return priority_names[priority];
}

int log_target_parse(const char *s, enum log_target *ret)
{
	static const char *const names[] = {
		[LOG_TARGET_AUTO] = "auto",
		[LOG_TARGET_JOURNAL] = "journal",
		[LOG_TARGET_CONSOLE] = "console",
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (s && strcmp(s, names[i]) == 0) {
			*ret = (enum log_target)i;
			return 0;
		}
	}
	return -EINVAL;
}

bool log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	if (!e || !*e)
		return false;
	/* systemd writes "DEV:INODE" in decimal; anything else is not ours. */
	errno = 0;
	dev = strtoull(e, &end, 10);
	if (errno || end == e || *end != ':')
		return false;
	e = end + 1;
	ino = strtoull(e, &end, 10);
	if (errno || end == e || *end)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_open(enum log_target target, int max_priority)
{
	if (target == LOG_TARGET_AUTO)
		target = log_stderr_is_journal() ? LOG_TARGET_JOURNAL : LOG_TARGET_CONSOLE;
	/* sd_journal_sendv drops entries silently when journald is absent;
	 * a console line is better than nothing. */
	if (target == LOG_TARGET_JOURNAL && access(journal_socket, F_OK) < 0)
		target = LOG_TARGET_CONSOLE;
	log_target = target;
	log_set_max_priority(max_priority);
}

void log_test_journal_socket(const char *path)
{
	journal_socket = path ? path : JOURNAL_SOCKET;
}

enum log_target log_get_target(void)
{
	return log_target;
}

void log_set_max_priority(int max_priority)
{
	if (max_priority < LOG_EMERG)
		max_priority = LOG_EMERG;
	if (max_priority > LOG_DEBUG)
		max_priority = LOG_DEBUG;
	log_max_priority = max_priority;
}

void log_set_writer(log_writer_fn fn, void *userdata)
{
	log_writer = fn;
	log_writer_userdata = userdata;
}

char *log_sanitise(const char *s)
{
	size_t len, o = 0, n;
	char *r;

	if (!s)
		return NULL;
	len = strlen(s);
	/* Worst case every byte becomes \xHH. */
	r = xmalloc(len * 4 + 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p += n) {
		if (*p >= 0x20 && *p < 0x7f) {
			/* printable ASCII, nearly every byte: no decoding */
			r[o++] = (char)*p;
			n = 1;
			continue;
		}
		n = utf8_decode(p, len - (size_t)(p - (const unsigned char *)s), NULL);
		/* Invalid UTF-8 would turn a journal field into a blob that
		 * journalctl no longer prints. */
		if (n > 1 || (n == 1 && *p >= 0x20 && *p != 0x7f)) {
			memcpy(r + o, p, n);
			o += n;
			continue;
		}
		n = 1;
		r[o++] = '\\';
		switch (*p) {
		case '\n':
			r[o++] = 'n';
			break;
		case '\t':
			r[o++] = 't';
			break;
		case '\r':
			r[o++] = 'r';
			break;
		default:
			o += (size_t)sprintf(r + o, "x%02x", *p);
			break;
		}
	}
	r[o] = '\0';
	return r;
}

/* Append " key=value", quoting values a reader could not split on spaces. */
static void append_kv(struct sbuf *b, const char *key, const char *value)
{
	bool quote = !*value || strpbrk(value, " \"=\\") != NULL;
	size_t n;

	sbuf_adds(b, " ");
	sbuf_adds(b, key);
	sbuf_adds(b, quote ? "=\"" : "=");
	for (const char *p = value; *p; p += n) {
		n = quote ? strcspn(p, "\"\\") : strlen(p);
		sbuf_add(b, p, n);
		if (p[n]) {
			sbuf_add(b, "\\", 1);
			sbuf_add(b, p + n, 1);
			n++;
		}
	}
	if (quote)
		sbuf_add(b, "\"", 1);
}

char *log_format_console(const struct log_entry *e)
{
	const char *prio = log_priority_name(e->priority);
	const char *job_event = log_event_job_name(e->ev);
	char num[32];
	struct sbuf b = { 0 };

	sbuf_adds(&b, prio);
	sbuf_adds(&b, ": ");
	sbuf_adds(&b, e->message);
	if (e->f.job)
		append_kv(&b, "job_name", e->f.job);
	if (e->f.run_start) {
		snprintf(num, sizeof(num), "%" PRId64, e->f.run_start);
		append_kv(&b, "run_start", num);
	}
	if (e->f.batch_id)
		append_kv(&b, "batch_id", e->f.batch_id);
	if (job_event)
		append_kv(&b, "job_event", job_event);
	if (e->f.state)
		append_kv(&b, "job_state", e->f.state);
	if (e->f.attempt) {
		snprintf(num, sizeof(num), "%d", e->f.attempt);
		append_kv(&b, "attempt", num);
	}
	if (e->f.http_status) {
		snprintf(num, sizeof(num), "%ld", e->f.http_status);
		append_kv(&b, "http_status", num);
	}
	if (e->f.peer) {
		snprintf(num, sizeof(num), "%" PRIu32, e->f.peer->uid);
		append_kv(&b, "peer_uid", num);
		snprintf(num, sizeof(num), "%" PRIu32, e->f.peer->gid);
		append_kv(&b, "peer_gid", num);
		snprintf(num, sizeof(num), "%" PRId32, e->f.peer->pid);
		append_kv(&b, "peer_pid", num);
	}
	if (e->f.recipient)
		append_kv(&b, "recipient", e->f.recipient);
	return sbuf_steal(&b, NULL);
}

static void write_console(const struct log_entry *e)
{
	char *line = log_format_console(e);
	size_t len = strlen(line);

	/* One write per line so that concurrent writers do not interleave
	 * (stderr is unbuffered: fprintf would write in pieces). */
	line = xrealloc(line, len + 2);
	line[len] = '\n';
	line[len + 1] = '\0';
	fwrite(line, 1, len + 1, stderr);
	fflush(stderr);
	free(line);
}

/* Returns 0 or the negative errno of sd_journal_sendv. */
static int write_journal(const struct log_entry *e, const char *code_file, const char *code_line,
			 const char *func)
{
	const char *id = log_event_message_id(e->ev);
	const char *job_event = log_event_job_name(e->ev);
	char *fields[16];
	struct iovec iov[16];
	size_t n = 0;
	int r;

	fields[n++] = xasprintf("MESSAGE=%s", e->message);
	fields[n++] = xasprintf("PRIORITY=%d", e->priority);
	fields[n++] = xstrdup("SYSLOG_IDENTIFIER=" LOG_IDENTIFIER);
	if (id)
		fields[n++] = xasprintf("MESSAGE_ID=%s", id);
	if (e->f.job)
		fields[n++] = xasprintf("JOB_NAME=%s", e->f.job);
	if (e->f.run_start)
		fields[n++] = xasprintf("RUN_START=%" PRId64, e->f.run_start);
	if (e->f.batch_id)
		fields[n++] = xasprintf("BATCH_ID=%s", e->f.batch_id);
	if (job_event)
		fields[n++] = xasprintf("JOB_EVENT=%s", job_event);
	if (e->f.state)
		fields[n++] = xasprintf("JOB_STATE=%s", e->f.state);
	if (e->f.attempt)
		fields[n++] = xasprintf("ATTEMPT=%d", e->f.attempt);
	if (e->f.http_status)
		fields[n++] = xasprintf("HTTP_STATUS=%ld", e->f.http_status);
	if (e->f.peer) {
		fields[n++] = xasprintf("PEER_UID=%" PRIu32, e->f.peer->uid);
		fields[n++] = xasprintf("PEER_GID=%" PRIu32, e->f.peer->gid);
		fields[n++] = xasprintf("PEER_PID=%" PRId32, e->f.peer->pid);
	}
	if (e->f.recipient)
		fields[n++] = xasprintf("RECIPIENT=%s", e->f.recipient);
	for (size_t i = 0; i < n; i++) {
		iov[i].iov_base = fields[i];
		iov[i].iov_len = strlen(fields[i]);
	}
	/* The caller's place, or none at all: the sd_journal_sendv macro
	 * would name this function as the origin of every entry (the
	 * parentheses call the function, which adds nothing). */
	if (code_file && code_line && func)
		r = sd_journal_sendv_with_location(code_file, code_line, func, iov, (int)n);
	else
		r = (sd_journal_sendv)(iov, (int)n);
	for (size_t i = 0; i < n; i++)
		free(fields[i]);
	return r < 0 ? r : 0;
}

static void write_target(const struct log_entry *e, const char *code_file, const char *code_line,
			 const char *func)
{
	if (e->priority > log_max_priority)
		return;
	/* A journal that refuses the entry must not swallow the event. */
	if (log_target == LOG_TARGET_JOURNAL && write_journal(e, code_file, code_line, func) == 0)
		return;
	write_console(e);
}

/* s as log_sanitise would give it: s itself when nothing needs escaping
 * (nearly always: no copy), else a copy kept in *to_free. */
static const char *sanitised(const char *s, char **to_free)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s)
		return NULL;
	while (*p >= 0x20 && *p < 0x7f)
		p++;
	if (!*p)
		return s;
	return *to_free = log_sanitise(s);
}

void log_eventv_at(const char *code_file, const char *code_line, const char *func, int priority,
		   enum log_event ev, const struct log_fields *f, const char *fmt, va_list ap)
{
	int saved_errno = errno; /* callers log and then look at errno */
	struct log_entry e = { .priority = priority, .ev = ev };
	char *raw, *message = NULL;
	char *job = NULL, *batch_id = NULL, *state = NULL, *recipient = NULL;

	if ((unsigned)ev >= EV__MAX)
		e.ev = EV_NONE;
	/* Nobody else will pay for formatting a message nobody reads. */
	if (!log_writer && priority > log_max_priority)
		goto out;
	/* "%s": the message is made already (the core's notes) */
	if (fmt[0] == '%' && fmt[1] == 's' && fmt[2] == '\0') {
		const char *m = va_arg(ap, const char *);
		raw = xstrdup(m ? m : "(null)"); /* as glibc's printf */
	} else
		raw = xvasprintf(fmt, ap);
	e.message = sanitised(raw, &message);
	if (f) {
		e.f = *f;
		e.f.job = sanitised(f->job, &job);
		e.f.batch_id = sanitised(f->batch_id, &batch_id);
		e.f.state = sanitised(f->state, &state);
		e.f.recipient = sanitised(f->recipient, &recipient);
	}
	if (log_writer)
		log_writer(&e, log_writer_userdata);
	else
		write_target(&e, code_file, code_line, func);
	free(raw);
	free(message);
	free(job);
	free(batch_id);
	free(state);
	free(recipient);
out:
	errno = saved_errno;
}

void log_event_at(const char *code_file, const char *code_line, const char *func, int priority,
		  enum log_event ev, const struct log_fields *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_eventv_at(code_file, code_line, func, priority, ev, f, fmt, ap);
	va_end(ap);
}

static char *strdup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void capture_cb(const struct log_entry *e, void *userdata)
{
	struct log_capture *c = userdata;
	struct log_capture_entry *ce;

	xgrow((void **)&c->v, &c->cap, c->n + 1, sizeof(*c->v));
	ce = &c->v[c->n++];
	ce->priority = e->priority;
	ce->ev = e->ev;
	ce->message = xstrdup(e->message);
	ce->job = strdup_or_null(e->f.job);
	ce->batch_id = strdup_or_null(e->f.batch_id);
	ce->state = strdup_or_null(e->f.state);
	ce->run_start = e->f.run_start;
	ce->attempt = e->f.attempt;
	ce->http_status = e->f.http_status;
	ce->has_peer = e->f.peer != NULL;
	if (e->f.peer)
		ce->peer = *e->f.peer;
}

void log_capture_start(struct log_capture *c)
{
	*c = (struct log_capture){ .prev_fn = log_writer, .prev_userdata = log_writer_userdata };
	log_set_writer(capture_cb, c);
}

void log_capture_clear(struct log_capture *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].message);
		free(c->v[i].job);
		free(c->v[i].batch_id);
		free(c->v[i].state);
	}
	c->n = 0;
}

void log_capture_stop(struct log_capture *c)
{
	log_set_writer(c->prev_fn, c->prev_userdata);
	log_capture_clear(c);
	freep(&c->v);
	c->cap = 0;
}

const struct log_capture_entry *log_capture_find(const struct log_capture *c, enum log_event ev,
						 const char *job)
{
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].ev != ev)
			continue;
		if (job && (!c->v[i].job || strcmp(c->v[i].job, job) != 0))
			continue;
		return &c->v[i];
	}
	return NULL;
}

size_t log_capture_count(const struct log_capture *c, enum log_event ev)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++)
		if (ev == EV__MAX || c->v[i].ev == ev)
			n++;
	return n;
}
