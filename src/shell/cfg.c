/*
 * cfg: the libconfig loader. Reads batchcalld.conf, then every *.conf file of
 * jobs_dir in name order, applies `defaults` key by key, reads the
 * recipients CSV files and validates everything into a daemonconf.
 *
 * Every problem becomes one "FILE:LINE: message" diagnostic and the load goes
 * on, so that an operator fixes all mistakes in one round; the load fails
 * with -EINVAL if there was any. A value taken from `defaults` is checked
 * once, where it is written, and not again for each job that inherits it
 * (the job is still refused, silently, so one mistake gives one message).
 *
 * libconfig 1.5 (Debian 12) owns its strings, so everything kept is copied
 * before config_destroy.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calendar.h"
#include "conv.h"
#include "sbuf.h"
#include "cfg.h"
#include "csv.h"
#include "file.h"
#include "strpool.h"
#include "suppress_store.h"
#include "ledger.h"
#include "tz.h"
#include "tzdb.h"
#include "window.h"

/* A config, job or CSV file larger than this is a mistake, not a campaign. */
#define CFG_MAX_FILE (64u << 20)
/* Errors per CSV file before the rest is skipped as noise. */
#define CSV_MAX_ROW_ERRORS 20

/* Built-in values when neither the job nor `defaults` sets a key. */
#define DEF_BASE_URL "https://api.elevenlabs.io"
#define DEF_REQUEST_TIMEOUT 30
#define DEF_MAX_CONCURRENT 8
#define DEF_MAX_RPS 10.0
#define DEF_POLL_INTERVAL 30
/* how long the state keeps a run's record after it ended: 30 days, from
 * one day to ten years */
#define DEF_STATE_RETENTION 2592000
#define MIN_STATE_RETENTION 86400
#define MAX_STATE_RETENTION 315360000
#define DEF_STATE_DIR LOCALSTATEDIR "/lib/batchcalld"
#define DEF_WEBHOOK_TOLERANCE 1800 /* the SDK's 30 minutes (conversations document §5.4) */
#define DEF_JOBS_DIR "jobs.d"
#define DEF_MAX_LATENESS 900
#define DEF_RETRY_MAX 2
#define DEF_RETRY_DELAY 600
#define DEF_RETRY_BACKOFF 2.0
#define DEF_RETRY_MAX_DELAY 3600
/* Occurrences a `count` may ask for: ten years of hourly runs is plenty, and
 * the limit keeps counting from `start` cheap. */
#define MAX_COUNT 100000

static const char *const daemon_keys[] = {
	"api", "jobs_dir", "state_dir", "control_socket", "control_group", "metrics_listen", "poll_interval",
	"state_retention", "defaults", "results_dir", "webhook_listen", "webhook_tolerance", "suppression",
	"contact_limits", "over_limit", "cluster",
};
static const char *const cluster_keys[] = { "etcd_endpoints", "node_name", "lease_ttl", "key_prefix",
					    "ca_file", "cert_file", "key_file" };
static const char *const limits_keys[] = { "max_calls", "window", "min_gap", "per_agent" };
static const char *const api_keys[] = {
	"base_url", "api_key_file", "request_timeout", "max_concurrent_requests", "max_requests_per_second", "ca_file",
	"allow_insecure_http",
};
static const char *const job_keys[] = {
	"name", "agent_id", "phone_number_id", "start", "scheduled_time_unix", "timezone", "call_name",
	"recipients", "recipients_csv", "target_concurrency_limit", "ringing_timeout_secs", "branch_id",
	"environment", "whatsapp", "retry", "max_lateness", "submit_ahead", "on_removal", "enabled",
	"repeat", "until", "count", "overlap", "calling_hours", "blackout_dates", "outside_window", "resume",
	"follow_up",
};
static const char *const touch_keys[] = {
	"after", "status", "call_successful", "data", "call_name_suffix", "first_message", "variables",
	"calling_hours", "blackout_dates",
};
static const char *const hours_keys[] = { "days", "from", "to" };
static const char *const retry_keys[] = { "max_retries", "delay", "backoff", "max_delay" };
static const char *const whatsapp_keys[] = {
	"phone_number_id", "permission_template_name", "permission_template_language_code",
};
static const char *const recipient_keys[] = {
	"id", "phone_number", "whatsapp_user_id", "variables", "language", "first_message", "system_prompt", "voice_id",
	"timezone",
};
static const char *const jobfile_keys[] = { "jobs" };

/* Where a job's call_name base (jobspec_call_base) comes from. */
enum base_from {
	BASE_NAME,     /* no call_name: the job's name */
	BASE_OWN,      /* the job's own call_name */
	BASE_DEFAULTS, /* the call_name of `defaults` */
};

/* Every job name seen, valid job or not, to report duplicates, and the
 * base of its run call_names, to report bases that could give two jobs
 * the same call_name. */
struct seen_name {
	const char *name; /* the job's, in the daemonconf's string pool */
	const char *file;
	int line;
	size_t order;
	const char *base; /* NULL: the job's call_name is bad (reported already) */
	enum base_from from;
	const char *base_file; /* where the base is written for this job: its */
	int base_line;         /* call_name, else the job itself */
};

struct loader {
	struct diag *d;
	struct daemonconf *c;
	const char *file; /* the file being read (libconfig does not know it) */
	const config_t *main_cf; /* the daemon file, where defaults live */
	const char *main_file;
	int defaults_call_name_line; /* the line of call_name in defaults, 0: none */
	bool retention_bad; /* state_retention was wrong: max_lateness is not checked against it */
	bool quiet;       /* the setting comes from defaults: already reported */
	bool failed;      /* something in the current job (or the load) was wrong */
	bool lists_read;  /* the key `suppression` was read */
	bool lists_bad;   /* ... and one of its lists was wrong */
	struct jobspec *jobs;
	size_t n_jobs, jobs_cap;
	struct seen_name *seen;
	size_t n_seen, seen_cap;
	char **files; /* names kept alive for the diagnostics and seen_name */
	size_t n_files, files_cap;
};

static void lerr_at(struct loader *L, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void lerr(struct loader *L, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void lerr_at(struct loader *L, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	L->failed = true;
	if (L->quiet)
		return;
	va_start(ap, fmt);
	diag_vadd(L->d, file, line, fmt, ap);
	va_end(ap);
}

static const char *setting_file(struct loader *L, const config_setting_t *s)
{
	const char *f = s ? config_setting_source_file(s) : NULL;
	if (f)
		return f;
	/* a value inherited from defaults belongs to the daemon file */
	if (s && L->main_cf && s->config == L->main_cf)
		return L->main_file;
	return L->file;
}

static int setting_line(const config_setting_t *s)
{
	int line = s ? (int)config_setting_source_line(s) : 0;
	return line > 0 ? line : 1;
}

static void lerr(struct loader *L, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	L->failed = true;
	if (L->quiet)
		return;
	va_start(ap, fmt);
	diag_vadd(L->d, setting_file(L, s), setting_line(s), fmt, ap);
	va_end(ap);
}

/* Keep a string alive until the load ends (file names in messages). */
static const char *keep(struct loader *L, char *s)
{
	xgrow((void **)&L->files, &L->files_cap, L->n_files + 1, sizeof(*L->files));
	L->files[L->n_files++] = s;
	return s;
}

/* The name of a setting as the operator wrote it: "retry.delay" inside a
 * named group, "max_lateness" at the level of a job. */
static const char *key_of(const config_setting_t *s, char *buf, size_t size)
{
	const config_setting_t *p = config_setting_parent(s);
	const char *n = config_setting_name(s);
	const char *pn = p ? config_setting_name(p) : NULL;

	if (!n)
		n = "element";
	if (pn && config_setting_parent(p) && strcmp(pn, "defaults") != 0)
		snprintf(buf, size, "%s.%s", pn, n);
	else
		snprintf(buf, size, "%s", n);
	return buf;
}

static const char *type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "a value";
	}
}

/* The member of group g named key, or NULL. libconfig's own
 * config_setting_get_member matches a path, with a strchr for each
 * character it compares: most of the time of loading 100,000 jobs went
 * there. A key here is a plain name, which this compares as a string. */
static config_setting_t *member(const config_setting_t *g, const char *key)
{
	const config_list_t *list;

	if (!g || config_setting_type(g) != CONFIG_TYPE_GROUP || !(list = g->value.list))
		return NULL;
	/* (the list as libconfig.h shows it: a call per element cost as
	 * much as the compare) */
	for (unsigned i = 0; i < list->length; i++) {
		config_setting_t *s = list->elements[i];
		const char *name = config_setting_name(s);
		/* the first byte settles most of them, without a call */
		if (name && name[0] == key[0] && strcmp(name, key) == 0)
			return s;
	}
	return NULL;
}

static void wrong_type(struct loader *L, const config_setting_t *s, const char *want)
{
	char k[128];
	lerr(L, s, "'%s' must be %s, not %s", key_of(s, k, sizeof(k)), want, type_name(config_setting_type(s)));
}

/* Report every member of group g whose name is not in keys, with a hint. */
static void check_keys(struct loader *L, const config_setting_t *g, const char *where, const char *const *keys,
		       size_t n)
{
	int len = config_setting_length(g);

	for (int i = 0; i < len; i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);
		const char *hint;
		bool known = false;

		if (!name)
			continue;
		for (size_t k = 0; k < n && !known; k++)
			known = name[0] == keys[k][0] && strcmp(name, keys[k]) == 0;
		if (known)
			continue;
		hint = closest_word(name, keys, n);
		if (hint)
			lerr(L, s, "unknown key '%s' in %s (did you mean '%s'?)", name, where, hint);
		else
			lerr(L, s, "unknown key '%s' in %s", name, where);
	}
}

static bool get_string(struct loader *L, const config_setting_t *s, bool nonempty, char **ret)
{
	const char *v;
	char k[128];

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		wrong_type(L, s, "a string");
		return false;
	}
	v = config_setting_get_string(s);
	if (nonempty && (!v || !*v)) {
		lerr(L, s, "'%s' must not be empty", key_of(s, k, sizeof(k)));
		return false;
	}
	free(*ret);
	*ret = xstrdup(v ? v : "");
	return true;
}

static bool get_int(struct loader *L, const config_setting_t *s, int64_t min, int64_t max, int64_t *ret)
{
	int64_t v;
	char k[128];

	if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64) {
		wrong_type(L, s, "an integer");
		return false;
	}
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		if (max == INT_MAX || max == INT64_MAX)
			lerr(L, s, "'%s' must be at least %lld (got %lld)", key_of(s, k, sizeof(k)), (long long)min,
			     (long long)v);
		else
			lerr(L, s, "'%s' must be between %lld and %lld (got %lld)", key_of(s, k, sizeof(k)),
			     (long long)min, (long long)max, (long long)v);
		return false;
	}
	*ret = v;
	return true;
}

static bool get_int32(struct loader *L, const config_setting_t *s, int min, int max, int *ret)
{
	int64_t v;
	if (!get_int(L, s, min, max, &v))
		return false;
	*ret = (int)v;
	return true;
}

static bool get_double(struct loader *L, const config_setting_t *s, double *ret)
{
	int t = config_setting_type(s);
	double v;
	char k[128];

	if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
		v = (double)config_setting_get_int64(s);
	else if (t == CONFIG_TYPE_FLOAT)
		v = config_setting_get_float(s);
	else {
		wrong_type(L, s, "a number");
		return false;
	}
	if (!isfinite(v)) {
		lerr(L, s, "'%s' must be a finite number", key_of(s, k, sizeof(k)));
		return false;
	}
	*ret = v;
	return true;
}

static bool get_bool(struct loader *L, const config_setting_t *s, bool *ret)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		wrong_type(L, s, "a boolean (true or false)");
		return false;
	}
	*ret = config_setting_get_bool(s) != 0;
	return true;
}

static bool want_group(struct loader *L, const config_setting_t *s)
{
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		wrong_type(L, s, "a group { ... }");
		return false;
	}
	return true;
}

/* dirname, without touching the argument; "." for a bare file name. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* path against dir unless absolute; trailing slashes go, so that names
 * built from it ("DIR/x.conf") read cleanly in messages. */
static char *resolve(const char *dir, const char *path)
{
	char *r = path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", dir, path);
	size_t len = strlen(r);

	while (len > 1 && r[len - 1] == '/')
		r[--len] = '\0';
	return r;
}

