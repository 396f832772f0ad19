/*
 * ctl_online: batchcallctl status/show/cancel/retry/trigger/pause/resume
 * over the control socket (HTTP through libcurl's CURLOPT_UNIX_SOCKET_PATH).
 *
 * Only the main configuration file is read, and only for control_socket:
 * an operator must be able to look at the daemon while a job file is
 * broken. Colours and the table width follow the terminal; a pipe gets
 * plain text, and NO_COLOR turns colours off everywhere.
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "ctl_online.h"
#include "resfiles.h"
#include "ctlview.h"
#include "jobspec.h"
#include "sbuf.h"
#include "suppress.h"
#include "util.h"

#define MAX_ANSWER (64 * 1024 * 1024)

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("batchcallctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nusage:\n" CTL_ONLINE_USAGE, stderr);
	return CTL_EXIT_USAGE;
}

/* control_socket of the daemon configuration at path (cfg_control_socket,
 * the daemon's own reading). 0, or -EINVAL with every error printed. */
static int socket_path(const char *path, char **ret)
{
	struct diag d = { 0 };
	int r = cfg_control_socket(path, ret, &d);

	for (size_t i = 0; i < d.n; i++) {
		char *line = diag_format(&d, i);
		fprintf(stderr, "%s\n", line);
		free(line);
	}
	if (r < 0 && d.n == 0)
		fprintf(stderr, "batchcallctl: cannot read '%s'\n", path);
	diag_clear(&d);
	return r;
}

static size_t write_cb(char *ptr, size_t size, size_t n, void *arg)
{
	struct sbuf *a = arg; /* the answer's body */
	size_t k = size * n;

	if (a->len + k > MAX_ANSWER)
		return 0;
	sbuf_add(a, ptr, k);
	return k;
}

/* One request to the daemon. 0 with the status and body, or
 * CTL_EXIT_UNREACHABLE after printing why and the hint. */
static int call(const char *sock, const char *method, const char *path, const char *body, long *ret_status,
		struct sbuf *ret)
{
	CURL *h = curl_easy_init();
	char url[256], err[CURL_ERROR_SIZE] = "";
	CURLcode rc;

	if (!h) {
		fprintf(stderr, "batchcallctl: cannot start libcurl\n");
		return CTL_EXIT_UNREACHABLE;
	}
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(h, CURLOPT_URL, url);
	/* A job may be named "." or "..": the path is sent as it is, never
	 * folded like a file system's (RFC 3986 dot segments). */
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, ret);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, body ? (long)strlen(body) : 0L);
	}
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, ret_status);
	curl_easy_cleanup(h);
	if (rc == CURLE_COULDNT_CONNECT && access(sock, W_OK) < 0 && errno == EACCES) {
		/* The daemon runs; this user may not talk to it. */
		struct stat st;
		struct group *g = stat(sock, &st) == 0 ? getgrgid(st.st_gid) : NULL;
		fprintf(stderr, "batchcallctl: permission denied on '%s': it is for root and the group '%s'\n", sock,
			g ? g->gr_name : "?");
		fprintf(stderr, "(the README, \"Operating it\": control_group and Group= in the unit)\n");
		return CTL_EXIT_UNREACHABLE;
	}
	if (rc != CURLE_OK || *ret_status == 503) {
		fprintf(stderr, "batchcallctl: cannot reach batchcalld on '%s': %s\n", sock,
			rc != CURLE_OK ? (err[0] ? err : curl_easy_strerror(rc)) : "it is too busy (503)");
		fprintf(stderr, "is batchcalld running? try: systemctl status batchcalld\n");
		return CTL_EXIT_UNREACHABLE;
	}
	return 0;
}

/* The daemon's error message of an answer, or a short description. */
static char *error_message(long status, const struct sbuf *a)
{
	struct json_object *o = a->s ? json_tokener_parse(a->s) : NULL, *e, *m;
	char *s;

	if (o && json_object_object_get_ex(o, "error", &e) && json_object_object_get_ex(e, "message", &m) &&
	    json_object_is_type(m, json_type_string))
		s = xstrdup(json_object_get_string(m));
	else
		s = xasprintf("unexpected answer (HTTP %ld)", status);
	json_object_put(o);
	return s;
}

