/*
 * batchcallctl: the operator's command line. Offline commands (check, plan)
 * load the files themselves; the online ones (status, show, cancel, retry,
 * trigger, pause, resume) talk to the daemon's control socket and sit
 * beside them in the command table. main only parses the global options and dispatches.
 *
 * Exit codes (SPEC §7): 0 success, 1 invalid configuration or a refused
 * operation, 2 bad usage, 3 the daemon cannot be reached.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "ctl_online.h"
#include "plan.h"
#include "suppress_store.h"
#include "util.h"

#define EXIT_INVALID 1
#define EXIT_USAGE 2

static const char usage_text[] =
	"usage: batchcallctl [-c FILE] check\n"
	"       batchcallctl [-c FILE] plan [--from TIME] [--count N] [--json]\n"
	CTL_ONLINE_USAGE
	"       batchcallctl --help | --version\n";

static const char help_text[] =
	"\n"
	"Commands:\n"
	"  check                validate the daemon configuration and every job file;\n"
	"                       print each error as FILE:LINE: message\n"
	"  plan                 list every job's run with its local time, UTC and unix\n"
	"                       seconds, when it really starts after calling hours, and\n"
	"                       whether it is future, late, missed or disabled\n"
	"  status, show JOB     ask the daemon (control socket): every job, or one job\n"
	"  cancel|retry|trigger|pause|resume JOB\n"
	"                       operate on a job's run through the daemon\n"
	"  suppress NUMBER      add an E.164 number (or whatsapp:ID) to the daemon's own\n"
	"                       do-not-call list, durably; --reason TEXT is kept with it\n"
	"  cluster              cluster mode: this node's role, the leader, the lease left,\n"
	"                       the members and each etcd endpoint's health\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE    daemon configuration (default " CFG_DEFAULT_PATH ")\n"
	"      --from TIME      plan relative to TIME instead of now: unix seconds,\n"
	"                       \"YYYY-MM-DD HH:MM[:SS]\" (UTC) or ISO 8601 with Z or an offset\n"
	"      --count N        the next N occurrences of each recurring job (default 1)\n"
	"      --json           plan as one JSON document\n"
	"  -h, --help           show this help\n"
	"  -V, --version        show the version\n"
	"\n"
	"Exit status: 0 success, 1 invalid configuration or a refused operation, 2 bad usage,\n"
	"3 the daemon cannot be reached.\n";

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("batchcallctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

/* Load the configuration, printing every error; NULL when it is invalid. */
static struct daemonconf *load_or_report(const char *path)
{
	struct diag d = { 0 };
	struct daemonconf *c = NULL;
	int r = cfg_load(path, &c, &d);

	for (size_t i = 0; i < d.n; i++) {
		char *line = diag_format(&d, i);
		fprintf(stderr, "%s\n", line);
		free(line);
	}
	if (r < 0 && d.n == 0)
		fprintf(stderr, "%s: cannot load: %s\n", path, strerror(-r));
	diag_clear(&d);
	return r < 0 ? NULL : c;
}

static int cmd_check(const char *config, int argc, char **argv)
{
	struct daemonconf *c;

	if (argc > 1)
		return bad_usage("check takes no arguments");
	c = load_or_report(config);
	if (!c)
		return EXIT_INVALID;
	/* Recipients on a do-not-call list: warnings (the run goes out
	 * without them), not errors. */
	suppress_store_check(c, stderr);
	printf("%zu job%s in %zu file%s, %zu recipient%s\n", c->n_jobs, c->n_jobs == 1 ? "" : "s", c->n_files,
	       c->n_files == 1 ? "" : "s", c->n_recipients, c->n_recipients == 1 ? "" : "s");
	daemonconf_free(c);
	return 0;
}

static int cmd_plan(const char *config, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemonconf *c;
	struct plan *p = NULL;
	int64_t from = (int64_t)time(NULL), count = 1;
	bool json = false;
	char *out;
	int o;

	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (o) {
		case 'f':
			if (plan_parse_time(optarg, &from) < 0)
				return bad_usage("--from: cannot read '%s' as a time (unix seconds, "
						 "\"YYYY-MM-DD HH:MM[:SS]\" UTC, or ISO 8601 with Z or an offset)",
						 optarg);
			break;
		case 'j':
			json = true;
			break;
		case 'n':
			if (parse_int64(optarg, 1, PLAN_MAX_COUNT, &count) < 0)
				return bad_usage("--count: '%s' is not a number from 1 to %d", optarg, PLAN_MAX_COUNT);
			break;
		default:
			return bad_usage("plan: unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_usage("plan: unexpected argument '%s'", argv[optind]);
	c = load_or_report(config);
	if (!c)
		return EXIT_INVALID;
	plan_build_count(c, from, (size_t)count, &p);
	out = json ? plan_format_json(p) : plan_format_text(p);
	fputs(out, stdout);
	free(out);
	plan_free(p);
	daemonconf_free(c);
	return 0;
}

struct command {
	const char *name;
	int (*run)(const char *config, int argc, char **argv);
};

static const struct command commands[] = {
	{ "check", cmd_check },
	{ "plan", cmd_plan },
	{ "status", ctl_online },
	{ "show", ctl_online },
	{ "results", ctl_online },
	{ "cancel", ctl_online },
	{ "retry", ctl_online },
	{ "trigger", ctl_online },
	{ "pause", ctl_online },
	{ "resume", ctl_online },
	{ "suppress", ctl_online },
	{ "cluster", ctl_online },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = CFG_DEFAULT_PATH;
	int o, r;

	opterr = 0;
	/* '+': stop at the command, whose options are its own */
	while ((o = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			return 0;
		case 'V':
			printf("batchcallctl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			return bad_usage("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return bad_usage("no command given");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			r = commands[i].run(config, argc - optind, argv + optind);
			if (fflush(stdout) != 0 && r == 0)
				r = EXIT_INVALID;
			return r;
		}
	}
	return bad_usage("unknown command '%s'", argv[optind]);
}