/* libconfig 1.5 silently wraps a decimal integer that does not fit in 32
 * bits unless it carries the L suffix (5000000000 reads as 705032704), so
 * the text is scanned for such literals first. Strings and comments are
 * skipped; names may hold digits and are skipped whole. The count of
 * them; each is reported unless L is NULL (the prefetch thread counts,
 * the loader reports). */
static size_t scan_wide_ints(struct loader *L, const char *file, const char *t, size_t len)
{
	int line = 1;
	size_t i = 0, n_wide = 0;

	while (i < len) {
		char ch = t[i];
		if (ch == '\n') {
			line++;
			i++;
		} else if (ch == '"') {
			for (i++; i < len && t[i] != '"'; i++) {
				if (t[i] == '\\' && i + 1 < len)
					i++;
				if (t[i] == '\n')
					line++;
			}
			i++;
		} else if (ch == '#' || (ch == '/' && i + 1 < len && t[i + 1] == '/')) {
			while (i < len && t[i] != '\n')
				i++;
		} else if (ch == '/' && i + 1 < len && t[i + 1] == '*') {
			for (i += 2; i < len && !(t[i] == '*' && i + 1 < len && t[i + 1] == '/'); i++)
				if (t[i] == '\n')
					line++;
			i += 2;
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '*' || ch == '@') {
			while (i < len && ((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
					   (t[i] >= '0' && t[i] <= '9') || t[i] == '_' || t[i] == '-' || t[i] == '*' ||
					   t[i] == '@'))
				i++;
		} else if (ch >= '0' && ch <= '9') {
			size_t start = i;
			bool plain = true;
			bool neg = start > 0 && t[start - 1] == '-';
			while (i < len && ((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'z') ||
					   (t[i] >= 'A' && t[i] <= 'Z') || t[i] == '.' ||
					   ((t[i] == '+' || t[i] == '-') && (t[i - 1] == 'e' || t[i - 1] == 'E')))) {
				if (!(t[i] >= '0' && t[i] <= '9'))
					plain = false;
				i++;
			}
			if (plain) {
				size_t n = i - start;
				/* 2147483647 has 10 digits: anything longer or larger is wide */
				bool wide = n > 10;
				if (!wide && n == 10) {
					char buf[16];
					memcpy(buf, t + start, n);
					buf[n] = '\0';
					wide = strtoll(buf, NULL, 10) > (neg ? 2147483648LL : 2147483647LL);
				}
				if (wide)
					n_wide++;
				if (wide && L)
					lerr_at(L, file, line,
						"integer %s%.*s does not fit in 32 bits: write it with an L suffix (%s%.*sL)",
						neg ? "-" : "", (int)(n > 40 ? 40 : n), t + start, neg ? "-" : "",
						(int)(n > 40 ? 40 : n), t + start);
			}
		} else {
			i++;
		}
	}
	return n_wide;
}

/* One libconfig file read and parsed, without a word said: parse_file
 * may run in the prefetch thread, and report_parsed says what went wrong,
 * in the loader's order. */
struct parsed {
	bool irregular; /* a job file that is not a regular file: not read */
	int read_rc;    /* file_read's */
	char *text;
	size_t len;
	bool has_nul;
	size_t n_wide;  /* integers too wide for libconfig (scan_wide_ints) */
	bool parse_ok;  /* config_read_string's */
};

/* Read path into cf (config_init'ed here). A NUL byte stops the parse: the
 * file is refused anyway. */
static void parse_file(const char *path, config_t *cf, struct parsed *p)
{
	char *dir;

	config_init(cf);
	p->read_rc = file_read(path, CFG_MAX_FILE, &p->text, &p->len);
	if (p->read_rc < 0)
		return;
	p->has_nul = memchr(p->text, '\0', p->len) != NULL;
	if (p->has_nul)
		return;
	p->n_wide = scan_wide_ints(NULL, path, p->text, p->len);
	dir = dir_of(path);
	config_set_include_dir(cf, dir);
	free(dir);
	p->parse_ok = config_read_string(cf, p->text) != 0;
}

/* Report what parse_file found; true when cf holds the file. */
static bool report_parsed(struct loader *L, const char *path, config_t *cf, const struct parsed *p)
{
	if (p->read_rc == -EFBIG) {
		lerr_at(L, path, 0, "file is larger than %u MB", CFG_MAX_FILE >> 20);
		return false;
	}
	if (p->read_rc == -EISDIR) {
		lerr_at(L, path, 0, "is a folder, not a file");
		return false;
	}
	if (p->read_rc < 0) {
		lerr_at(L, path, 0, "cannot read: %s", strerror(-p->read_rc));
		return false;
	}
	if (p->has_nul) {
		const char *nul = memchr(p->text, '\0', p->len);
		int line = 1;
		for (const char *c = p->text; c < nul; c++)
			line += *c == '\n';
		lerr_at(L, path, line, "NUL byte in the file (is this a binary file?)");
		return false;
	}
	if (p->n_wide > 0) {
		/* (refused, whatever it parsed to) */
		scan_wide_ints(L, path, p->text, p->len);
		return false;
	}
	if (!p->parse_ok) {
		const char *ef = config_error_file(cf);
		const char *msg = config_error_text(cf);
		if (msg && strcmp(msg, "memory exhausted") == 0)
			msg = "too deeply nested (parser memory exhausted)";
		lerr_at(L, ef ? ef : path, config_error_line(cf), "%s", msg ? msg : "syntax error");
		return false;
	}
	return true;
}

/* Read and parse one libconfig file. false with the error reported. */
static bool read_config(struct loader *L, const char *path, config_t *cf)
{
	struct parsed p = { 0 };
	bool ok;

	parse_file(path, cf, &p);
	ok = report_parsed(L, path, cf, &p);
	free(p.text);
	return ok;
}

/* The job files are parsed by a second thread, one file ahead of the
 * loader, which builds the jobs of one file while the next is parsed:
 * libconfig's parser is more than a third of the start-up of 100,000
 * jobs. The loader takes the files in order and says everything, so the
 * messages and their order are those of a load in one thread (which is
 * what a failed pthread_create falls back to). The thread also frees each
 * parse (and text) once the loader is done with it: freed where it was
 * allocated, the memory stays in the thread's malloc arena for the next
 * file. It also looks for the integers libconfig would wrap: the loader
 * scans a file again only to report them. */
#define PREFETCH_HELD 2 /* the file being built and the one parsed ahead */

struct prefetch_file {
	config_t cf;
	struct parsed p;
};

struct prefetch {
	char *const *paths;
	size_t n;
	struct prefetch_file *v;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t done;  /* files parsed, under mu */
	size_t taken; /* files the loader is done with, under mu */
	pthread_t tid;
	bool threaded;
};

static void prefetch_one(struct prefetch *pf, size_t i)
{
	struct stat st;
	struct prefetch_file *f = &pf->v[i];

	/* a FIFO or a device would block or never end */
	if (stat(pf->paths[i], &st) == 0 && !S_ISREG(st.st_mode)) {
		f->p.irregular = true;
		config_init(&f->cf);
		return;
	}
	parse_file(pf->paths[i], &f->cf, &f->p);
}

static void *prefetch_cb(void *arg)
{
	struct prefetch *pf = arg;
	size_t freed = 0, taken;

	for (size_t i = 0; i <= pf->n; i++) {
		/* i == n: only the last ones are left to free */
		pthread_mutex_lock(&pf->mu);
		while (i < pf->n ? i >= pf->taken + PREFETCH_HELD : pf->taken < pf->n)
			pthread_cond_wait(&pf->cv, &pf->mu);
		taken = pf->taken;
		pthread_mutex_unlock(&pf->mu);
		for (; freed < taken; freed++) {
			config_destroy(&pf->v[freed].cf);
			freep(&pf->v[freed].p.text);
		}
		if (i == pf->n)
			break;
		prefetch_one(pf, i);
		pthread_mutex_lock(&pf->mu);
		pf->done = i + 1;
		pthread_cond_broadcast(&pf->cv);
		pthread_mutex_unlock(&pf->mu);
	}
	return NULL;
}

static void prefetch_start(struct prefetch *pf, char *const *paths, size_t n)
{
	sigset_t all, old;

	memset(pf, 0, sizeof(*pf));
	pf->paths = paths;
	pf->n = n;
	pf->v = xcalloc(n ? n : 1, sizeof(*pf->v));
	if (n < 2)
		return;
	pthread_mutex_init(&pf->mu, NULL);
	pthread_cond_init(&pf->cv, NULL);
	/* signals stay with the main thread (libevent's handlers) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pf->threaded = pthread_create(&pf->tid, NULL, prefetch_cb, pf) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!pf->threaded) {
		pthread_cond_destroy(&pf->cv);
		pthread_mutex_destroy(&pf->mu);
	}
}

/* File i, parsed; the loader takes them in order. */
static struct prefetch_file *prefetch_get(struct prefetch *pf, size_t i)
{
	if (!pf->threaded) {
		prefetch_one(pf, i);
		return &pf->v[i];
	}
	pthread_mutex_lock(&pf->mu);
	while (pf->done <= i)
		pthread_cond_wait(&pf->cv, &pf->mu);
	pthread_mutex_unlock(&pf->mu);
	return &pf->v[i];
}

/* The loader is done with file i: its parse is freed. */
static void prefetch_put(struct prefetch *pf, size_t i)
{
	if (!pf->threaded) {
		config_destroy(&pf->v[i].cf);
		freep(&pf->v[i].p.text);
		return;
	}
	pthread_mutex_lock(&pf->mu);
	pf->taken = i + 1;
	pthread_cond_broadcast(&pf->cv);
	pthread_mutex_unlock(&pf->mu);
}

static void prefetch_end(struct prefetch *pf)
{
	if (pf->threaded) {
		pthread_join(pf->tid, NULL);
		pthread_cond_destroy(&pf->cv);
		pthread_mutex_destroy(&pf->mu);
	}
	free(pf->v);
}

/* ---- recipients ---- */

static bool var_name_ok(struct loader *L, const config_setting_t *at, const char *file, int line, const char *name)
{
	if (strncmp(name, "system__", 8) == 0) {
		if (at)
			lerr(L, at, "variable '%s': names starting 'system__' are reserved by ElevenLabs", name);
		else
			lerr_at(L, file, line, "variable '%s': names starting 'system__' are reserved by ElevenLabs",
				name);
		return false;
	}
	return true;
}

static void parse_variables(struct loader *L, const config_setting_t *g, struct recipient *r)
{
	int n;

	if (!want_group(L, g))
		return;
	n = config_setting_length(g);
	r->vars = xcalloc((size_t)n, sizeof(*r->vars));
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);
		struct var v = { 0 };

		if (!var_name_ok(L, s, NULL, 0, name))
			continue;
		switch (config_setting_type(s)) {
		case CONFIG_TYPE_STRING:
			v.type = VAR_STRING;
			v.s = xstrdup(config_setting_get_string(s));
			break;
		case CONFIG_TYPE_INT:
		case CONFIG_TYPE_INT64:
			v.type = VAR_INT;
			v.i = config_setting_get_int64(s);
			break;
		case CONFIG_TYPE_FLOAT:
			v.type = VAR_FLOAT;
			v.f = config_setting_get_float(s);
			if (!isfinite(v.f)) {
				lerr(L, s, "variable '%s' must be a finite number", name);
				continue;
			}
			break;
		case CONFIG_TYPE_BOOL:
			v.type = VAR_BOOL;
			v.b = config_setting_get_bool(s) != 0;
			break;
		default:
			lerr(L, s, "variable '%s' must be a string, an integer, a number or a boolean, not %s", name,
			     type_name(config_setting_type(s)));
			continue;
		}
		v.name = xstrdup(name);
		r->vars[r->n_vars++] = v;
	}
}

static bool recipient_target_ok(struct loader *L, const config_setting_t *at, const char *file, int line,
				const struct recipient *r)
{
	const char *msg = NULL;
	char *bad = NULL;

	if (r->phone_number && r->whatsapp_user_id)
		msg = "a recipient has either 'phone_number' or 'whatsapp_user_id', not both";
	else if (!r->phone_number && !r->whatsapp_user_id)
		msg = "a recipient needs 'phone_number' or 'whatsapp_user_id'";
	else if (r->phone_number && !e164_valid(r->phone_number))
		msg = bad = xasprintf("'%s' is not an E.164 phone number ('+' and 8 to 15 digits)", r->phone_number);
	if (!msg)
		return true;
	if (at)
		lerr(L, at, "%s", msg);
	else
		lerr_at(L, file, line, "%s", msg);
	free(bad);
	return false;
}