static void terminal_style(struct ctlview_style *st)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	struct winsize ws;

	st->width = 0;
	st->colour = false;
	if (!isatty(STDOUT_FILENO))
		return;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		st->width = ws.ws_col;
	st->colour = !(nc && *nc) && !(term && strcmp(term, "dumb") == 0);
}

enum cmd { CMD_STATUS, CMD_SHOW, CMD_RESULTS, CMD_CANCEL, CMD_RETRY, CMD_TRIGGER, CMD_PAUSE, CMD_RESUME };

/* --run START: unix seconds, or the instant in UTC as
 * "YYYY-MM-DDTHH:MM[:SS]Z" (also with a space, or with '-' for ':' as in
 * the results file names). 0 and *ret, or -EINVAL. */
static int parse_run(const char *s, int64_t *ret)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec = 0, n = 0;
	char sep, c1;
	size_t len = strlen(s);

	if (len > 0 && len <= 12 && strspn(s, "0123456789") == len) {
		*ret = strtoll(s, NULL, 10);
		return *ret > 0 ? 0 : -EINVAL;
	}
	if (sscanf(s, "%4d-%2d-%2d%c%2d%c%2d%n", &y, &mo, &d, &sep, &h, &c1, &mi, &n) != 7 ||
	    (sep != 'T' && sep != ' ') || (c1 != ':' && c1 != '-'))
		return -EINVAL;
	s += n;
	if (*s == c1) {
		int k = 0;
		if (sscanf(s + 1, "%2d%n", &sec, &k) != 1)
			return -EINVAL;
		s += 1 + k;
	}
	if (strcmp(s, "Z") != 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*ret = (int64_t)timegm(&tm);
	return *ret > 0 ? 0 : -EINVAL;
}

static int parse_args(int argc, char **argv, enum cmd cmd, bool *json, const char **job, int64_t *run)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "run", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	/* Options may follow the job name ("show JOB --json"): optind 0, not
	 * 1, makes glibc forget the "+" ordering of batchcallctl's own scan. */
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'j' && (cmd == CMD_STATUS || cmd == CMD_SHOW || cmd == CMD_RESULTS)) {
			*json = true;
			continue;
		}
		if (o == 'r' && cmd == CMD_RESULTS) {
			if (parse_run(optarg, run) < 0)
				return usage_error("results: --run '%s': give the run's start in unix seconds or as "
						   "YYYY-MM-DDTHH:MM:SSZ (UTC)", optarg);
			continue;
		}
		return usage_error("%s: unknown option '%s'", argv[0], argv[optind - 1]);
	}
	if (cmd == CMD_STATUS) {
		if (optind < argc)
			return usage_error("status: unexpected argument '%s'", argv[optind]);
		return 0;
	}
	if (optind >= argc)
		return usage_error("%s: which job?", argv[0]);
	if (optind + 1 < argc)
		return usage_error("%s: unexpected argument '%s'", argv[0], argv[optind + 1]);
	*job = argv[optind];
	if (!job_name_valid(*job))
		return usage_error("%s: '%s' is not a job name ([A-Za-z0-9._-], at most 64)", argv[0], *job);
	return 0;
}

static int print_view(enum cmd cmd, bool json, const struct sbuf *a)
{
	struct json_object *doc = json_tokener_parse(a->s ? a->s : "");
	struct ctlview_style st;
	char *text;

	if (!doc) {
		fprintf(stderr, "batchcallctl: the daemon's answer is not JSON\n");
		return CTL_EXIT_REFUSED;
	}
	if (json) {
		fputs(a->s, stdout);
		if (a->len == 0 || a->s[a->len - 1] != '\n')
			fputc('\n', stdout);
		json_object_put(doc);
		return 0;
	}
	terminal_style(&st);
	if (cmd == CMD_STATUS) {
		/* a cluster's node says who answers and who leads */
		struct json_object *cl, *v;
		if (json_object_object_get_ex(doc, "cluster", &cl) && json_object_is_type(cl, json_type_object)) {
			const char *node = "?", *role = "?", *leader = "";
			if (json_object_object_get_ex(cl, "node", &v) && json_object_is_type(v, json_type_string))
				node = json_object_get_string(v);
			if (json_object_object_get_ex(cl, "role", &v) && json_object_is_type(v, json_type_string))
				role = json_object_get_string(v);
			if (json_object_object_get_ex(cl, "leader", &v) && json_object_is_type(v, json_type_string))
				leader = json_object_get_string(v);
			if (strcmp(role, "leader") == 0)
				printf("node %s: the leader\n", node);
			else
				printf("node %s: a standby (read-only view of the runs in etcd); the leader is %s\n", node,
				       *leader ? leader : "not known yet");
		}
		text = ctlview_status_text(doc, (int64_t)time(NULL), &st);
	}
	else
		text = ctlview_show_text(doc, (int64_t)time(NULL), &st);
	fputs(text, stdout);
	free(text);
	json_object_put(doc);
	return 0;
}

