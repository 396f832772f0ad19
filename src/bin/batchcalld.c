/*
 * batchcalld: argv, the API key, signals and the event loop; everything
 * else lives in the engine.
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "cluster.h"
#include "control.h"
#include "hook.h"
#include "engine.h"
#include "log.h"
#include "notify.h"
#include "standby.h"
#include "store.h"
#include "suppress_store.h"
#include "file.h"
#include "util.h"

#define API_KEY_MAX 4096

static void usage(FILE *f)
{
	fprintf(f, "usage: batchcalld [-c FILE] [--log-target=auto|journal|console] [--verbose] [--check]\n"
		   "                  [--version] [--help]\n");
}

/* Strip surrounding whitespace (a key file usually ends with a newline). */
static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* True when s is usable in the xi-api-key header: no space, no control
 * character (the API layer refuses those, and would blame the base URL). */
static bool key_printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

/* $ELEVENLABS_API_KEY, taken out of the environment before anything else
 * runs: /proc/PID/environ shows the bytes the environment had at exec, in
 * the process's own memory, so unsetenv alone would leave the key there.
 * Its bytes are overwritten in place; the copy returned (NULL when unset)
 * is the only one left. */
static char *take_env(const char *name)
{
	char *v = getenv(name), *copy = NULL;

	if (v) {
		copy = xstrdup(v);
		explicit_bzero(v, strlen(v));
	}
	unsetenv(name);
	return copy;
}

static char *take_env_key(void)
{
	return take_env("ELEVENLABS_API_KEY");
}

/* A secret read from the file path (buf, len bytes: wiped and freed
 * here): one line, no spaces or control characters. what names it in the
 * message ("the API key file"). */
static int secret_of_file(char *buf, size_t len, const char *what, const char *path, char **ret, char **cause)
{
	char *v = memchr(buf, '\0', len) ? NULL : trim(buf);
	int r = 0;

	if (!v || !*v || !key_printable(v)) {
		*cause = xasprintf("%s '%s' is empty or holds more than one line (or spaces, or control characters)",
				   what, path);
		r = -EINVAL;
	} else {
		*ret = xstrdup(v);
	}
	explicit_bzero(buf, len);
	free(buf);
	return r;
}

/* The same for the value of an environment variable (what: "the API key
 * in $ELEVENLABS_API_KEY"); $(cat file) keeps no newline, but a heredoc or
 * echo may. */
static int secret_of_env(const char *env, const char *what, char **ret, char **cause)
{
	char *copy = xstrdup(env), *v = trim(copy);
	int r = 0;

	if (!*v || !key_printable(v)) {
		*cause = xasprintf("%s is blank or holds spaces or control characters", what);
		r = -EINVAL;
	} else {
		*ret = xstrdup(v);
	}
	explicit_bzero(copy, strlen(env));
	free(copy);
	return r;
}

/* The key: api_key_file, else $CREDENTIALS_DIRECTORY/elevenlabs-api-key,
 * else $ELEVENLABS_API_KEY (env, as take_env_key left it). Never logged;
 * only its source is named. */
static int load_api_key(const struct daemonconf *c, const char *env, char **ret, char **cause)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	char *path = NULL, *buf = NULL;
	size_t len;
	int r;

	if (c->api.api_key_file)
		path = xstrdup(c->api.api_key_file);
	else if (creds && *creds)
		path = xasprintf("%s/elevenlabs-api-key", creds);
	if (path) {
		r = file_read(path, API_KEY_MAX, &buf, &len);
		if (r < 0)
			*cause = xasprintf("cannot read the API key from '%s': %s", path,
					   r == -EFBIG ? "file too large" : strerror(-r));
		else
			r = secret_of_file(buf, len, "the API key file", path, ret, cause);
		free(path);
		return r;
	}
	if (env && *env)
		return secret_of_env(env, "the API key in $ELEVENLABS_API_KEY", ret, cause);
	*cause = xstrdup("no API key: set api.api_key_file, provide the credential 'elevenlabs-api-key' "
			 "(systemd LoadCredential=), or set $ELEVENLABS_API_KEY");
	return -ENOKEY;
}

/* The webhook secret: $CREDENTIALS_DIRECTORY/elevenlabs-webhook-secret,
 * else $ELEVENLABS_WEBHOOK_SECRET (taken out of the environment like the
 * key). The same rules as the key: one line, no spaces or control
 * characters; never logged. */