/* The string fields of a recipient, by the name they have both as a key of
 * a recipient group and as a CSV column (the dashboard's names). */
static const struct {
	const char *key;
	size_t off;
} recipient_strings[] = {
	{ "id", offsetof(struct recipient, id) },
	{ "phone_number", offsetof(struct recipient, phone_number) },
	{ "whatsapp_user_id", offsetof(struct recipient, whatsapp_user_id) },
	{ "language", offsetof(struct recipient, language) },
	{ "first_message", offsetof(struct recipient, first_message) },
	{ "system_prompt", offsetof(struct recipient, system_prompt) },
	{ "voice_id", offsetof(struct recipient, voice_id) },
	{ "timezone", offsetof(struct recipient, timezone) },
};

static char **recipient_string(struct recipient *r, size_t i)
{
	return (char **)((char *)r + recipient_strings[i].off);
}

/* A recipient's own timezone must be a zone the tz database knows. */
static bool recipient_zone_ok(struct loader *L, const config_setting_t *at, const char *file, int line,
			      struct recipient *r)
{
	char *cause = NULL;

	if (!r->timezone || tz_cache_get(L->c->zones, r->timezone, &r->tz, &cause) == 0)
		return true;
	if (at)
		lerr(L, at, "'timezone': %s", cause ? cause : "unknown timezone");
	else
		lerr_at(L, file, line, "column 'timezone': %s", cause ? cause : "unknown timezone");
	free(cause);
	return false;
}

static void parse_recipient(struct loader *L, const config_setting_t *g, struct recipient *r)
{
	const config_setting_t *s;
	bool ok = true;

	r->file = xstrdup(setting_file(L, g));
	r->line = setting_line(g);
	if (!want_group(L, g))
		return;
	check_keys(L, g, "a recipient", recipient_keys, ARRAY_SIZE(recipient_keys));
	for (size_t i = 0; i < ARRAY_SIZE(recipient_strings); i++) {
		s = member(g, recipient_strings[i].key);
		if (s && !get_string(L, s, true, recipient_string(r, i)))
			ok = false;
	}
	s = member(g, "variables");
	if (s)
		parse_variables(L, s, r);
	if (ok)
		recipient_target_ok(L, g, NULL, 0, r);
	if (r->timezone)
		recipient_zone_ok(L, member(g, "timezone"), NULL, 0, r);
}

static void parse_recipients(struct loader *L, const config_setting_t *s, struct recipient **ret, size_t *ret_n)
{
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		wrong_type(L, s, "a list of groups, ( { ... }, { ... } )");
		return;
	}
	n = config_setting_length(s);
	*ret = xcalloc((size_t)n, sizeof(**ret));
	*ret_n = (size_t)n;
	for (int i = 0; i < n; i++)
		parse_recipient(L, config_setting_get_elem(s, (unsigned)i), &(*ret)[i]);
}

/* A CSV column is a recipient_strings index, or a dynamic variable. */
#define COL_VAR SIZE_MAX

/* Turn one CSV file into recipients. Errors name the CSV file and row. */
static void load_csv(struct loader *L, const config_setting_t *at, const char *path, struct recipient **ret,
		     size_t *ret_n)
{
	char *text = NULL;
	size_t len = 0, n_err = 0, n_out = 0;
	struct csv *csv = NULL;
	struct diag cd = { 0 };
	size_t *cols = NULL;
	const struct csv_record *h;
	bool has_target = false;
	struct recipient *out = NULL;
	int r;

	/* a FIFO or a device would block or never end */
	{
		struct stat st;
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			char k[128];
			if (!at)
				lerr_at(L, path, 0, "not a regular file");
			else
				lerr(L, at, "'%s': '%s' is not a regular file", key_of(at, k, sizeof(k)), path);
			return;
		}
	}
	r = file_read(path, CFG_MAX_FILE, &text, &len);
	if (r < 0) {
		char k[128];
		if (!at)
			lerr_at(L, path, 0, "cannot read: %s", strerror(-r));
		else if (r == -EFBIG)
			lerr(L, at, "'%s': recipients file '%s' is larger than %u MB", key_of(at, k, sizeof(k)), path,
			     CFG_MAX_FILE >> 20);
		else
			lerr(L, at, "'%s': cannot read '%s': %s", key_of(at, k, sizeof(k)), path, strerror(-r));
		return;
	}
	r = csv_parse(path, text, len, &csv, &cd);
	if (r < 0) {
		L->failed = true;
		if (!L->quiet)
			diag_move(L->d, &cd);
	}
	diag_clear(&cd);
	if (csv->n_records == 0) {
		if (r == 0)
			lerr_at(L, path, 1, "empty file: a header row with 'phone_number' or 'whatsapp_user_id' is required");
		goto out;
	}
	h = &csv->records[0];
	cols = xcalloc(h->n_fields, sizeof(*cols));
	for (size_t i = 0; i < h->n_fields; i++) {
		const char *name = h->fields[i];
		cols[i] = COL_VAR;
		for (size_t k = 0; k < ARRAY_SIZE(recipient_strings); k++)
			if (strcmp(name, recipient_strings[k].key) == 0)
				cols[i] = k;
		if (strcmp(name, "phone_number") == 0 || strcmp(name, "whatsapp_user_id") == 0)
			has_target = true;
		if (!*name)
			lerr_at(L, path, h->row, "column %zu of the header has no name", i + 1);
		else if (cols[i] == COL_VAR)
			var_name_ok(L, NULL, path, h->row, name);
		for (size_t k = 0; k < i; k++)
			if (*name && strcmp(name, h->fields[k]) == 0)
				lerr_at(L, path, h->row, "column '%s' appears twice in the header", name);
	}
	if (!has_target) {
		static const char *const targets[] = { "phone_number", "whatsapp_user_id" };
		const char *hint = NULL, *col = NULL;
		for (size_t i = 0; i < h->n_fields && !hint; i++)
			if ((hint = closest_word(h->fields[i], targets, ARRAY_SIZE(targets))))
				col = h->fields[i];
		if (hint)
			lerr_at(L, path, h->row,
				"the header needs a 'phone_number' or 'whatsapp_user_id' column (is '%s' meant to be '%s'?)",
				col, hint);
		else
			lerr_at(L, path, h->row, "the header needs a 'phone_number' or 'whatsapp_user_id' column");
		goto out;
	}
	out = xcalloc(csv->n_records, sizeof(*out));
	for (size_t i = 1; i < csv->n_records; i++) {
		const struct csv_record *rec = &csv->records[i];
		struct recipient *rc = &out[n_out];
		size_t nv = 0;

		rc->file = xstrdup(path);
		rc->line = rec->row;
		rc->vars = xcalloc(rec->n_fields, sizeof(*rc->vars));
		for (size_t f = 0; f < rec->n_fields && f < h->n_fields; f++) {
			const char *v = rec->fields[f];
			if (!*v)
				continue; /* an empty cell sets nothing */
			if (cols[f] != COL_VAR) {
				*recipient_string(rc, cols[f]) = xstrdup(v);
				continue;
			}
			rc->vars[nv].name = xstrdup(h->fields[f]);
			rc->vars[nv].type = VAR_STRING;
			rc->vars[nv].s = xstrdup(v);
			nv++;
		}
		rc->n_vars = nv;
		n_out++;
		if ((!recipient_target_ok(L, NULL, path, rec->row, rc) ||
		     !recipient_zone_ok(L, NULL, path, rec->row, rc)) &&
		    ++n_err >= CSV_MAX_ROW_ERRORS) {
			lerr_at(L, path, rec->row, "too many errors, giving up on this file");
			break;
		}
	}
out:
	*ret = out;
	*ret_n = n_out;
	free(cols);
	csv_free(csv);
	free(text);
}

/* ---- jobs ---- */

/* The setting for key: the job's own, else the one in defaults. quiet is set
 * for a default, whose problems were reported when defaults was read. */
static const config_setting_t *pick(struct loader *L, const config_setting_t *job, const config_setting_t *defs,
				    const char *key)
{
	const config_setting_t *s = job ? member(job, key) : NULL;

	L->quiet = false;
	if (s)
		return s;
	s = defs ? member(defs, key) : NULL;
	if (s && job)
		L->quiet = true;
	return s;
}

static void job_string(struct loader *L, const config_setting_t *job, const config_setting_t *defs,
		       const char *key, char **dst)
{
	const config_setting_t *s = pick(L, job, defs, key);
	if (s)
		get_string(L, s, true, dst);
}

static void job_int(struct loader *L, const config_setting_t *job, const config_setting_t *defs, const char *key,
		    int min, int max, int *dst)
{
	const config_setting_t *s = pick(L, job, defs, key);
	if (s)
		get_int32(L, s, min, max, dst);
}

/* The retry policy: each of its keys from the job's group, else from the
 * defaults' group, else built in; max_delay >= delay is checked on the
 * result. */
static void job_retry(struct loader *L, const config_setting_t *job, const config_setting_t *defs,
		      struct retry_policy *rp)
{
	const config_setting_t *jg = job ? member(job, "retry") : NULL;
	const config_setting_t *dg = defs ? member(defs, "retry") : NULL;
	const config_setting_t *where = jg ? jg : dg;
	const config_setting_t *levels[2] = { dg, jg };
	bool ok = true, level_quiet[2] = { job != NULL, false };

	for (int lv = 0; lv < 2; lv++) {
		const config_setting_t *g = levels[lv], *s;
		if (!g)
			continue;
		L->quiet = level_quiet[lv];
		if (!want_group(L, g)) {
			ok = false;
			continue;
		}
		check_keys(L, g, "'retry'", retry_keys, ARRAY_SIZE(retry_keys));
		if ((s = member(g, "max_retries")))
			ok &= get_int32(L, s, 0, 100, &rp->max_retries);
		if ((s = member(g, "delay")))
			ok &= get_int32(L, s, 0, INT_MAX, &rp->delay);
		if ((s = member(g, "max_delay")))
			ok &= get_int32(L, s, 0, INT_MAX, &rp->max_delay);
		if ((s = member(g, "backoff"))) {
			double v;
			if (!get_double(L, s, &v))
				ok = false;
			else if (v < 1.0 || v > 1000.0) {
				lerr(L, s, "'retry.backoff' must be between 1.0 and 1000 (got %g)", v);
				ok = false;
			} else
				rp->backoff = v;
		}
	}
	L->quiet = job && !jg;
	if (ok && where && rp->max_delay < rp->delay)
		lerr(L, where, "'retry.max_delay' (%d) must be at least 'retry.delay' (%d)", rp->max_delay, rp->delay);
	L->quiet = false;
}

static void job_whatsapp(struct loader *L, const config_setting_t *job, const config_setting_t *defs,
			 struct jobspec *j)
{
	const config_setting_t *g = pick(L, job, defs, "whatsapp"), *s;

	if (!g)
		return;
	if (!want_group(L, g))
		return;
	check_keys(L, g, "'whatsapp'", whatsapp_keys, ARRAY_SIZE(whatsapp_keys));
	j->has_whatsapp = true;
	if ((s = member(g, "phone_number_id")))
		get_string(L, s, true, &j->whatsapp.phone_number_id);
	if ((s = member(g, "permission_template_name")))
		get_string(L, s, true, &j->whatsapp.template_name);
	else
		lerr(L, g, "'whatsapp' needs 'permission_template_name'");
	if ((s = member(g, "permission_template_language_code")))
		get_string(L, s, true, &j->whatsapp.template_language_code);
	else
		lerr(L, g, "'whatsapp' needs 'permission_template_language_code'");
}

static void add_recipients(struct jobspec *j, struct recipient *v, size_t n)
{
	if (!n) {
		free(v);
		return;
	}
	j->recipients = xrealloc(j->recipients, (j->n_recipients + n) * sizeof(*v));
	memcpy(j->recipients + j->n_recipients, v, n * sizeof(*v));
	j->n_recipients += n;
	free(v);
}

/* A WhatsApp batch (whatsapp_params) calls whatsapp_user_id recipients and a
 * telephony batch calls phone numbers; a mix is refused by the API, so it is
 * reported here, once per job at its first offender (a CSV may hold 10,000). */