static int print_operation(const char *op, const char *job, const struct sbuf *a)
{
	struct json_object *doc = json_tokener_parse(a->s ? a->s : ""), *j = NULL, *v;
	const char *result = op, *state = NULL, *batch = NULL;

	if (doc && json_object_object_get_ex(doc, "result", &v))
		result = json_object_get_string(v);
	if (doc && json_object_object_get_ex(doc, "job", &j) && j) {
		if (json_object_object_get_ex(j, "state", &v))
			state = json_object_get_string(v);
		if (json_object_object_get_ex(j, "batch_id", &v) && v)
			batch = json_object_get_string(v);
	}
	printf("job '%s': %s", job, result);
	if (state)
		printf("; state %s", state);
	if (batch)
		printf(", batch %s", batch);
	printf("\n");
	json_object_put(doc);
	return 0;
}

/* results: the rows as CSV (the results file's text), or with --json the
 * daemon's document as it came (results_document: the one the files give
 * while the daemon is down). */
static int print_results(bool json, const struct sbuf *a)
{
	struct json_object *doc = json_tokener_parse(a->s ? a->s : ""), *csv;

	if (!doc || !json_object_object_get_ex(doc, "csv", &csv) || !json_object_is_type(csv, json_type_string)) {
		fprintf(stderr, "batchcallctl: the daemon's answer is not the results document\n");
		json_object_put(doc);
		return CTL_EXIT_REFUSED;
	}
	if (json) {
		fwrite(a->s, 1, a->len, stdout);
		if (a->len == 0 || a->s[a->len - 1] != '\n')
			fputc('\n', stdout);
	} else {
		fwrite(json_object_get_string(csv), 1, (size_t)json_object_get_string_len(csv), stdout);
	}
	json_object_put(doc);
	return 0;
}

/* The daemon is down: what it would print, from the files it wrote below
 * results_dir (default STATE_DIR/results) of the configuration: the
 * newest file set of the job without --run. */
static int results_from_files(const char *config_path, const char *job, int64_t run, bool json)
{
	struct diag dg = { 0 };
	char *dir = NULL, *folder, *text = NULL, *cause = NULL;
	size_t len = 0;
	int r;

	if (cfg_results_dir(config_path, &dir, &dg) < 0) {
		for (size_t i = 0; i < dg.n; i++) {
			char *line = diag_format(&dg, i);
			fprintf(stderr, "%s\n", line);
			free(line);
		}
		diag_clear(&dg);
		return CTL_EXIT_UNREACHABLE;
	}
	diag_clear(&dg);
	folder = resfiles_folder(dir, job);
	fprintf(stderr, "batchcallctl: batchcalld cannot be reached; the rows of the results files in '%s'\n", folder);
	r = resfiles_load(dir, job, run, json, 0, &text, &len, &cause);
	if (r < 0) /* (no file set: the daemon's words for it, resfiles.h) */
		fprintf(stderr, "batchcallctl: job '%s': %s\n", job, cause);
	else
		fwrite(text, 1, len, stdout);
	if (r == 0 && json)
		fputc('\n', stdout); /* as the daemon's answer ends */
	free(cause);
	free(text);
	free(folder);
	free(dir);
	return r < 0 ? CTL_EXIT_REFUSED : CTL_EXIT_OK;
}

/* suppress NUMBER [--reason TEXT]: POST /v1/suppressions. The number is
 * checked here first, as the daemon will (a typo is bad usage, exit 2). */