static int load_webhook_secret(const char *env, char **ret, char **cause)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	char *buf = NULL, *path;
	size_t len;
	int r;

	if (creds && *creds) {
		path = xasprintf("%s/elevenlabs-webhook-secret", creds);
		r = file_read(path, API_KEY_MAX, &buf, &len);
		if (r == 0) {
			r = secret_of_file(buf, len, "the webhook secret file", path, ret, cause);
			free(path);
			return r;
		}
		free(path);
		if (r != -ENOENT) {
			*cause = xasprintf("cannot read the credential 'elevenlabs-webhook-secret': %s", strerror(-r));
			return r;
		}
	}
	if (env && *env)
		return secret_of_env(env, "the webhook secret in $ELEVENLABS_WEBHOOK_SECRET", ret, cause);
	*cause = xstrdup("webhook_listen is set but there is no webhook secret: provide the credential "
			 "'elevenlabs-webhook-secret' (systemd LoadCredential=) or set $ELEVENLABS_WEBHOOK_SECRET");
	return -ENOKEY;
}

static int print_diag(struct diag *d);

/* What the signals and the cluster's hooks work on. */
struct daemon {
	struct event_base *base;
	const char *config;
	struct daemonconf *conf; /* a standby's configuration (the engine owns its own) */
	const char *key;
	struct engine *e;
	struct control *ctl;
	struct cluster *cl;
	struct standby *sb;
	struct engine_shared shared; /* the leader's engine keeps its state in etcd */
	const char *secret;          /* the webhook secret (webhook_listen) */
	struct hook *hook;           /* the webhook receiver: a standby's, then the leader's */
};

/* A standby's SIGHUP: the job files again, and their digest. */
static void standby_reload(struct daemon *d)
{
	struct daemonconf *nc = NULL;
	struct diag dg = { 0 };
	char digest[65];

	notify_reloading();
	if (cfg_load(d->config, &nc, &dg) < 0) {
		print_diag(&dg);
		diag_clear(&dg);
		log_event(LOG_ERR, EV_RELOAD_FAILED, NULL,
			  "reload refused: errors in the configuration; the previous one stays in force");
		notify_ready();
		return;
	}
	standby_set_conf(d->sb, nc);
	if (d->hook)
		hook_set_tolerance(d->hook, nc->webhook_tolerance);
	daemonconf_free(d->conf);
	d->conf = nc;
	cluster_digest(nc, digest);
	cluster_set_digest(d->cl, digest);
	log_event(LOG_NOTICE, EV_RELOADED, NULL, "reloaded (standby): %zu jobs in %zu files", nc->n_jobs, nc->n_files);
	notify_ready();
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	char digest[65];

	(void)what;
	if (!d->e) {
		/* a standby */
		if (sig == SIGHUP)
			standby_reload(d);
		else {
			notify_stopping();
			log_event(LOG_NOTICE, EV_DAEMON_STOPPED, NULL, "stopped (standby)");
			event_base_loopexit(d->base, NULL);
		}
		return;
	}
	if (sig == SIGHUP) {
		engine_reload(d->e);
		if (d->cl) {
			cluster_digest(engine_conf(d->e), digest);
			cluster_set_digest(d->cl, digest);
		}
	} else
		engine_stop(d->e);
}

/* The cluster made this node the leader: the engine, on the runs in etcd,
 * every request behind the fence. */