static void check_channel(struct loader *L, const struct jobspec *j)
{
	const struct recipient *first = NULL;
	size_t n = 0;

	for (size_t i = 0; i < j->n_recipients; i++) {
		const struct recipient *r = &j->recipients[i];
		bool wrong = j->has_whatsapp ? r->phone_number != NULL : r->whatsapp_user_id != NULL;
		if (wrong && n++ == 0)
			first = r;
	}
	if (!first)
		return;
	if (j->has_whatsapp)
		lerr_at(L, first->file, first->line,
			"job '%s' is a WhatsApp job ('whatsapp' group): a recipient needs 'whatsapp_user_id', "
			"not 'phone_number' (%zu recipient%s)",
			j->name ? j->name : "?", n, n == 1 ? "" : "s");
	else
		lerr_at(L, first->file, first->line,
			"a recipient with 'whatsapp_user_id' needs a 'whatsapp' group in job '%s' (%zu recipient%s)",
			j->name ? j->name : "?", n, n == 1 ? "" : "s");
}

/* A string key with a fixed set of values: its index in names, or -1. */
static int job_choice(struct loader *L, const config_setting_t *job, const config_setting_t *defs, const char *key,
		      const char *const *names, size_t n)
{
	const config_setting_t *s = pick(L, job, defs, key);
	char *v = NULL, *list = NULL;
	int r = -1;

	if (!s || !get_string(L, s, false, &v))
		goto out;
	for (size_t i = 0; i < n && r < 0; i++)
		if (strcmp(v, names[i]) == 0)
			r = (int)i;
	if (r >= 0)
		goto out;
	list = xstrdup("");
	for (size_t i = 0; i < n; i++) {
		char *t = xasprintf("%s%s\"%s\"", list, i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
		free(list);
		list = t;
	}
	lerr(L, s, "'%s' must be %s (got \"%s\")", key, list, v);
out:
	free(list);
	free(v);
	L->quiet = false;
	return r;
}

/* One end of the calling hours, "HH:MM[:SS]", into *dst; false when it is
 * not one. */
static bool hours_clock(struct loader *L, const config_setting_t *e, const char *which, int *dst)
{
	char *v = NULL;
	bool ok = true;

	if (!get_string(L, e, true, &v)) {
		ok = false;
	} else if (window_parse_clock(v, dst) < 0) {
		lerr(L, e, "'calling_hours.%s' must be a time of day \"HH:MM[:SS]\" (got \"%s\")", which, v);
		ok = false;
	}
	free(v);
	return ok;
}

/* The calling_hours group as a window, or NULL when it is not a group. */
static struct window *hours_window(struct loader *L, const config_setting_t *g)
{
	const config_setting_t *s, *s_from, *s_to;
	struct window *w;
	char *v = NULL;
	bool ok = true;

	if (!want_group(L, g))
		return NULL;
	w = xcalloc(1, sizeof(*w));
	w->days = CALENDAR_ALL_WEEKDAYS;
	check_keys(L, g, "'calling_hours'", hours_keys, ARRAY_SIZE(hours_keys));
	if ((s = member(g, "days")) && get_string(L, s, true, &v)) {
		char *cause = NULL;
		if (calendar_parse_weekdays(v, &w->days, &cause) < 0)
			lerr(L, s, "'calling_hours.days' \"%s\": %s", v, cause);
		free(cause);
	}
	free(v);
	s_from = member(g, "from");
	s_to = member(g, "to");
	if (!s_from || !s_to) {
		lerr(L, g, "'calling_hours' needs 'from' and 'to' (e.g. from = \"09:00\"; to = \"20:00\";)");
		ok = false;
	}
	if (s_from && !hours_clock(L, s_from, "from", &w->from))
		ok = false;
	if (s_to && !hours_clock(L, s_to, "to", &w->to))
		ok = false;
	if (ok && w->from == w->to)
		lerr(L, s_to,
		     "'calling_hours.from' and 'calling_hours.to' are both %s: the window would be empty "
		     "(leave out 'calling_hours' to call at any time)",
		     config_setting_get_string(s_to));
	return w;
}

/* blackout_dates into *w; without calling hours they make a window of
 * their own that is open all day. */
static void hours_blackout(struct loader *L, const config_setting_t *b, struct window **w)
{
	int t = config_setting_type(b), n;

	if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
		wrong_type(L, b, "an array of dates, [ \"2026-12-25\", ... ]");
		return;
	}
	if (!*w) {
		*w = xcalloc(1, sizeof(**w));
		(*w)->days = CALENDAR_ALL_WEEKDAYS;
		(*w)->all_day = true;
	}
	n = config_setting_length(b);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(b, (unsigned)i);
		const char *d = config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e) : NULL;
		int64_t day;
		if (!d || window_parse_date(d, &day) < 0) {
			if (d)
				lerr(L, e, "'blackout_dates': \"%s\" is not a date \"YYYY-MM-DD\"", d);
			else
				lerr(L, e, "'blackout_dates': each element must be a date string \"YYYY-MM-DD\", not %s",
				     type_name(config_setting_type(e)));
			continue;
		}
		window_add_blackout(*w, day);
	}
}

/* calling_hours and blackout_dates into one window. Each of the two keys is
 * taken whole from the job or else from defaults (a job's calling_hours
 * replaces the defaults' group, it does not merge with it). */
static void job_hours(struct loader *L, const config_setting_t *job, const config_setting_t *defs,
		      struct jobspec *j)
{
	const config_setting_t *g = pick(L, job, defs, "calling_hours"), *b;
	struct window *w = NULL;

	if (g)
		w = hours_window(L, g);
	b = pick(L, job, defs, "blackout_dates");
	if (b)
		hours_blackout(L, b, &w);
	L->quiet = false;
	j->hours = w;
}

static bool get_span(struct loader *L, const config_setting_t *s, int64_t min, int64_t *ret);

/* A touch's status list: "completed", "failed", "voicemail", "cancelled",
 * "not_dialled". */
static unsigned touch_statuses(struct loader *L, const config_setting_t *s)
{
	unsigned bits = 0;
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST) {
		wrong_type(L, s, "a list of strings, e.g. [\"voicemail\", \"not_dialled\"]");
		return 0;
	}
	n = config_setting_length(s);
	if (n == 0)
		lerr(L, s, "'follow_up.status' is empty: leave it out to take every status");
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v = config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e) : NULL;
		unsigned k;

		for (k = 0; v && touch_status_name(k); k++)
			if (strcmp(v, touch_status_name(k)) == 0)
				break;
		if (!v || !touch_status_name(k)) {
			lerr(L, e, "'follow_up.status': \"%s\" is not one of completed, failed, voicemail, cancelled, "
				   "not_dialled", v ? v : "?");
			continue;
		}
		bits |= 1u << k;
	}
	return bits;
}

/* call_successful = ["failure", "unknown"] (or one string). */
static unsigned touch_verdicts(struct loader *L, const config_setting_t *s)
{
	unsigned bits = 0;
	bool list = config_setting_type(s) == CONFIG_TYPE_ARRAY || config_setting_type(s) == CONFIG_TYPE_LIST;
	int n = list ? config_setting_length(s) : 1;

	if (!list && config_setting_type(s) != CONFIG_TYPE_STRING) {
		wrong_type(L, s, "a string or a list of strings (success, failure, unknown)");
		return 0;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = list ? config_setting_get_elem(s, (unsigned)i) : s;
		const char *v = config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e) : NULL;
		enum conv_verdict c = v ? conv_verdict_from_name(v) : CONV_VERDICT__MAX;

		/* (conv_verdict_from_name answers unknown for any other word) */
		if (!v || (c == CONV_UNKNOWN && strcmp(v, "unknown") != 0)) {
			lerr(L, e, "'follow_up.call_successful': \"%s\" is not one of success, failure, unknown",
			     v ? v : "?");
			continue;
		}
		bits |= 1u << c;
	}
	return bits;
}

/* data = { renewal_decision = "undecided"; callback = true; }: each value
 * as compact JSON. */
static void touch_data(struct loader *L, const config_setting_t *g, struct touch *t)
{
	int n;

	if (!want_group(L, g))
		return;
	n = config_setting_length(g);
	t->data = xcalloc((size_t)n + 1, sizeof(*t->data));
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		char *v = NULL;

		switch (config_setting_type(e)) {
		case CONFIG_TYPE_STRING:
		{
			struct sbuf b = { 0 };
			sbuf_add_json_str(&b, config_setting_get_string(e));
			v = sbuf_steal(&b, NULL);
			break;
		}
		case CONFIG_TYPE_INT:
		case CONFIG_TYPE_INT64:
			v = xasprintf("%lld", (long long)config_setting_get_int64(e));
			break;
		case CONFIG_TYPE_BOOL:
			v = xstrdup(config_setting_get_bool(e) ? "true" : "false");
			break;
		default:
			lerr(L, e, "'follow_up.data.%s' must be a string, an integer or a boolean, not %s",
			     config_setting_name(e), type_name(config_setting_type(e)));
			continue;
		}
		t->data[t->n_data].id = xstrdup(config_setting_name(e));
		t->data[t->n_data++].value = v;
	}
}

/* call_name_suffix: the words in the call_name's parentheses. They must
 * not read as another part of the occurrence ("resume 2", a zone). */
static void touch_suffix(struct loader *L, const config_setting_t *s, struct touch *t)
{
	char *v = NULL;
	bool ok;

	if (!get_string(L, s, true, &v))
		return;
	ok = strlen(v) <= 40 && strncmp(v, "resume", 6) != 0 && strncmp(v, "deferred", 8) != 0;
	for (const char *p = v; ok && *p; p++)
		ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		     *p == ' ' || *p == '-' || *p == '.' || *p == '_';
	if (ok) {
		const struct tz *z;
		char *cause = NULL;
		if (tz_cache_get(L->c->zones, v, &z, &cause) == 0)
			ok = false; /* a zone's name: a zone group's part */
		free(cause);
	}
	if (!ok) {
		lerr(L, s, "'follow_up.call_name_suffix' \"%s\": 1 to 40 letters, digits, blanks, '-', '.' or '_', "
			   "not beginning with 'resume' or 'deferred' and not a time zone's name", v);
		free(v);
		return;
	}
	t->suffix = v;
}

/* follow_up = ( { after = "2d"; status = ["voicemail"]; ... }, ... ):
 * the touches of a multi-touch campaign, each taken whole from the job or
 * else from defaults. */
static void job_follow_up(struct loader *L, const config_setting_t *job, const config_setting_t *defs,
			  struct jobspec *j)
{
	const config_setting_t *l = pick(L, job, defs, "follow_up");
	int n;

	if (!l)
		goto out;
	if (config_setting_type(l) != CONFIG_TYPE_LIST) {
		wrong_type(L, l, "a list of groups: follow_up = ( { after = \"2d\"; status = [\"voicemail\"]; } );");
		goto out;
	}
	n = config_setting_length(l);
	if (n > 20) {
		lerr(L, l, "'follow_up' has %d touches; at most 20", n);
		goto out;
	}
	j->touches = xcalloc((size_t)n + 1, sizeof(*j->touches));
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(l, (unsigned)i), *s;
		struct touch *t = &j->touches[j->n_touches++];
		struct recipient tmp = { 0 };

		t->line = setting_line(g);
		if (!want_group(L, g))
			continue;
		check_keys(L, g, "'follow_up'", touch_keys, ARRAY_SIZE(touch_keys));
		s = member(g, "after");
		if (!s)
			lerr(L, g, "follow-up %d needs 'after' (a time span from the end of the previous touch, e.g. "
				   "after = \"2d\";)", i + 1);
		else
			(void)get_span(L, s, 0, &t->after_s);
		if ((s = member(g, "status")))
			t->status = touch_statuses(L, s);
		if ((s = member(g, "call_successful")))
			t->verdicts = touch_verdicts(L, s);
		if ((s = member(g, "data")))
			touch_data(L, s, t);
		if ((s = member(g, "call_name_suffix")))
			touch_suffix(L, s, t);
		if ((s = member(g, "first_message")))
			(void)get_string(L, s, true, &t->first_message);
		if ((s = member(g, "variables"))) {
			parse_variables(L, s, &tmp);
			t->vars = tmp.vars;
			t->n_vars = tmp.n_vars;
		}
		/* Each of the two keys is the touch's, else the job's: the
		 * touch's window is made of both. */
		{
			const config_setting_t *ch = member(g, "calling_hours"),
					       *bo = member(g, "blackout_dates");
			if (ch && !j->hours && !L->failed)
				lerr(L, g, "follow-up %d has calling hours but the job has none: give the job "
					   "'calling_hours' too", i + 1);
			if (ch)
				t->hours = hours_window(L, ch);
			else if (bo && j->hours) {
				t->hours = xcalloc(1, sizeof(*t->hours));
				t->hours->days = j->hours->days;
				t->hours->from = j->hours->from;
				t->hours->to = j->hours->to;
				t->hours->all_day = j->hours->all_day;
			}
			if (bo)
				hours_blackout(L, bo, &t->hours);
			else if (t->hours && j->hours)
				for (size_t k = 0; k < j->hours->n_blackout; k++)
					window_add_blackout(t->hours, j->hours->blackout[k]);
		}
	}
	for (size_t a = 0; a < j->n_touches; a++)
		for (size_t b = a + 1; b < j->n_touches; b++) {
			char *x = jobspec_touch_suffix(j, (int)a + 1), *y = jobspec_touch_suffix(j, (int)b + 1);
			if (strcmp(x, y) == 0)
				lerr_at(L, j->file, j->touches[b].line,
					"follow-ups %zu and %zu have one call_name suffix \"%s\": each touch needs "
					"its own", a + 1, b + 1, x);
			free(x);
			free(y);
		}