static int ctl_suppress(const char *config_path, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *o, *v;
	const char *reason = NULL, *why = NULL;
	char normal[SUPPRESS_NORMAL_MAX], *sock = NULL, *body, *msg;
	struct sbuf a = { 0 };
	long status = 0;
	int opt, r;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'r') {
			reason = optarg;
			continue;
		}
		return usage_error("suppress: unknown or incomplete option '%s'", argv[optind - 1]);
	}
	if (optind >= argc)
		return usage_error("suppress: which number? (\"+15550100001\" or \"whatsapp:ID\")");
	if (optind + 1 < argc)
		return usage_error("suppress: unexpected argument '%s'", argv[optind + 1]);
	if (suppress_normalize(argv[optind], strlen(argv[optind]), false, normal, &why) < 0)
		return usage_error("suppress: '%s': %s", argv[optind], why);
	if (socket_path(config_path, &sock) < 0)
		return CTL_EXIT_REFUSED;
	o = json_object_new_object();
	json_object_object_add(o, "number", json_object_new_string(argv[optind]));
	if (reason)
		json_object_object_add(o, "reason", json_object_new_string(reason));
	body = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = call(sock, "POST", "/v1/suppressions", body, &status, &a);
	if (r == 0 && status != 200) {
		msg = error_message(status, &a);
		fprintf(stderr, "batchcallctl: suppress of '%s' refused: %s\n", argv[optind], msg);
		free(msg);
		r = CTL_EXIT_REFUSED;
	} else if (r == 0) {
		const char *result = "added", *number = normal;
		o = json_tokener_parse(a.s ? a.s : "");
		if (o && json_object_object_get_ex(o, "result", &v) && json_object_is_type(v, json_type_string))
			result = json_object_get_string(v);
		if (o && json_object_object_get_ex(o, "number", &v) && json_object_is_type(v, json_type_string))
			number = json_object_get_string(v);
		printf("%s: %s\n", number, result);
		json_object_put(o);
	}
	curl_global_cleanup();
	sbuf_free(&a);
	free(body);
	free(sock);
	return r;
}

/* batchcallctl cluster [--json]: GET /v1/cluster. */
static int ctl_cluster(const char *config_path, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct sbuf a = { 0 };
	char *sock = NULL, *msg;
	bool json = false;
	long status = 0;
	int o, r;

	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (o == 'j')
			json = true;
		else
			return usage_error("cluster: unknown option '%s'", argv[optind - 1]);
	}
	if (optind != argc)
		return usage_error("cluster takes no argument");
	if (socket_path(config_path, &sock) < 0)
		return CTL_EXIT_REFUSED;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = call(sock, "GET", "/v1/cluster", NULL, &status, &a);
	if (r == 0 && status != 200) {
		msg = error_message(status, &a);
		fprintf(stderr, "batchcallctl: %s\n", msg);
		free(msg);
		r = CTL_EXIT_REFUSED;
	} else if (r == 0 && json) {
		fputs(a.s, stdout);
		if (a.len == 0 || a.s[a.len - 1] != '\n')
			fputc('\n', stdout);
	} else if (r == 0) {
		struct json_object *doc = json_tokener_parse(a.s ? a.s : ""), *v, *list;
		const char *node = "?", *role = "?", *leader = "";
		int64_t left = 0, ttl = 0, changes = 0, refused = 0;
		if (!doc) {
			fprintf(stderr, "batchcallctl: the daemon's answer is not JSON\n");
			r = CTL_EXIT_REFUSED;
			goto out;
		}
#define STR(k, var) if (json_object_object_get_ex(doc, k, &v) && json_object_is_type(v, json_type_string)) var = json_object_get_string(v)
#define INT(k, var) if (json_object_object_get_ex(doc, k, &v) && json_object_is_type(v, json_type_int)) var = json_object_get_int64(v)
		STR("node", node);
		STR("role", role);
		STR("leader", leader);
		INT("lease_left_ms", left);
		INT("lease_ttl", ttl);
		INT("leader_changes", changes);
		INT("fenced_refusals", refused);
		printf("node:      %s (%s)\n", node, role);
		printf("leader:    %s\n", *leader ? leader : "(none seen)");
		printf("lease:     %.1f s left of %lld s\n", (double)left / 1000, (long long)ttl);
		printf("changes:   %lld leader changes seen, %lld fenced writes refused\n", (long long)changes,
		       (long long)refused);
		if (json_object_object_get_ex(doc, "members", &list) && json_object_is_type(list, json_type_array)) {
			printf("members:\n");
			for (size_t i = 0; i < json_object_array_length(list); i++) {
				struct json_object *m = json_object_array_get_idx(list, i), *n = NULL, *d = NULL, *l = NULL;
				json_object_object_get_ex(m, "node", &n);
				json_object_object_get_ex(m, "digest", &d);
				json_object_object_get_ex(m, "leader", &l);
				printf("  %-20s job files %.12s%s\n", n ? json_object_get_string(n) : "?",
				       d ? json_object_get_string(d) : "?", l && json_object_get_boolean(l) ? "  leader" : "");
			}
		}
		if (json_object_object_get_ex(doc, "etcd", &list) && json_object_is_type(list, json_type_array)) {
			printf("etcd:\n");
			for (size_t i = 0; i < json_object_array_length(list); i++) {
				struct json_object *m = json_object_array_get_idx(list, i), *ep = NULL, *h = NULL,
						   *il = NULL, *err = NULL, *db = NULL;
				json_object_object_get_ex(m, "endpoint", &ep);
				json_object_object_get_ex(m, "healthy", &h);
				json_object_object_get_ex(m, "is_leader", &il);
				json_object_object_get_ex(m, "error", &err);
				json_object_object_get_ex(m, "db_size", &db);
				if (h && json_object_get_boolean(h))
					printf("  %-28s healthy%s, %lld bytes\n", ep ? json_object_get_string(ep) : "?",
					       il && json_object_get_boolean(il) ? ", raft leader" : "",
					       (long long)(db ? json_object_get_int64(db) : 0));
				else
					printf("  %-28s UNHEALTHY: %s\n", ep ? json_object_get_string(ep) : "?",
					       err ? json_object_get_string(err) : "?");
			}
		}
#undef STR
#undef INT
		json_object_put(doc);
	}