static void lead_cb(void *arg)
{
	struct daemon *d = arg;
	struct control_source src;
	char *cause = NULL;
	struct timespec now;

	d->shared = (struct engine_shared){
		.etcd = cluster_etcd(d->cl),
		.prefix = cluster_prefix(d->cl),
		.fence_key = cluster_leader_key(d->cl),
		.fence_rev = cluster_fence_rev(d->cl),
		.fenced = cluster_fenced,
		.arg = d->cl,
	};
	if (engine_new_shared(d->base, d->config, d->conf, d->key, &d->shared, &d->e, &cause) < 0) {
		d->conf = NULL; /* the engine took it over and freed it */
		log_event(LOG_ERR, EV_STATE_ERROR, NULL, "the leader cannot start: %s", cause ? cause : "?");
		cluster_resign(d->cl);
		_exit(CLUSTER_EXIT_LOST);
	}
	d->conf = NULL;
	engine_set_fence(d->e, cluster_fence_ok, d->cl);
	/* the standby's receiver works for the engine from now on (the same
	 * socket), before engine_start */
	if (d->hook)
		hook_set_engine(d->hook, d->e);
	control_engine_source(d->e, &src);
	src.cluster = d->cl;
	control_set_source(d->ctl, &src);
	standby_free(d->sb);
	d->sb = NULL;
	clock_gettime(CLOCK_REALTIME, &now);
	/* runs that came due before now were the last leader's, or nobody's:
	 * looked up before they are sent */
	engine_start(d->e, (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
}

/* Cluster mode: a standby until the cluster says this node leads. */
static int run_cluster(struct daemon *d, char **cause)
{
	struct control_source src;
	struct cluster_hooks h = { .lead = lead_cb, .arg = d };
	char digest[65];
	int r;

	cluster_digest(d->conf, digest);
	mkdir(d->conf->state_dir, 0750); /* (its counters; the engine locks it once it leads) */
	r = cluster_new(d->base, d->conf->cluster, d->conf->state_dir, digest, &d->cl, cause);
	if (r < 0)
		return r;
	d->sb = standby_new(d->cl, d->conf);
	standby_source(d->sb, &src);
	r = control_new_src(d->base, &src, d->conf, &d->ctl, cause);
	if (r < 0)
		return r;
	if (d->conf->webhook_listen) {
		/* every node receives post-call webhooks and keeps them in etcd */
		struct engine_shared sh = { .etcd = cluster_etcd(d->cl), .prefix = cluster_prefix(d->cl) };
		r = hook_new_standby(d->base, &sh, d->conf->webhook_tolerance, d->ctl, d->conf->webhook_listen,
				     d->secret, &d->hook, cause);
		if (r < 0)
			return r;
		log_event(LOG_INFO, EV_CONTROL_LISTENING, NULL, "post-call webhooks received on %s",
			  d->conf->webhook_listen);
	}
	cluster_start(d->cl, &h);
	log_event(LOG_NOTICE, EV_DAEMON_STARTED, NULL,
		  "batchcalld %s started as cluster node '%s': %zu jobs in %zu files; a standby until it leads",
		  PACKAGE_VERSION, d->conf->cluster->node_name, d->conf->n_jobs, d->conf->n_files);
	notify_ready();
	return 0;
}

static int print_diag(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		char *line = diag_format(d, i);
		if (log_get_target() == LOG_TARGET_JOURNAL)
			log_event(LOG_ERR, EV_CONFIG_ERROR, NULL, "%s", line);
		else
			fprintf(stderr, "%s\n", line);
		free(line);
	}
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "log-target", required_argument, NULL, 'L' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "check", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = CFG_DEFAULT_PATH;
	enum log_target target = LOG_TARGET_AUTO;
	struct timespec born;
	int64_t born_ms;
	bool check = false, verbose = false;
	struct daemonconf *conf = NULL;
	struct diag d = { 0 };
	struct event_base *base = NULL;
	struct engine *e = NULL;
	struct control *ctl = NULL;
	struct event *sig[3] = { NULL };
	struct daemon dm = { 0 };
	struct hook *hook = NULL;
	char *key = NULL, *cause = NULL, *env_key, *env_secret, *secret = NULL;
	int c, status = 1;

	/* When this daemon began, before any file is read: a run that comes
	 * due after it is its own, never an earlier life's (engine_start). */
	clock_gettime(CLOCK_REALTIME, &born);
	born_ms = (int64_t)born.tv_sec * 1000 + born.tv_nsec / 1000000;

	/* A process that holds the API key never dumps core (LimitCORE=0 in
	 * the unit says the same) and cannot be ptraced by its own user. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* A run's timer wakes the daemon at its instant, not up to the
	 * default 50 us slack later: the slack is part of every submit's
	 * lateness. (An idle daemon has no timer to fire early or late.) */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'L':
			if (log_target_parse(optarg, &target) < 0) {
				fprintf(stderr, "batchcalld: unknown log target '%s'\n", optarg);
				usage(stderr);
				return 2;
			}
			break;
		case 'v':
			verbose = true;
			break;
		case 'C':
			check = true;
			break;
		case 'V':
			printf("batchcalld %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* Before any file is read (argv parsing reads nothing). */
	env_key = take_env_key();
	env_secret = take_env("ELEVENLABS_WEBHOOK_SECRET");
	log_open(target, verbose ? LOG_DEBUG : LOG_INFO);

	if (cfg_load(config, &conf, &d) < 0) {
		status = print_diag(&d);
		goto out;
	}
	if (check) {
		suppress_store_check(conf, stderr);
		printf("%zu jobs in %zu files, %zu recipients\n", conf->n_jobs, conf->n_files, conf->n_recipients);
		status = 0;
		goto out;
	}
	if (load_api_key(conf, env_key, &key, &cause) < 0) {
		log_event(LOG_ERR, EV_API_KEY, NULL, "%s", cause);
		goto out;
	}
	if (conf->webhook_listen && load_webhook_secret(env_secret, &secret, &cause) < 0) {
		log_event(LOG_ERR, EV_API_KEY, NULL, "%s", cause);
		goto out;
	}
	/* libcurl runs with CURLOPT_NOSIGNAL: a peer closing a socket must not
	 * kill us. */
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (!base) {
		log_event(LOG_ERR, EV_INTERNAL, NULL, "cannot create the event loop");
		goto out;
	}
	dm.base = base;
	dm.config = config;
	dm.key = key;
	dm.secret = secret;
	if (conf->cluster) {
		dm.conf = conf;
		conf = NULL;
		if (run_cluster(&dm, &cause) < 0) {
			log_event(LOG_ERR, EV_CONTROL_FAILED, NULL, "%s", cause);
			goto out;
		}
		sig[0] = evsignal_new(base, SIGHUP, signal_cb, &dm);
		sig[1] = evsignal_new(base, SIGTERM, signal_cb, &dm);
		sig[2] = evsignal_new(base, SIGINT, signal_cb, &dm);
		for (size_t i = 0; i < ARRAY_SIZE(sig); i++)
			event_add(sig[i], NULL);
		notify_watchdog_start(base);
		event_base_dispatch(base);
		/* the engine stopped (or a standby did): a standby takes over
		 * at once */
		cluster_resign(dm.cl);
		status = 0;
		goto out;
	}
	if (engine_new(base, config, conf, key, &e, &cause) < 0) {
		conf = NULL; /* the engine took it over and freed it */
		log_event(LOG_ERR, EV_STATE_ERROR, NULL, "%s", cause);
		goto out;
	}
	conf = NULL;
	dm.e = e;
	if (control_new(base, e, engine_conf(e), &ctl, &cause) < 0) {
		log_event(LOG_ERR, EV_CONTROL_FAILED, NULL, "%s", cause);
		goto out;
	}
	if (engine_conf(e)->webhook_listen) {
		if (hook_new(base, e, ctl, engine_conf(e)->webhook_listen, secret, &hook, &cause) < 0) {
			log_event(LOG_ERR, EV_CONTROL_FAILED, NULL, "%s", cause);
			goto out;
		}
		log_event(LOG_INFO, EV_CONTROL_LISTENING, NULL, "post-call webhooks received on %s",
			  engine_conf(e)->webhook_listen);
	}
	sig[0] = evsignal_new(base, SIGHUP, signal_cb, &dm);
	sig[1] = evsignal_new(base, SIGTERM, signal_cb, &dm);
	sig[2] = evsignal_new(base, SIGINT, signal_cb, &dm);
	for (size_t i = 0; i < ARRAY_SIZE(sig); i++)
		event_add(sig[i], NULL);
	notify_watchdog_start(base);
	engine_start(e, born_ms);
	event_base_dispatch(base);
	status = 0;
out:
	notify_watchdog_stop();
	for (size_t i = 0; i < ARRAY_SIZE(sig); i++)
		if (sig[i])
			event_free(sig[i]);
	hook_free(hook);
	hook_free(dm.hook);
	control_free(ctl);
	engine_free(e);
	control_free(dm.ctl);
	standby_free(dm.sb);
	engine_free(dm.e != e ? dm.e : NULL);
	cluster_free(dm.cl);
	daemonconf_free(dm.conf);
	if (base)
		event_base_free(base);
	daemonconf_free(conf);
	diag_clear(&d);
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	if (env_key) {
		explicit_bzero(env_key, strlen(env_key));
		free(env_key);
	}
	if (env_secret) {
		explicit_bzero(env_secret, strlen(env_secret));
		free(env_secret);
	}
	if (secret) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	free(cause);
	return status;
}