out:
	L->quiet = false;
}

/* The rules between the recurrence keys of one job, once each is read. Keys
 * that a job inherits from defaults are fine without `repeat` (defaults serve
 * one-off jobs too); written in the job itself they are a mistake. */
static void job_check_repeat(struct loader *L, const config_setting_t *job, const config_setting_t *s_repeat,
			     struct jobspec *j)
{
	static const char *const needs_repeat[] = { "until", "count", "overlap" };
	const config_setting_t *s_count = member(job, "count");
	const config_setting_t *s_until = member(job, "until");
	int64_t first;

	if (!s_repeat) {
		for (size_t i = 0; i < ARRAY_SIZE(needs_repeat); i++) {
			const config_setting_t *s = member(job, needs_repeat[i]);
			if (s)
				lerr(L, s, "'%s' needs 'repeat': without it the job runs once", needs_repeat[i]);
		}
		return;
	}
	if (j->count > 0 && !j->anchored)
		lerr(L, s_count ? s_count : job,
		     "'count' needs 'start' or 'scheduled_time_unix': the occurrences are counted from it");
	if (!j->repeat || !j->tz || !j->anchored)
		return;
	if (j->has_until && j->until < j->start) {
		lerr(L, s_until ? s_until : job, "'until' is before 'start'");
		return;
	}
	if (calendar_next(j->repeat, j->tz, j->start - 1, &first) < 0) {
		char *text = calendar_format(j->repeat);
		lerr(L, s_repeat, "'repeat' \"%s\" has no occurrence in the %d years from 'start'", text,
		     CALENDAR_SEARCH_YEARS);
		free(text);
	} else if (j->has_until && first > j->until) {
		lerr(L, s_until ? s_until : job, "'until' is before the first occurrence of 'repeat' after 'start'");
	}
}

/* The built-in values of the keys that have one, and where the job is. */
static void job_init(struct loader *L, const config_setting_t *self, struct jobspec *j)
{
	j->retry = (struct retry_policy){ DEF_RETRY_MAX, DEF_RETRY_DELAY, DEF_RETRY_BACKOFF, DEF_RETRY_MAX_DELAY };
	j->max_lateness = DEF_MAX_LATENESS;
	j->enabled = true;
	j->on_removal = ON_REMOVAL_CANCEL;
	j->file = xstrdup(setting_file(L, self));
	j->line = setting_line(self);
}

/* The group's keys, and the name: every job has its own, so defaults may
 * not give one. */
static void job_name(struct loader *L, const config_setting_t *job, const config_setting_t *defs,
		     struct jobspec *j)
{
	const config_setting_t *s;

	if (!job) {
		check_keys(L, defs, "'defaults'", job_keys, ARRAY_SIZE(job_keys));
		if ((s = member(defs, "name")))
			lerr(L, s, "'name' cannot have a default: every job has its own");
		return;
	}
	check_keys(L, job, "a job", job_keys, ARRAY_SIZE(job_keys));
	s = member(job, "name");
	if (!s)
		lerr(L, job, "a job needs a 'name'");
	else if (get_string(L, s, false, &j->name) && !job_name_valid(j->name))
		lerr(L, s, "job name '%s' is not valid: 1 to %d of A-Z a-z 0-9 . _ -", j->name, JOB_NAME_MAX);
}

/* The agent and the keys a submit sends as they are written. */
static void job_agent(struct loader *L, const config_setting_t *job, const config_setting_t *defs,
		      struct jobspec *j)
{
	job_string(L, job, defs, "agent_id", &j->agent_id);
	job_string(L, job, defs, "phone_number_id", &j->phone_number_id);
	job_string(L, job, defs, "call_name", &j->call_name);
	job_string(L, job, defs, "branch_id", &j->branch_id);
	job_string(L, job, defs, "environment", &j->environment);
	job_int(L, job, defs, "target_concurrency_limit", 1, INT_MAX, &j->target_concurrency_limit);
	job_int(L, job, defs, "ringing_timeout_secs", 1, 999, &j->ringing_timeout_secs);
}

/* When a run may still be submitted, whether the job runs at all and what
 * becomes of its batch when the job is removed. */
static void job_policy(struct loader *L, const config_setting_t *job, const config_setting_t *defs,
		       struct jobspec *j)
{
	static const char *const removals[] = { [ON_REMOVAL_CANCEL] = "cancel", [ON_REMOVAL_KEEP] = "keep" };
	const config_setting_t *s;
	int v;

	/* A run later than the state keeps its record could be submitted twice:
	 * the record that it ran may be gone when it comes due again. */
	if ((s = pick(L, job, defs, "max_lateness")) && get_int32(L, s, 0, INT_MAX, &j->max_lateness) &&
	    !L->retention_bad && j->max_lateness > L->c->state_retention)
		lerr(L, s,
		     "'max_lateness' (%d) must be at most 'state_retention' (%d): the state keeps the record of a "
		     "run only that long after it ended, so a run later than that could be submitted twice",
		     j->max_lateness, L->c->state_retention);
	job_int(L, job, defs, "submit_ahead", 0, INT_MAX, &j->submit_ahead);
	if ((s = pick(L, job, defs, "enabled")))
		get_bool(L, s, &j->enabled);
	if ((v = job_choice(L, job, defs, "on_removal", removals, ARRAY_SIZE(removals))) >= 0)
		j->on_removal = (enum on_removal)v;
}

/* The recurrence keys and the calling hours (issue 8), each read on its
 * own; job_check_repeat holds them together once the start is known. The
 * repeat setting, if any. */
static const config_setting_t *job_recurrence(struct loader *L, const config_setting_t *job,
					      const config_setting_t *defs, struct jobspec *j)
{
	static const char *const overlaps[] = { "skip", "allow", "cancel_previous" };
	static const char *const outsides[] = { "defer", "skip" };
	const config_setting_t *s, *s_repeat = pick(L, job, defs, "repeat");
	int v;

	if (s_repeat) {
		char *text = NULL, *cause = NULL;
		if (get_string(L, s_repeat, true, &text) && calendar_parse(text, &j->repeat, &cause) < 0)
			lerr(L, s_repeat, "'repeat' \"%s\": %s", text, cause);
		free(cause);
		free(text);
	}
	job_int(L, job, defs, "count", 1, MAX_COUNT, &j->count);
	if ((v = job_choice(L, job, defs, "overlap", overlaps, ARRAY_SIZE(overlaps))) >= 0)
		j->overlap = (enum overlap_policy)v;
	if ((v = job_choice(L, job, defs, "outside_window", outsides, ARRAY_SIZE(outsides))) >= 0)
		j->outside = (enum outside_window)v;
	if ((s = pick(L, job, defs, "resume")))
		get_bool(L, s, &j->resume);
	job_hours(L, job, defs, j);
	L->quiet = false;
	return s_repeat;
}

/* The job's zone, loaded; the timezone setting, if any. L->quiet is left
 * as pick set it: the instant's own messages go back to it. */
static const config_setting_t *job_timezone(struct loader *L, const config_setting_t *job,
					    const config_setting_t *defs, struct jobspec *j)
{
	const config_setting_t *s_tz = pick(L, job, defs, "timezone");
	char *cause = NULL;

	if (!s_tz || !get_string(L, s_tz, true, &j->timezone))
		return s_tz;
	if (tz_cache_get(L->c->zones, j->timezone, &j->tz, &cause) < 0) {
		lerr(L, s_tz, "'timezone': %s", cause ? cause : "unknown timezone");
		freep(&j->timezone);
	}
	free(cause);
	return s_tz;
}

/* start as a wall time, made an instant in the job's zone (a wall time
 * needs the zone, so the timezone is read first). */
static void job_start_wall(struct loader *L, const config_setting_t *job, const config_setting_t *s_start,
			   const config_setting_t *s_tz, const config_setting_t *s_repeat, struct jobspec *j)
{
	char *text = NULL;
	struct civil cv;

	if (get_string(L, s_start, true, &text)) {
		if (civil_parse(text, &cv) < 0) {
			lerr(L, s_start, "'start' must be a wall time \"YYYY-MM-DD HH:MM[:SS]\" (got \"%s\")", text);
		} else {
			j->has_start = true;
			j->anchored = s_repeat != NULL;
			j->start_text = text;
			text = NULL;
			if (j->tz)
				j->start = tz_to_instant(j->tz, &cv, NULL);
			else if (!s_tz && job) {
				L->quiet = false;
				lerr(L, s_start, "'start' needs a 'timezone' (in the job or in defaults)");
			}
		}
	}
	free(text);
}

/* The job's instant: start or scheduled_time_unix. The two replace each
 * other as a pair: a job's own choice overrides whichever the defaults
 * made. */
static void job_instant(struct loader *L, const config_setting_t *job, const config_setting_t *defs,
			const config_setting_t *s_tz, const config_setting_t *s_repeat, struct jobspec *j)
{
	const config_setting_t *js = job ? member(job, "start") : NULL;
	const config_setting_t *ju = job ? member(job, "scheduled_time_unix") : NULL;
	const config_setting_t *ds = defs ? member(defs, "start") : NULL;
	const config_setting_t *du = defs ? member(defs, "scheduled_time_unix") : NULL;
	bool from_defs = job && !js && !ju, tz_quiet = L->quiet;
	const config_setting_t *s_start = from_defs || !job ? ds : js;
	const config_setting_t *s_unix = from_defs || !job ? du : ju;
	int64_t v;

	L->quiet = from_defs;
	if (s_start && s_unix) {
		lerr(L, s_unix, "give either 'start' or 'scheduled_time_unix', not both");
	} else if (s_unix) {
		/* up to 9999-12-31T23:59:59Z, as far as a calendar goes */
		if (get_int(L, s_unix, 0, 253402300799LL, &v)) {
			j->start = v;
			j->anchored = s_repeat != NULL;
		}
	} else if (s_start) {
		job_start_wall(L, job, s_start, s_tz, s_repeat, j);
	} else if (job && !s_repeat) {
		/* a repeating job needs no start: it begins when it is loaded */
		L->quiet = false;
		lerr(L, job, "job '%s' needs 'start' or 'scheduled_time_unix'", j->name ? j->name : "?");
	}
	L->quiet = tz_quiet;
}

/* A job with no timezone anywhere. An absolute instant needs no zone: it is
 * shown in UTC. A calendar or calling hours on a wall clock do: no silent
 * UTC for them. */
static void job_no_zone(struct loader *L, const config_setting_t *job, const config_setting_t *s_repeat,
			struct jobspec *j)
{
	char *cause = NULL;

	j->timezone = xstrdup("UTC");
	if (tz_cache_get(L->c->zones, "UTC", &j->tz, &cause) < 0)
		lerr(L, job, "cannot load the UTC zone: %s", cause ? cause : "unknown");
	free(cause);
	L->quiet = false;
	if (s_repeat)
		lerr(L, member(job, "repeat") ? s_repeat : job,
		     "'repeat' needs a 'timezone' (in the job or in defaults)");
	else if (j->hours)
		lerr(L, job, "calling hours need a 'timezone' (in the job or in defaults)");
}