out:
	curl_global_cleanup();
	sbuf_free(&a);
	free(sock);
	return r;
}

int ctl_online(const char *config_path, int argc, char **argv)
{
	static const char *const names[] = { "status", "show", "results", "cancel", "retry", "trigger", "pause",
					     "resume" };
	enum cmd cmd = CMD_STATUS;
	const char *job = NULL;
	bool json = false, found = false;
	int64_t run = 0;
	struct sbuf a = { 0 };
	char *sock = NULL, *path, *msg;
	long status = 0;
	int r;

	if (strcmp(argv[0], "suppress") == 0)
		return ctl_suppress(config_path, argc, argv);
	if (strcmp(argv[0], "cluster") == 0)
		return ctl_cluster(config_path, argc, argv);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(argv[0], names[i]) == 0) {
			cmd = (enum cmd)i;
			found = true;
		}
	if (!found)
		return usage_error("unknown command '%s'", argv[0]);
	r = parse_args(argc, argv, cmd, &json, &job, &run);
	if (r)
		return r;
	if (socket_path(config_path, &sock) < 0)
		return CTL_EXIT_REFUSED;
	if (cmd == CMD_STATUS)
		path = xstrdup("/v1/jobs");
	else if (cmd == CMD_SHOW)
		path = xasprintf("/v1/jobs/%s", job);
	else if (cmd == CMD_RESULTS && run)
		path = xasprintf("/v1/jobs/%s/results/%lld", job, (long long)run);
	else if (cmd == CMD_RESULTS)
		path = xasprintf("/v1/jobs/%s/results", job);
	else
		path = xasprintf("/v1/jobs/%s/%s", job, names[cmd]);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = call(sock, cmd <= CMD_RESULTS ? "GET" : "POST", path, NULL, &status, &a);
	if (r == CTL_EXIT_UNREACHABLE && cmd == CMD_RESULTS) {
		r = results_from_files(config_path, job, run, json);
		goto out;
	}
	if (r)
		goto out;
	if (status != 200) {
		msg = error_message(status, &a);
		if (status == 404 && job)
			fprintf(stderr, "batchcallctl: %s\n", msg);
		else if (status == 409)
			fprintf(stderr, "batchcallctl: %s of job '%s' refused: %s\n", names[cmd], job, msg);
		else
			fprintf(stderr, "batchcallctl: the daemon answered HTTP %ld: %s\n", status, msg);
		free(msg);
		r = CTL_EXIT_REFUSED;
		goto out;
	}
	if (cmd == CMD_RESULTS)
		r = print_results(json, &a);
	else if (cmd <= CMD_SHOW)
		r = print_view(cmd, json, &a);
	else
		r = print_operation(names[cmd], job, &a);
out:
	curl_global_cleanup();
	sbuf_free(&a);
	free(path);
	free(sock);
	return r;
}