/* until, a wall time in the job's zone. */
static void job_until(struct loader *L, const config_setting_t *job, const config_setting_t *defs,
		      struct jobspec *j)
{
	const config_setting_t *s = pick(L, job, defs, "until");
	char *text = NULL;
	struct civil cv;

	if (!s)
		return;
	if (get_string(L, s, true, &text)) {
		if (civil_parse(text, &cv) < 0) {
			lerr(L, s, "'until' must be a wall time \"YYYY-MM-DD HH:MM[:SS]\" (got \"%s\")", text);
		} else if (j->tz) {
			j->until = tz_to_instant(j->tz, &cv, NULL);
			j->has_until = true;
		}
	}
	free(text);
}

/* The recipients: the inline ones, then the CSV's. */
static void job_recipients(struct loader *L, const config_setting_t *job, const config_setting_t *defs,
			   struct jobspec *j)
{
	const config_setting_t *s;
	struct recipient *rv = NULL;
	size_t rn = 0;
	char *rel = NULL;

	if ((s = pick(L, job, defs, "recipients"))) {
		parse_recipients(L, s, &rv, &rn);
		add_recipients(j, rv, rn);
	}
	j->n_inline_recipients = j->n_recipients;
	if ((s = pick(L, job, defs, "recipients_csv")) && get_string(L, s, true, &rel)) {
		char *dir = dir_of(setting_file(L, s));
		j->recipients_csv = resolve(dir, rel);
		free(dir);
		rv = NULL;
		rn = 0;
		load_csv(L, s, j->recipients_csv, &rv, &rn);
		add_recipients(j, rv, rn);
	}
	free(rel);
	L->quiet = false;
}

/* The rules on the recipients of a whole job, once all are read. */
static void job_check_recipients(struct loader *L, const config_setting_t *job, const config_setting_t *defs,
				 struct jobspec *j)
{
	if (j->n_recipients == 0) {
		bool has_list = pick(L, job, defs, "recipients") != NULL;
		bool has_csv = pick(L, job, defs, "recipients_csv") != NULL;
		L->quiet = false;
		/* a broken list or CSV was reported already */
		if (!has_csv && (!has_list || !L->failed))
			lerr(L, job, "job '%s' has no recipients: give 'recipients' or 'recipients_csv'",
			     j->name ? j->name : "?");
		else if (has_csv && !L->failed)
			lerr(L, job, "job '%s' has no recipients: its CSV file has a header but no rows",
			     j->name ? j->name : "?");
	}
	for (size_t i = 0; i < j->n_recipients; i++)
		if (j->recipients[i].timezone)
			j->has_recipient_zones = true;
	if (j->n_recipients > JOB_MAX_RECIPIENTS)
		lerr(L, job, "job '%s' has %zu recipients; the API takes at most %d a batch", j->name ? j->name : "?",
		     j->n_recipients, JOB_MAX_RECIPIENTS);
}

/* Build one job from its group and the defaults. With job == NULL only the
 * defaults themselves are checked (keys and types, nothing that needs a
 * whole job). L->failed says whether j is usable. The steps run in this
 * order because the messages come out in it, and because later keys need
 * earlier ones (a wall time needs the zone, the rules of a repeat need the
 * start). */
static void job_build(struct loader *L, const config_setting_t *job, const config_setting_t *defs,
		      struct jobspec *j)
{
	const config_setting_t *s_tz, *s_repeat;

	job_init(L, job ? job : defs, j);
	job_name(L, job, defs, j);
	job_agent(L, job, defs, j);
	job_policy(L, job, defs, j);
	job_whatsapp(L, job, defs, j);
	job_retry(L, job, defs, &j->retry);
	s_repeat = job_recurrence(L, job, defs, j);
	s_tz = job_timezone(L, job, defs, j);
	job_instant(L, job, defs, s_tz, s_repeat, j);
	if (job && !j->timezone && !s_tz)
		job_no_zone(L, job, s_repeat, j);
	job_until(L, job, defs, j);
	L->quiet = false;
	if (job)
		job_check_repeat(L, job, s_repeat, j);
	job_recipients(L, job, defs, j);
	job_follow_up(L, job, defs, j);
	if (!job)
		return;
	if (!j->agent_id && !member(job, "agent_id") &&
	    !(defs && member(defs, "agent_id")))
		lerr(L, job, "job '%s' needs an 'agent_id'", j->name ? j->name : "?");
	job_check_recipients(L, job, defs, j);
	/* only on an otherwise sound job: one mistake, one message */
	if (!L->failed)
		check_channel(L, j);
}

/* Record job j (built from group g) for check_unique and check_call_names. */
static void note_job(struct loader *L, const config_setting_t *g, const config_setting_t *defs,
		     const struct jobspec *j)
{
	const config_setting_t *own = member(g, "call_name");
	struct seen_name *n;

	xgrow((void **)&L->seen, &L->seen_cap, L->n_seen + 1, sizeof(*L->seen));
	n = &L->seen[L->n_seen];
	memset(n, 0, sizeof(*n));
	n->name = j->name;
	n->file = j->file;
	n->line = j->line;
	n->order = L->n_seen;
	n->base_file = n->file;
	n->base_line = n->line;
	if (own) {
		n->from = BASE_OWN;
		n->base_file = strpool_intern(L->c->strings, setting_file(L, own));
		n->base_line = setting_line(own);
	} else if (defs && member(defs, "call_name")) {
		n->from = BASE_DEFAULTS;
	} else {
		n->from = BASE_NAME;
	}
	/* a call_name that could not be read leaves j->call_name NULL */
	if (n->from == BASE_NAME || j->call_name)
		n->base = jobspec_call_base(j);
	L->n_seen++;
}

static void intern_cb(char **s, void *ctx)
{
	const char *k = strpool_intern(ctx, *s);

	free(*s);
	*s = (char *)k; /* never written through: jobspec.pooled */
}

/* Move j's strings into the daemonconf's pool: one copy of the agent, the
 * zone and the file of many jobs, and no malloc per string. */
static void job_pool(struct loader *L, struct jobspec *j)
{
	jobspec_each_string(j, intern_cb, L->c->strings);
	j->pooled = true;
}

/* The jobs of one job file, parsed already (f). */
static void load_job_file(struct loader *L, const char *path, struct prefetch_file *f, const config_setting_t *defs)
{
	config_t *cf = &f->cf;
	const config_setting_t *root, *jobs;
	const char *prev_file = L->file;
	int n;

	L->file = path;
	if (!report_parsed(L, path, cf, &f->p))
		goto out;
	root = config_root_setting(cf);
	check_keys(L, root, "a job file", jobfile_keys, ARRAY_SIZE(jobfile_keys));
	jobs = member(root, "jobs");
	if (!jobs) {
		lerr_at(L, path, 1, "no 'jobs' list: a job file holds jobs = ( { name = ...; ... } );");
		goto out;
	}
	if (config_setting_type(jobs) != CONFIG_TYPE_LIST) {
		wrong_type(L, jobs, "a list of groups, ( { ... }, { ... } )");
		goto out;
	}
	n = config_setting_length(jobs);
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(jobs, (unsigned)i);
		struct jobspec j = { 0 };
		bool failed_before = L->failed;

		L->failed = false;
		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			lerr(L, g, "each element of 'jobs' must be a group { ... }, not %s",
			     type_name(config_setting_type(g)));
			L->failed = true;
		} else {
			job_build(L, g, defs, &j);
		}
		/* before note_job, which keeps pointers to the pooled strings */
		job_pool(L, &j);
		if (j.name && job_name_valid(j.name))
			note_job(L, g, defs, &j);
		if (!L->failed) {
			jobspec_compute_digest(&j);
			xgrow((void **)&L->jobs, &L->jobs_cap, L->n_jobs + 1, sizeof(*L->jobs));
			L->jobs[L->n_jobs++] = j;
		} else {
			jobspec_clear(&j);
		}
		L->failed = L->failed || failed_before;
	}
out:
	L->file = prev_file;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_seen(const void *a, const void *b)
{
	const struct seen_name *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_job(const void *a, const void *b)
{
	return strcmp(((const struct jobspec *)a)->name, ((const struct jobspec *)b)->name);
}

/* Every *.conf of the jobs folder, sorted by name (byte order, not locale). */
static void load_jobs_dir(struct loader *L, const config_setting_t *at, const config_setting_t *defs)
{
	const char *dir = L->c->jobs_dir;
	struct stat st;
	DIR *dh;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct prefetch pf;

	if (stat(dir, &st) < 0) {
		if (at)
			lerr(L, at, "jobs folder '%s': %s", dir, strerror(errno));
		else
			lerr_at(L, L->c->file, 1, "jobs folder '%s' (the default 'jobs_dir'): %s", dir, strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (at)
			lerr(L, at, "jobs folder '%s' is not a folder", dir);
		else
			lerr_at(L, L->c->file, 1, "jobs folder '%s' is not a folder", dir);
		return;
	}
	dh = opendir(dir);
	if (!dh) {
		lerr_at(L, L->c->file, at ? setting_line(at) : 1, "jobs folder '%s': %s", dir, strerror(errno));
		return;
	}
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		xgrow((void **)&names, &cap, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dh);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char *name = names[i];
		names[i] = (char *)keep(L, xasprintf("%s/%s", dir, name));
		free(name);
	}
	prefetch_start(&pf, names, n);
	for (size_t i = 0; i < n; i++) {
		const char *path = names[i];
		struct prefetch_file *f = prefetch_get(&pf, i);
		bool failed_before = L->failed;
		if (f->p.irregular) {
			lerr_at(L, path, 0, "not a regular file");
		} else {
			L->c->n_files++;
			L->failed = false;
			load_job_file(L, path, f, defs);
		}
		prefetch_put(&pf, i);
		L->failed = L->failed || failed_before;
	}
	prefetch_end(&pf);
	free(names);
}

static void check_unique(struct loader *L)
{
	if (L->n_seen > 1)
		qsort(L->seen, L->n_seen, sizeof(*L->seen), cmp_seen);
	for (size_t i = 1; i < L->n_seen; i++) {
		const struct seen_name *a = &L->seen[i - 1], *b = &L->seen[i];
		size_t first = i - 1;
		if (strcmp(a->name, b->name) != 0)
			continue;
		while (first > 0 && strcmp(L->seen[first - 1].name, b->name) == 0)
			first--;
		lerr_at(L, b->file, b->line, "job name '%s' is already used at %s:%d", b->name, L->seen[first].file,
			L->seen[first].line);
	}
}

static int cmp_base(const void *a, const void *b)
{
	const struct seen_name *x = *(const struct seen_name *const *)a, *y = *(const struct seen_name *const *)b;
	int c = strcmp(x->base, y->base);
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* How a job came by its base, for messages: "" for its own call_name. */
static char *base_origin(const struct loader *L, const struct seen_name *s)
{
	switch (s->from) {
	case BASE_NAME:
		return xstrdup(" (its name, as it has no call_name)");
	case BASE_DEFAULTS:
		return xasprintf(" (inherited from defaults at %s:%d)", L->main_file, L->defaults_call_name_line);
	case BASE_OWN:
		break;
	}
	return xstrdup("");
}

/* Two jobs must never send the same call_name: after a crash the daemon
 * finds an uncertain submission by its call_name, and would adopt the other
 * job's batch. Refuse (a) two jobs with the same base and (b) a base that
 * is another's followed by a space and a digit; jobspec.c proves that no
 * two jobs that pass both can send the same call_name. Each offending job
 * is reported once, at the place its base is written, naming the first job
 * it clashes with, like a duplicate name. */
static void check_call_names(struct loader *L)
{
	struct seen_name **v = xcalloc(L->n_seen ? L->n_seen : 1, sizeof(*v));
	size_t n = 0;

	L->quiet = false;
	for (size_t i = 0; i < L->n_seen; i++)
		if (L->seen[i].base)
			v[n++] = &L->seen[i];
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_base);

	/* (a) the same base: each later job against the first one */
	for (size_t i = 1, first = 0; i < n; i++) {
		const struct seen_name *a, *b = v[i];
		char *oa, *ob;

		if (strcmp(v[first]->base, b->base) != 0) {
			first = i;
			continue;
		}
		a = v[first];
		/* the same name twice: check_unique says so */
		if (a->from == BASE_NAME && b->from == BASE_NAME)
			continue;
		if (a->from == BASE_DEFAULTS && b->from == BASE_DEFAULTS) {
			lerr_at(L, b->base_file, b->base_line,
				"job '%s' has the same call_name '%s' as job '%s', an inherited call_name shared by "
				"two jobs (job '%s' at %s:%d, 'call_name' in defaults at %s:%d): their runs at the "
				"same local time would get the same call_name, and after a crash one job could adopt "
				"the other's batch; give each job its own call_name",
				b->name, b->base, a->name, a->name, a->base_file, a->base_line, L->main_file,
				L->defaults_call_name_line);
			continue;
		}
		oa = base_origin(L, a);
		ob = base_origin(L, b);
		lerr_at(L, b->base_file, b->base_line,
			"job '%s'%s has the same call_name '%s' as job '%s' at %s:%d%s: their runs at the same local "
			"time would get the same call_name, and after a crash one job could adopt the other's batch; "
			"give each job its own call_name",
			b->name, ob, b->base, a->name, a->base_file, a->base_line, oa);
		free(oa);
		free(ob);
	}

	/* (b) a base that extends another by a space and a digit: those bases
	 * sort together right after "BASE 0", each reported against the
	 * shortest base it extends (which sorts first) */
	{
		bool *done = xcalloc(n ? n : 1, sizeof(*done));
		for (size_t i = 0; i < n; i++) {
			const struct seen_name *a = v[i];
			size_t lo = i + 1, hi = n;
			char *key;

			if (i > 0 && strcmp(v[i - 1]->base, a->base) == 0)
				continue; /* the first job of a base speaks for it */
			key = xasprintf("%s 0", a->base);
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				if (strcmp(v[mid]->base, key) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			free(key);
			for (size_t k = lo; k < n && jobspec_call_base_extends(v[k]->base, a->base); k++) {
				const struct seen_name *b = v[k];
				char *oa, *ob;

				if (done[k])
					continue;
				done[k] = true;
				oa = base_origin(L, a);
				ob = base_origin(L, b);
				lerr_at(L, b->base_file, b->base_line,
					"call_name '%s' of job '%s'%s begins with '%s', a space and a digit, and '%s' is "
					"the call_name of job '%s' at %s:%d%s: a run's call_name is its job's call_name, "
					"a space and its local start, which begins with a digit, so runs of the two jobs "
					"could get the same call_name; change one of them",
					b->base, b->name, ob, a->base, a->base, a->name, a->base_file, a->base_line, oa);
				free(oa);
				free(ob);
			}
		}
		free(done);
	}
	free(v);
}

/* Is the host of an http(s) URL (after the scheme) a loopback address:
 * localhost, 127.0.0.0/8 or ::1? The simulator and local proxies are; a
 * key sent anywhere else over plain http travels in clear. */
static bool url_host_is_loopback(const char *after_scheme)
{
	size_t n = strcspn(after_scheme, "/?#");
	char *auth = xstrndup(after_scheme, n), *host, *end;
	unsigned char addr[16];
	bool loop = false;

	host = strrchr(auth, '@') ? strrchr(auth, '@') + 1 : auth;
	if (*host == '[') {
		host++;
		end = strchr(host, ']');
		if (end)
			*end = '\0';
	} else if ((end = strchr(host, ':'))) {
		*end = '\0';
	}
	if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0)
		loop = true;
	else if (inet_pton(AF_INET, host, addr) == 1)
		loop = addr[0] == 127;
	else if (inet_pton(AF_INET6, host, addr) == 1)
		loop = memcmp(addr, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0 ||
		       (memcmp(addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0 && addr[12] == 127);
	free(auth);
	return loop;
}

static void load_api(struct loader *L, const config_setting_t *g, struct apiconf *api, const char *dir)
{
	const config_setting_t *s, *url_setting = NULL;
	char *v = NULL;

	if (!want_group(L, g))
		return;
	check_keys(L, g, "'api'", api_keys, ARRAY_SIZE(api_keys));
	if ((s = member(g, "base_url")) && get_string(L, s, true, &v)) {
		size_t len = strlen(v);
		const char *host = strncmp(v, "https://", 8) == 0 ? v + 8 : strncmp(v, "http://", 7) == 0 ? v + 7 : NULL;
		while (len > 0 && v[len - 1] == '/')
			v[--len] = '\0';
		if (!host || host >= v + len || *host == '/')
			lerr(L, s, "'api.base_url' must be an http:// or https:// URL with a host (got \"%s\")",
			     config_setting_get_string(s));
		else {
			free(api->base_url);
			api->base_url = v;
			v = NULL;
			url_setting = s;
		}
	}
	freep(&v);
	if ((s = member(g, "allow_insecure_http")))
		get_bool(L, s, &api->allow_insecure_http);
	if (url_setting && strncmp(api->base_url, "http://", 7) == 0 && !api->allow_insecure_http &&
	    !url_host_is_loopback(api->base_url + 7))
		lerr(L, url_setting, "'api.base_url' is http:// to a host that is not loopback: the API key would "
		     "travel in clear; use https://, or set api.allow_insecure_http = true (got \"%s\")",
		     api->base_url);
	if ((s = member(g, "api_key_file")) && get_string(L, s, true, &v)) {
		api->api_key_file = resolve(dir, v);
		freep(&v);
	}
	if ((s = member(g, "ca_file")) && get_string(L, s, true, &v)) {
		api->ca_file = resolve(dir, v);
		freep(&v);
		/* Found now, not as a TLS failure of the first request. */
		int fd = open(api->ca_file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			lerr(L, s, "'api.ca_file' \"%s\" cannot be read: %s", api->ca_file, strerror(errno));
		else
			close(fd);
	}
	if ((s = member(g, "request_timeout")))
		get_int32(L, s, 1, 600, &api->request_timeout);
	if ((s = member(g, "max_concurrent_requests")))
		get_int32(L, s, 1, 256, &api->max_concurrent_requests);
	if ((s = member(g, "max_requests_per_second")) &&
	    get_double(L, s, &api->max_requests_per_second) && api->max_requests_per_second <= 0) {
		lerr(L, s, "'api.max_requests_per_second' must be greater than 0 (got %g)", api->max_requests_per_second);
		api->max_requests_per_second = DEF_MAX_RPS;
	}
}

static bool listen_valid(const char *v)
{
	const char *colon = strrchr(v, ':');
	int64_t port;

	if (!colon || colon == v)
		return false;
	if (v[0] == '[' && colon[-1] != ']')
		return false;
	return parse_int64(colon + 1, 1, 65535, &port) == 0;
}

/* control_socket of the daemon file into *ret (which holds the default),
 * resolved against the file's folder; false with the error reported. The
 * one reader of the key: the daemon's load and batchcallctl's
 * (cfg_control_socket). */
static bool control_socket(struct loader *L, const config_setting_t *root, const char *dir, char **ret)
{
	const config_setting_t *s = member(root, "control_socket");
	char *v = NULL;

	if (!s)
		return true;
	if (!get_string(L, s, true, &v))
		return false;
	free(*ret);
	*ret = resolve(dir, v);
	free(v);
	return true;
}

/* state_dir and results_dir (NULL unless given: it follows state_dir),
 * resolved against dir; for cfg_load and cfg_results_dir. */
static void folders(struct loader *L, const config_setting_t *root, const char *dir, char **state_dir,
		    char **results_dir)
{
	const config_setting_t *s;
	char *v = NULL;

	if ((s = member(root, "state_dir")) && get_string(L, s, true, &v)) {
		free(*state_dir);
		*state_dir = resolve(dir, v);
		freep(&v);
	}
	if ((s = member(root, "results_dir")) && get_string(L, s, true, &v)) {
		free(*results_dir);
		*results_dir = resolve(dir, v);
		freep(&v);
	}
}

/* suppression: a list (or array) of do-not-call list files, resolved
 * against dir, each read and parsed now (its errors at FILE:LINE; a file
 * that cannot be read is an error, never an empty list), merged into one
 * sealed set. */
static void load_suppression(struct loader *L, const config_setting_t *s, const char *dir)
{
	struct daemonconf *c = L->c;
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_LIST && config_setting_type(s) != CONFIG_TYPE_ARRAY) {
		wrong_type(L, s, "a list of file names ( \"dnc.txt\", … )");
		return;
	}
	n = config_setting_length(s);
	c->suppress = xcalloc(1, sizeof(*c->suppress));
	L->lists_read = true;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v = config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e) : NULL;
		struct diag fd = { 0 };
		char *path;
		if (!v || !*v) {
			if (v)
				lerr(L, e, "'suppression': a file name cannot be empty");
			else
				lerr(L, e, "'suppression': each element must be a file name, not %s",
				     type_name(config_setting_type(e)));
			L->lists_bad = true;
			continue;
		}
		path = resolve(dir, v);
		if (suppress_store_read(path, c->suppress, &fd) < 0) {
			/* A file that cannot be read is reported where it is
			 * named; a bad line where it is. */
			if (fd.n == 1 && fd.v[0].line == 0)
				lerr(L, e, "'suppression': '%s': %s", path, fd.v[0].msg);
			L->failed = true;
			L->lists_bad = true;
			if (!L->quiet && !(fd.n == 1 && fd.v[0].line == 0))
				diag_move(L->d, &fd);
		}
		diag_clear(&fd);
		c->suppression = xrealloc(c->suppression, (c->n_suppression + 1) * sizeof(*c->suppression));
		c->suppression[c->n_suppression++] = path;
	}
	suppress_seal(c->suppress);
}

/* A span of `contact_limits` ("7d", systemd's syntax) into *ret. */
static bool get_span(struct loader *L, const config_setting_t *s, int64_t min, int64_t *ret)
{
	char *v = NULL, k[128];
	int r;

	if (!get_string(L, s, true, &v))
		return false;
	r = parse_timespan(v, ret);
	if (r < 0 || *ret < min)
		lerr(L, s, "'%s': \"%s\" is not a time span of %s up to 3660 days (systemd's syntax: \"7d\", "
			   "\"1h 30min\")", key_of(s, k, sizeof(k)), v, min > 0 ? "at least 1s" : "0s");
	free(v);
	return r == 0 && *ret >= min;
}

/* contact_limits = { max_calls = 3; window = "7d"; min_gap = "1d";
 * per_agent = false; }: the frequency caps across every job. */
static void load_limits(struct loader *L, const config_setting_t *g)
{
	struct contact_limits lim = { 0 };
	const config_setting_t *s, *mc;
	bool ok = true;

	if (!want_group(L, g))
		return;
	check_keys(L, g, "'contact_limits'", limits_keys, ARRAY_SIZE(limits_keys));
	if ((mc = member(g, "max_calls")))
		ok &= get_int32(L, mc, 1, 10000, &lim.max_calls);
	if ((s = member(g, "window")))
		ok &= get_span(L, s, 1, &lim.window_s);
	else if (mc) {
		lerr(L, mc, "'contact_limits': 'max_calls' needs a 'window' (\"7d\": at most max_calls calls in "
			    "any 7 days)");
		ok = false;
	}
	if (s && !mc) {
		lerr(L, s, "'contact_limits': 'window' needs a 'max_calls'");
		ok = false;
	}
	if ((s = member(g, "min_gap")))
		ok &= get_span(L, s, 1, &lim.min_gap_s);
	if ((s = member(g, "per_agent")))
		ok &= get_bool(L, s, &lim.per_agent);
	if (ok && lim.max_calls == 0 && lim.min_gap_s == 0) {
		lerr(L, g, "'contact_limits' needs 'max_calls' and 'window', or 'min_gap', or both");
		ok = false;
	}
	if (ok) {
		L->c->limits = xmalloc(sizeof(*L->c->limits));
		*L->c->limits = lim;
	}
}

/* A readable file named by s (a key of group what) into *ret, resolved
 * against dir. */
static void cluster_file(struct loader *L, const config_setting_t *s, const char *dir, char **ret)
{
	char *v = NULL, k[128];
	int fd;

	if (!get_string(L, s, true, &v))
		return;
	*ret = resolve(dir, v);
	free(v);
	fd = open(*ret, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		lerr(L, s, "'cluster.%s' \"%s\" cannot be read: %s", key_of(s, k, sizeof(k)), *ret, strerror(errno));
	else
		close(fd);
}

static bool node_name_valid(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 63)
		return false;
	for (const char *p = v; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_' || *p == '.'))
			return false;
	return true;
}

/* cluster = { etcd_endpoints = [ "http://10.0.0.1:2379", ... ]; node_name =
 * "a"; lease_ttl = 10; key_prefix = "/batchcalld/"; ca_file, cert_file,
 * key_file }: active/standby nodes on etcd. */
static void load_cluster(struct loader *L, const config_setting_t *g, const char *dir)
{
	struct clusterconf *k;
	const config_setting_t *s;
	char *v = NULL;
	bool ok = true;

	if (!want_group(L, g))
		return;
	check_keys(L, g, "'cluster'", cluster_keys, ARRAY_SIZE(cluster_keys));
	k = xcalloc(1, sizeof(*k));
	k->lease_ttl = 10;
	k->key_prefix = xstrdup("/batchcalld/");
	if (!(s = member(g, "etcd_endpoints"))) {
		lerr(L, g, "'cluster' needs 'etcd_endpoints' (a list of \"http://HOST:PORT\" or \"https://HOST:PORT\")");
		ok = false;
	} else if ((config_setting_type(s) != CONFIG_TYPE_LIST && config_setting_type(s) != CONFIG_TYPE_ARRAY) ||
		   config_setting_length(s) == 0 || config_setting_length(s) > 16) {
		lerr(L, s, "'cluster.etcd_endpoints' must be a list of 1 to 16 URLs ( \"http://127.0.0.1:2379\", … )");
		ok = false;
	} else {
		int n = config_setting_length(s);
		k->etcd_endpoints = xcalloc((size_t)n, sizeof(*k->etcd_endpoints));
		for (int i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			const char *u = config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e) : NULL;
			const char *host = !u ? NULL
				: strncmp(u, "https://", 8) == 0 ? u + 8
				: strncmp(u, "http://", 7) == 0	? u + 7
								: NULL;
			if (!host || !*host || *host == '/' || strchr(host, '/') || !listen_valid(host)) {
				lerr(L, e, "'cluster.etcd_endpoints': each element must be \"http://HOST:PORT\" or "
					   "\"https://HOST:PORT\" (got %s%s%s)", u ? "\"" : "", u ? u : "not a string",
				     u ? "\"" : "");
				ok = false;
				continue;
			}
			k->etcd_endpoints[k->n_etcd_endpoints++] = xstrdup(u);
		}
	}
	if (!(s = member(g, "node_name"))) {
		lerr(L, g, "'cluster' needs 'node_name' (this node's name, unique in the cluster)");
		ok = false;
	} else if (get_string(L, s, true, &v)) {
		if (!node_name_valid(v)) {
			lerr(L, s, "'cluster.node_name' must be 1 to 63 letters, digits, '-', '_' or '.' (got \"%s\")", v);
			ok = false;
		} else {
			k->node_name = v;
			v = NULL;
		}
		freep(&v);
	} else
		ok = false;
	if ((s = member(g, "lease_ttl")))
		ok &= get_int32(L, s, 3, 300, &k->lease_ttl);
	if ((s = member(g, "key_prefix")) && get_string(L, s, true, &v)) {
		size_t n = strlen(v);
		if (n < 2 || v[0] != '/' || v[n - 1] != '/' || n > 200) {
			lerr(L, s, "'cluster.key_prefix' must begin and end with '/' (\"/batchcalld/\"; got \"%s\")", v);
			ok = false;
		} else {
			free(k->key_prefix);
			k->key_prefix = v;
			v = NULL;
		}
		freep(&v);
	}
	if ((s = member(g, "ca_file")))
		cluster_file(L, s, dir, &k->ca_file);
	if ((s = member(g, "cert_file")))
		cluster_file(L, s, dir, &k->cert_file);
	if ((s = member(g, "key_file")))
		cluster_file(L, s, dir, &k->key_file);
	if (!k->cert_file != !k->key_file) {
		lerr(L, g, "'cluster': 'cert_file' and 'key_file' go together (the client certificate and its key)");
		ok = false;
	}
	if (!ok) {
		clusterconf_free(k);
		return;
	}
	L->c->cluster = k;
}

/* false when jobs_dir is given but unusable (then no folder is read) */
static bool load_daemon(struct loader *L, const config_setting_t *root, const char *dir,
			const config_setting_t **ret_jobs_at, const config_setting_t **ret_defs)
{
	struct daemonconf *c = L->c;
	const config_setting_t *s;
	char *v = NULL;
	bool jobs_ok = true;

	check_keys(L, root, "the daemon configuration", daemon_keys, ARRAY_SIZE(daemon_keys));
	if ((s = member(root, "api")))
		load_api(L, s, &c->api, dir);
	if ((s = member(root, "jobs_dir"))) {
		jobs_ok = get_string(L, s, true, &v);
		if (jobs_ok) {
			free(c->jobs_dir);
			c->jobs_dir = resolve(dir, v);
			*ret_jobs_at = s;
			freep(&v);
		}
	}
	folders(L, root, dir, &c->state_dir, &c->results_dir);
	control_socket(L, root, dir, &c->control_socket);
	if ((s = member(root, "control_group")))
		get_string(L, s, true, &c->control_group);
	if ((s = member(root, "metrics_listen")) && get_string(L, s, true, &v)) {
		if (!listen_valid(v))
			lerr(L, s, "'metrics_listen' must be \"HOST:PORT\" with a port 1..65535 (got \"%s\")", v);
		else {
			c->metrics_listen = v;
			v = NULL;
		}
		freep(&v);
	}
	if ((s = member(root, "poll_interval")))
		get_int32(L, s, 1, 86400, &c->poll_interval);
	if ((s = member(root, "webhook_listen")) && get_string(L, s, true, &v)) {
		if (!listen_valid(v))
			lerr(L, s, "'webhook_listen' must be \"HOST:PORT\" with a port 1..65535 (got \"%s\")", v);
		else {
			c->webhook_listen = v;
			v = NULL;
		}
		freep(&v);
	}
	if ((s = member(root, "webhook_tolerance")))
		get_int32(L, s, 60, 7 * 86400, &c->webhook_tolerance);
	if ((s = member(root, "suppression")))
		load_suppression(L, s, dir);
	if ((s = member(root, "contact_limits")))
		load_limits(L, s);
	if ((s = member(root, "over_limit"))) {
		char *ov = NULL;
		if (get_string(L, s, true, &ov)) {
			if (strcmp(ov, "defer") != 0 && strcmp(ov, "skip") != 0)
				lerr(L, s, "'over_limit' must be \"skip\" or \"defer\" (got \"%s\")", ov);
			else if (!member(root, "contact_limits"))
				lerr(L, s, "'over_limit' needs 'contact_limits' (the limits it is about)");
			else if (L->c->limits)
				L->c->limits->defer = strcmp(ov, "defer") == 0;
		}
		free(ov);
	}
	if ((s = member(root, "cluster")))
		load_cluster(L, s, dir);
	/* before defaults, whose max_lateness it bounds */
	if ((s = member(root, "state_retention")) &&
	    !get_int32(L, s, MIN_STATE_RETENTION, MAX_STATE_RETENTION, &c->state_retention))
		L->retention_bad = true;
	if ((s = member(root, "defaults")) && want_group(L, s)) {
		struct jobspec scratch = { 0 };
		const config_setting_t *cn = member(s, "call_name");
		*ret_defs = s;
		L->defaults_call_name_line = cn ? setting_line(cn) : 0;
		job_build(L, NULL, s, &scratch);
		jobspec_clear(&scratch);
	}
	return jobs_ok;
}

int cfg_load(const char *path, struct daemonconf **ret, struct diag *d)
{
	return cfg_load_ex(path, ret, d, NULL);
}

int cfg_load_ex(const char *path, struct daemonconf **ret, struct diag *d, struct cfg_lists *ret_lists)
{
	struct loader L = { .d = d };
	struct daemonconf *c;
	config_t cf;
	const config_setting_t *jobs_at = NULL, *defs = NULL;
	char *dir;
	int r = 0;
	bool parsed;

	c = xcalloc(1, sizeof(*c));
	L.c = c;
	c->file = xstrdup(path);
	c->api.base_url = xstrdup(DEF_BASE_URL);
	c->api.request_timeout = DEF_REQUEST_TIMEOUT;
	c->api.max_concurrent_requests = DEF_MAX_CONCURRENT;
	c->api.max_requests_per_second = DEF_MAX_RPS;
	c->poll_interval = DEF_POLL_INTERVAL;
	c->webhook_tolerance = DEF_WEBHOOK_TOLERANCE;
	c->state_retention = DEF_STATE_RETENTION;
	c->state_dir = xstrdup(DEF_STATE_DIR);
	c->control_socket = xstrdup(CFG_DEFAULT_CONTROL_SOCKET);
	c->zones = tzdb_cache_new();
	c->strings = strpool_new();
	dir = dir_of(path);
	c->jobs_dir = resolve(dir, DEF_JOBS_DIR);

	L.file = path;
	L.main_file = path;
	L.main_cf = &cf;
	parsed = read_config(&L, path, &cf);
	if (parsed) {
		/* Job files are read even when the daemon file had errors, so that
		 * one round shows every mistake. */
		if (load_daemon(&L, config_root_setting(&cf), dir, &jobs_at, &defs))
			load_jobs_dir(&L, jobs_at, defs);
	}
	config_destroy(&cf);
	check_unique(&L);
	check_call_names(&L);
	/* results_dir follows state_dir unless given */
	if (!c->results_dir)
		c->results_dir = xasprintf("%s/results", c->state_dir);

	if (L.failed || d->n > 0) {
		r = -EINVAL;
		if (ret_lists && parsed && L.lists_read && !L.lists_bad && c->suppress) {
			/* The lists are good on their own: the caller may take
			 * them although the rest is refused. */
			ret_lists->set = c->suppress;
			ret_lists->files = c->suppression;
			ret_lists->n_files = c->n_suppression;
			c->suppress = NULL;
			c->suppression = NULL;
			c->n_suppression = 0;
		}
		for (size_t i = 0; i < L.n_jobs; i++)
			jobspec_clear(&L.jobs[i]);
		free(L.jobs);
		daemonconf_free(c);
	} else {
		if (L.n_jobs > 1)
			qsort(L.jobs, L.n_jobs, sizeof(*L.jobs), cmp_job);
		/* the array grew by doubling: give back what is not used */
		c->jobs = L.n_jobs ? xrealloc(L.jobs, L.n_jobs * sizeof(*L.jobs)) : L.jobs;
		strpool_seal(c->strings);
		c->n_jobs = L.n_jobs;
		for (size_t i = 0; i < c->n_jobs; i++)
			c->n_recipients += c->jobs[i].n_recipients;
		*ret = c;
	}
	for (size_t i = 0; i < L.n_files; i++)
		free(L.files[i]);
	free(L.files);
	free(L.seen);
	free(dir);
	return r;
}

int cfg_results_dir(const char *path, char **ret, struct diag *d)
{
	struct loader L = { .d = d, .file = path, .main_file = path };
	config_t cf;
	char *state = xstrdup(DEF_STATE_DIR), *results = NULL, *dir = dir_of(path);

	L.main_cf = &cf;
	if (read_config(&L, path, &cf))
		folders(&L, config_root_setting(&cf), dir, &state, &results);
	config_destroy(&cf);
	free(dir);
	if (L.failed) {
		free(state);
		free(results);
		return -EINVAL;
	}
	*ret = results ? results : xasprintf("%s/results", state);
	if (results)
		free(state);
	return 0;
}

int cfg_control_socket(const char *path, char **ret, struct diag *d)
{
	struct loader L = { .d = d, .file = path, .main_file = path };
	config_t cf;
	char *sock = xstrdup(CFG_DEFAULT_CONTROL_SOCKET), *dir = dir_of(path);

	L.main_cf = &cf;
	if (read_config(&L, path, &cf))
		control_socket(&L, config_root_setting(&cf), dir, &sock);
	config_destroy(&cf);
	free(dir);
	if (L.failed) {
		free(sock);
		return -EINVAL;
	}
	*ret = sock;
	return 0;
}

int cfg_read_csv(struct daemonconf *c, const char *path, struct recipient **ret, size_t *ret_n, struct diag *d)
{
	struct loader L = { .d = d, .c = c };
	struct recipient *rv = NULL;
	size_t rn = 0;

	load_csv(&L, NULL, path, &rv, &rn);
	if (L.failed || rn == 0) {
		if (rn == 0 && !L.failed)
			diag_add(d, path, 0, "no recipients");
		for (size_t i = 0; i < rn; i++)
			recipient_clear(&rv[i]);
		free(rv);
		return -EINVAL;
	}
	*ret = rv;
	*ret_n = rn;
	return 0;
}
