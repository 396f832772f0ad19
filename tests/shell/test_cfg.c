/*
 * test_cfg: the loader against fixtures. Every file of tests/data/bad/jobs
 * (job files) and tests/data/bad/daemon (daemon files) says on its first
 * lines which errors it must produce ("# expect: LINE: text", or
 * "# expect: FILE.csv:ROW: text" for its CSV), and the generic tests assert
 * that exactly those appear, at those places. Targeted tests check the
 * values of a good load, defaults inheritance, names unique across files
 * and robustness against junk.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calendar.h"
#include "cfg.h"
#include "codec.h"
#include "conv.h"
#include "ledger.h"
#include "tz.h"
#include "window.h"

#define BAD_JOBS TEST_DATADIR "/bad/jobs"
#define BAD_DAEMON TEST_DATADIR "/bad/daemon"
#define GOOD TEST_DATADIR "/good/batchcalld.conf"
#define GOOD_REPEAT TEST_DATADIR "/good-repeat/batchcalld.conf"

struct expect {
	char file[128]; /* basename */
	int line;
	char text[512];
	bool seen;
};

static void write_text(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static char *make_tmpdir(void)
{
	char *t = xstrdup("/tmp/test_cfg.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t));
	return t;
}

static void rm_rf(const char *path)
{
	char *cmd = xasprintf("rm -rf '%s'", path);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* A daemon file in dir whose jobs_dir is dir/jobs.d (created). */
static char *make_daemon(const char *dir, const char *extra)
{
	char *conf = xasprintf("%s/batchcalld.conf", dir), *jd = xasprintf("%s/jobs.d", dir);
	char *text = xasprintf("jobs_dir = \"jobs.d\";\n%s", extra ? extra : "");
	ck_assert_int_eq(mkdir(jd, 0755), 0);
	write_text(conf, text, strlen(text));
	free(jd);
	free(text);
	return conf;
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static size_t read_expect(const char *path, struct expect *ex, size_t max)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	size_t n = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) && strncmp(line, "# expect: ", 10) == 0 && n < max) {
		char *p = line + 10, *colon = strchr(p, ':');
		ck_assert_ptr_nonnull(colon);
		*colon = '\0';
		memset(&ex[n], 0, sizeof(ex[n]));
		if (p[0] >= '0' && p[0] <= '9') {
			snprintf(ex[n].file, sizeof(ex[n].file), "%.*s", (int)sizeof(ex[n].file) - 1, base(path));
			ex[n].line = atoi(p);
		} else {
			char *c2 = strchr(colon + 1, ':');
			ck_assert_ptr_nonnull(c2);
			*c2 = '\0';
			snprintf(ex[n].file, sizeof(ex[n].file), "%.*s", (int)sizeof(ex[n].file) - 1, p);
			ex[n].line = atoi(colon + 1);
			colon = c2;
		}
		p = colon + 1;
		if (*p == ' ')
			p++;
		p[strcspn(p, "\n")] = '\0';
		snprintf(ex[n].text, sizeof(ex[n].text), "%.*s", (int)sizeof(ex[n].text) - 1, p);
		n++;
	}
	fclose(f);
	ck_assert_msg(n > 0, "%s has no '# expect:' line", path);
	return n;
}

/* Every diagnostic must match one expectation and the other way round;
 * false (with both lists printed) when they differ. */
static bool match(const char *fixture, const struct diag *d, struct expect *ex, size_t n)
{
	bool ok = d->n == n;

	for (size_t i = 0; i < d->n; i++) {
		const struct diag_entry *e = &d->v[i];
		bool found = false;
		for (size_t k = 0; k < n && !found; k++) {
			if (ex[k].seen || !e->file || strcmp(base(e->file), ex[k].file) != 0 || e->line != ex[k].line ||
			    !strstr(e->msg, ex[k].text))
				continue;
			ex[k].seen = found = true;
		}
		if (!found)
			ok = false;
	}
	if (!ok) {
		fprintf(stderr, "%s: expected %zu error(s), got %zu:\n", fixture, n, d->n);
		for (size_t i = 0; i < d->n; i++) {
			char *l = diag_format(d, i);
			fprintf(stderr, "  got:  %s\n", l);
			free(l);
		}
		for (size_t k = 0; k < n; k++)
			fprintf(stderr, "  want: %s:%d: %s%s\n", ex[k].file, ex[k].line, ex[k].text,
				ex[k].seen ? "" : "   <- missing");
	}
	return ok;
}

static char **list_conf(const char *dir, size_t *ret_n)
{
	DIR *dh = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, cap = 0;

	ck_assert_ptr_nonnull(dh);
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name);
		if (len > 5 && strcmp(de->d_name + len - 5, ".conf") == 0) {
			xgrow((void **)&v, &cap, n + 1, sizeof(*v));
			v[n++] = xstrdup(de->d_name);
		}
	}
	closedir(dh);
	*ret_n = n;
	return v;
}

/* One bad job file alone in a jobs folder, its CSV files beside it. */
START_TEST(test_bad_job_fixtures)
{
	size_t n;
	char **names = list_conf(BAD_JOBS, &n);
	size_t n_bad = 0;

	ck_assert_uint_ge(n, 30);
	for (size_t i = 0; i < n; i++) {
		char *dir = make_tmpdir(), *conf = make_daemon(dir, NULL);
		char *src = xasprintf("%s/%s", BAD_JOBS, names[i]), *dst = xasprintf("%s/jobs.d/%s", dir, names[i]);
		char *cmd = xasprintf("ln -s %s/*.csv '%s/jobs.d/'", BAD_JOBS, dir);
		struct expect ex[16];
		size_t nex = read_expect(src, ex, 16);
		struct diag d = { 0 };
		struct daemonconf *c = NULL;

		ck_assert_int_eq(symlink(src, dst), 0);
		ck_assert_int_eq(system(cmd), 0);
		ck_assert_int_eq(cfg_load(conf, &c, &d), -EINVAL);
		ck_assert_ptr_null(c);
		if (!match(names[i], &d, ex, nex))
			n_bad++;
		diag_clear(&d);
		rm_rf(dir);
		free(cmd);
		free(src);
		free(dst);
		free(conf);
		free(dir);
		free(names[i]);
	}
	free(names);
	ck_assert_msg(n_bad == 0, "%zu fixture(s) gave other errors than their '# expect:' lines (see above)", n_bad);
}
END_TEST

START_TEST(test_bad_daemon_fixtures)
{
	size_t n;
	char **names = list_conf(BAD_DAEMON, &n);
	size_t n_bad = 0;

	ck_assert_uint_ge(n, 7);
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", BAD_DAEMON, names[i]);
		struct expect ex[16];
		size_t nex = read_expect(path, ex, 16);
		struct diag d = { 0 };
		struct daemonconf *c = NULL;

		ck_assert_int_eq(cfg_load(path, &c, &d), -EINVAL);
		ck_assert_ptr_null(c);
		if (!match(names[i], &d, ex, nex))
			n_bad++;
		diag_clear(&d);
		free(path);
		free(names[i]);
	}
	free(names);
	ck_assert_msg(n_bad == 0, "%zu fixture(s) gave other errors than their '# expect:' lines (see above)", n_bad);
}
END_TEST

static struct daemonconf *load_good(void)
{
	struct diag d = { 0 };
	struct daemonconf *c = NULL;
	int r = cfg_load(GOOD, &c, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "unexpected: %s\n", diag_format(&d, i));
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(d.n, 0);
	return c;
}

START_TEST(test_good_daemon_values)
{
	struct daemonconf *c = load_good();

	ck_assert_str_eq(c->api.base_url, "http://127.0.0.1:8089");
	ck_assert_str_eq(c->api.api_key_file, TEST_DATADIR "/good/secrets/key");
	ck_assert_str_eq(c->api.ca_file, "/etc/ssl/certs/ca-certificates.crt");
	ck_assert_int_eq(c->api.request_timeout, 12);
	ck_assert_int_eq(c->api.max_concurrent_requests, 4);
	ck_assert_double_eq(c->api.max_requests_per_second, 2.5);
	ck_assert_str_eq(c->jobs_dir, TEST_DATADIR "/good/jobs.d");
	ck_assert_str_eq(c->state_dir, TEST_DATADIR "/good/state");
	ck_assert_str_eq(c->control_socket, "/run/batchcalld/control.sock");
	ck_assert_str_eq(c->control_group, "batchcall");
	ck_assert_str_eq(c->metrics_listen, "127.0.0.1:9464");
	ck_assert_int_eq(c->poll_interval, 15);
	ck_assert_int_eq(c->state_retention, 604800);
	ck_assert_uint_eq(c->n_jobs, 4);
	ck_assert_uint_eq(c->n_files, 2);
	ck_assert_uint_eq(c->n_recipients, 7);
	/* sorted by name, found by name */
	ck_assert_str_eq(c->jobs[0].name, "dec-renewals");
	ck_assert_str_eq(c->jobs[1].name, "gap-job");
	ck_assert_str_eq(c->jobs[2].name, "kolkata");
	ck_assert_str_eq(c->jobs[3].name, "wa.sg");
	ck_assert_ptr_eq(daemonconf_find(c, "kolkata"), &c->jobs[2]);
	ck_assert_ptr_null(daemonconf_find(c, "kolkat"));
	daemonconf_free(c);
}
END_TEST

START_TEST(test_good_job_values)
{
	struct daemonconf *c = load_good();
	const struct jobspec *j = daemonconf_find(c, "dec-renewals");
	const struct recipient *r;

	ck_assert_str_eq(j->agent_id, "agent_01");
	ck_assert_str_eq(j->phone_number_id, "phnum_01");
	ck_assert_str_eq(j->call_name, "December renewals");
	ck_assert(j->has_start);
	ck_assert_str_eq(j->start_text, "2026-12-01 09:00");
	/* defaults: zone, lateness, on_removal, ringing; retry merged key by key */
	ck_assert_str_eq(j->timezone, "America/New_York");
	{
		int off; /* New York's zone: EST in December */
		tz_lookup(j->tz, 1796133600, &off, NULL, NULL);
		ck_assert_int_eq(off, -5 * 3600);
	}
	ck_assert_int_eq(j->start, 1796133600); /* 14:00Z */
	ck_assert_int_eq(j->max_lateness, 600);
	ck_assert_int_eq(j->on_removal, ON_REMOVAL_KEEP);
	ck_assert_int_eq(j->ringing_timeout_secs, 40);
	ck_assert_int_eq(j->retry.max_retries, 1);
	ck_assert_int_eq(j->retry.delay, 300);
	ck_assert_double_eq(j->retry.backoff, 1.5);
	ck_assert_int_eq(j->retry.max_delay, 1800);
	ck_assert_int_eq(j->target_concurrency_limit, 5);
	ck_assert_int_eq(j->submit_ahead, 0);
	ck_assert(j->enabled);
	ck_assert_str_eq(j->recipients_csv, TEST_DATADIR "/good/jobs.d/dec-renewals.csv");
	ck_assert_int_eq(j->line, 3);
	ck_assert_str_eq(base(j->file), "10-us.conf");

	/* inline recipient first, variables keep their types */
	ck_assert_uint_eq(j->n_recipients, 4);
	r = &j->recipients[0];
	ck_assert_str_eq(r->phone_number, "+15550100001");
	ck_assert_str_eq(r->id, "cust-1");
	ck_assert_uint_eq(r->n_vars, 5);
	ck_assert_str_eq(r->vars[0].name, "first_name");
	ck_assert_int_eq(r->vars[0].type, VAR_STRING);
	ck_assert_str_eq(r->vars[0].s, "Ada");
	ck_assert_int_eq(r->vars[1].type, VAR_INT);
	ck_assert_int_eq(r->vars[1].i, 14);
	ck_assert_int_eq(r->vars[2].type, VAR_INT);
	ck_assert_int_eq(r->vars[2].i, 5000000000LL);
	ck_assert_int_eq(r->vars[3].type, VAR_BOOL);
	ck_assert(r->vars[3].b);
	ck_assert_int_eq(r->vars[4].type, VAR_FLOAT);
	ck_assert_double_eq(r->vars[4].f, 12.5);

	/* CSV: override columns, string variables, empty cells omitted */
	r = &j->recipients[1];
	ck_assert_str_eq(r->phone_number, "+15550100002");
	ck_assert_str_eq(r->id, "cust-2");
	ck_assert_str_eq(r->language, "en");
	ck_assert_ptr_null(r->first_message);
	ck_assert_ptr_null(r->system_prompt);
	ck_assert_ptr_null(r->voice_id);
	ck_assert_uint_eq(r->n_vars, 2);
	ck_assert_str_eq(r->vars[0].name, "first_name");
	ck_assert_str_eq(r->vars[0].s, "Grace");
	ck_assert_str_eq(r->vars[1].name, "plan");
	ck_assert_str_eq(r->vars[1].s, "Pro");
	ck_assert_int_eq(r->line, 2);
	r = &j->recipients[2];
	ck_assert_str_eq(r->first_message, "Hola Alan, ¿qué tal?");
	ck_assert_str_eq(r->system_prompt, "Be brief.\r\nUse Spanish.");
	ck_assert_str_eq(r->voice_id, "voice_es");
	ck_assert_uint_eq(r->n_vars, 1);
	r = &j->recipients[3];
	ck_assert_ptr_null(r->id);
	ck_assert_int_eq(r->line, 5);
	ck_assert_str_eq(r->vars[0].s, "Barbara \"Babs\"");

	j = daemonconf_find(c, "gap-job");
	/* in the spring-forward gap: the offset before the gap (EST) */
	ck_assert_int_eq(j->start, 1772955000); /* 2026-03-08T07:30Z */
	ck_assert(!j->enabled);

	j = daemonconf_find(c, "kolkata");
	ck_assert_int_eq(j->start, 1796133615); /* 19:30:15 +05:30 = 14:00:15Z */
	ck_assert_int_eq(j->max_lateness, 0);
	ck_assert_int_eq(j->submit_ahead, 120);
	ck_assert_int_eq(j->on_removal, ON_REMOVAL_CANCEL);
	ck_assert_str_eq(j->recipients[0].language, "hi");
	ck_assert_str_eq(j->recipients[0].voice_id, "v1");

	j = daemonconf_find(c, "wa.sg");
	ck_assert(!j->has_start);
	ck_assert_ptr_null(j->start_text);
	ck_assert_int_eq(j->start, 1796112000);
	ck_assert(j->has_whatsapp);
	ck_assert_str_eq(j->whatsapp.phone_number_id, "123");
	ck_assert_str_eq(j->whatsapp.template_name, "perm");
	ck_assert_str_eq(j->whatsapp.template_language_code, "en_US");
	ck_assert_str_eq(j->recipients[0].whatsapp_user_id, "6591234567");
	ck_assert_ptr_null(j->recipients[0].phone_number);
	ck_assert_str_eq(j->branch_id, "br_1");
	ck_assert_str_eq(j->environment, "staging");
	daemonconf_free(c);
}
END_TEST

/* The digest changes with anything sent and with nothing else. */
START_TEST(test_digest)
{
	struct daemonconf *c = load_good();
	struct jobspec *j = &c->jobs[0];
	uint64_t d0 = j->digest;
	char *saved;

	ck_assert(d0 != 0);
	jobspec_compute_digest(j);
	ck_assert(j->digest == d0);
	saved = j->recipients[2].vars[0].s;
	j->recipients[2].vars[0].s = xstrdup("Alana");
	jobspec_compute_digest(j);
	ck_assert(j->digest != d0);
	free(j->recipients[2].vars[0].s);
	j->recipients[2].vars[0].s = saved;
	j->start += 60;
	jobspec_compute_digest(j);
	ck_assert(j->digest != d0);
	j->start -= 60;
	j->line += 10; /* moving a job in its file is no change */
	jobspec_compute_digest(j);
	ck_assert(j->digest == d0);
	ck_assert(c->jobs[1].digest != d0);
	daemonconf_free(c);
}
END_TEST


/* The keys of issue 8, inherited from defaults or set by the job. */
START_TEST(test_good_repeat_values)
{
	struct diag d = { 0 };
	struct daemonconf *c = NULL;
	const struct jobspec *j;
	char *text;

	ck_assert_int_eq(cfg_load(GOOD_REPEAT, &c, &d), 0);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_int_eq(c->state_retention, 2592000); /* the default, 30 days */
	ck_assert_uint_eq(c->n_jobs, 6);
	ck_assert_uint_eq(c->n_recipients, 10);

	j = daemonconf_find(c, "weekday");
	ck_assert_ptr_nonnull(j->repeat);
	text = calendar_format(j->repeat);
	ck_assert_str_eq(text, "Mon..Fri *-*-* 09:00:00");
	free(text);
	ck_assert(j->anchored);
	ck_assert_int_eq(j->start, 1796101200); /* 2026-12-01 00:00 EST */
	ck_assert(j->has_until);
	ck_assert_int_eq(j->until, 1798779540); /* 2026-12-31 23:59 EST */
	ck_assert_int_eq(j->count, 0);
	ck_assert_int_eq(j->overlap, OVERLAP_CANCEL_PREVIOUS);
	/* calling hours and blackout dates from defaults */
	ck_assert_ptr_nonnull(j->hours);
	ck_assert_uint_eq(j->hours->days, 0x3e);
	ck_assert_int_eq(j->hours->from, 9 * 3600);
	ck_assert_int_eq(j->hours->to, 20 * 3600);
	ck_assert(!j->hours->all_day);
	ck_assert_uint_eq(j->hours->n_blackout, 2);
	ck_assert_int_eq(j->hours->blackout[0], 20812); /* 2026-12-25 */
	ck_assert_int_eq(j->hours->blackout[1], 20819); /* 2027-01-01 */
	ck_assert_int_eq(j->outside, OUTSIDE_DEFER);
	ck_assert(!j->resume);
	ck_assert(!j->has_recipient_zones);

	j = daemonconf_find(c, "gap-daily");
	ck_assert_int_eq(j->count, 5);
	ck_assert_int_eq(j->start, 1772946000);
	ck_assert(!j->has_until);
	ck_assert_int_eq(j->overlap, OVERLAP_ALLOW); /* defaults */
	/* the job's calling_hours replace the defaults' group whole */
	ck_assert_uint_eq(j->hours->days, CALENDAR_ALL_WEEKDAYS);
	ck_assert_int_eq(j->hours->from, 8 * 3600);
	ck_assert_int_eq(j->hours->to, 21 * 3600);
	ck_assert_uint_eq(j->hours->n_blackout, 2);

	j = daemonconf_find(c, "xmas");
	ck_assert_ptr_null(j->repeat);
	ck_assert(!j->anchored);
	ck_assert_ptr_nonnull(j->hours);

	j = daemonconf_find(c, "zones");
	ck_assert(j->resume);
	ck_assert(j->has_recipient_zones);
	ck_assert_uint_eq(j->n_recipients, 5);
	ck_assert_str_eq(j->recipients[0].timezone, "America/Los_Angeles");
	{
		int off; /* Los Angeles's zone: PST in December */
		tz_lookup(j->recipients[0].tz, 1796133600, &off, NULL, NULL);
		ck_assert_int_eq(off, -8 * 3600);
	}
	ck_assert_str_eq(j->recipients[1].timezone, "Europe/London");
	ck_assert_ptr_null(j->recipients[2].timezone);
	ck_assert_ptr_null(j->recipients[2].tz);
	/* the CSV column is the recipient's zone, not a dynamic variable */
	ck_assert_str_eq(j->recipients[3].timezone, "America/Chicago");
	ck_assert_uint_eq(j->recipients[3].n_vars, 1);
	ck_assert_str_eq(j->recipients[3].vars[0].name, "first_name");
	ck_assert_ptr_null(j->recipients[4].timezone);

	j = daemonconf_find(c, "night");
	ck_assert_uint_eq(j->hours->days, 1u << 5);
	ck_assert_int_eq(j->hours->from, 20 * 3600);
	ck_assert_int_eq(j->hours->to, 2 * 3600);
	ck_assert_int_eq(j->outside, OUTSIDE_SKIP);
	ck_assert_int_eq(j->overlap, OVERLAP_SKIP);

	/* a repeat without start: not anchored, no start needed */
	j = daemonconf_find(c, "hourly");
	ck_assert(!j->anchored);
	ck_assert(!j->has_start);
	text = calendar_format(j->repeat);
	ck_assert_str_eq(text, "*-*-* *:00:00");
	free(text);
	/* its own blackout_dates replace the defaults' list */
	ck_assert_uint_eq(j->hours->n_blackout, 1);
	ck_assert_int_eq(j->hours->blackout[0], 20811);
	daemonconf_free(c);
}
END_TEST

/* Each new key changes the digest; a job without them keeps its old one. */
START_TEST(test_digest_repeat_keys)
{
	struct diag d = { 0 };
	struct daemonconf *c = NULL;
	struct jobspec *j;
	uint64_t d0;

	ck_assert_int_eq(cfg_load(GOOD_REPEAT, &c, &d), 0);
	j = (struct jobspec *)daemonconf_find(c, "zones");
	d0 = j->digest;
#define CHANGES(stmt, undo)                   \
	do {                                  \
		stmt;                         \
		jobspec_compute_digest(j);    \
		ck_assert(j->digest != d0);   \
		undo;                         \
		jobspec_compute_digest(j);    \
		ck_assert(j->digest == d0);   \
	} while (0)
	CHANGES(j->count = 3, j->count = 0);
	CHANGES(j->overlap = OVERLAP_SKIP, j->overlap = OVERLAP_ALLOW);
	CHANGES((j->has_until = true, j->until = 1), j->has_until = false);
	CHANGES(j->hours->from += 60, j->hours->from -= 60);
	CHANGES(j->hours->to += 60, j->hours->to -= 60);
	CHANGES(j->hours->days = 1, j->hours->days = 0x3e);
	CHANGES(j->hours->blackout[0]++, j->hours->blackout[0]--);
	CHANGES(j->outside = OUTSIDE_SKIP, j->outside = OUTSIDE_DEFER);
	CHANGES(j->resume = false, j->resume = true);
	CHANGES(j->anchored = false, j->anchored = true);
	{
		char *tz = j->recipients[0].timezone;
		CHANGES(j->recipients[0].timezone = NULL, j->recipients[0].timezone = tz);
	}
	{
		struct calendar *cal = j->repeat, *other = NULL;
		char *cause = NULL;
		ck_assert_int_eq(calendar_parse("Mon..Fri 08:01", &other, &cause), 0);
		CHANGES(j->repeat = other, j->repeat = cal);
		calendar_free(other);
	}
#undef CHANGES
	daemonconf_free(c);
}
END_TEST

/* The digest of a job that uses none of the new keys is what it was before
 * they existed (values computed by the loader of commit f05edd9). */
START_TEST(test_digest_stable_without_new_keys)
{
	static const uint64_t before[] = { 0x3fcd3e3fd51389c7ULL, 0x79ac45ee5a3287d3ULL, 0x3b8ccedff4d80b72ULL,
					   0x69ec83415ddc0647ULL };
	struct daemonconf *c = load_good();

	ck_assert_uint_eq(c->n_jobs, ARRAY_SIZE(before));
	for (size_t i = 0; i < c->n_jobs; i++) {
		ck_assert_ptr_null(c->jobs[i].repeat);
		ck_assert_ptr_null(c->jobs[i].hours);
		ck_assert_msg(c->jobs[i].digest == before[i], "%s: digest changed", c->jobs[i].name);
	}
	daemonconf_free(c);
}
END_TEST

START_TEST(test_duplicate_across_files)
{
	char *dir = make_tmpdir(), *conf = make_daemon(dir, "defaults = { timezone = \"UTC\"; };\n");
	char *a = xasprintf("%s/jobs.d/a.conf", dir), *b = xasprintf("%s/jobs.d/b.conf", dir);
	const char *job = "jobs = (\n{ name = \"same\"; agent_id = \"x\"; start = \"2026-12-01 09:00\";\n"
			  "  recipients = ( { phone_number = \"+15550100001\"; } ); } );\n";
	struct diag d = { 0 };
	struct daemonconf *c = NULL;
	char *want, *got;

	write_text(b, job, strlen(job));
	write_text(a, job, strlen(job));
	ck_assert_int_eq(cfg_load(conf, &c, &d), -EINVAL);
	ck_assert_uint_eq(d.n, 1);
	got = diag_format(&d, 0);
	want = xasprintf("%s:2: job name 'same' is already used at %s:2", b, a);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	diag_clear(&d);
	rm_rf(dir);
	free(a);
	free(b);
	free(conf);
	free(dir);
}
END_TEST

/* A bad default is reported once, where it is written, not per job. */
START_TEST(test_bad_default_reported_once)
{
	char *dir = make_tmpdir();
	char *conf = make_daemon(dir, "defaults = {\n  timezone = \"Europe/Nowhere\";\n  ringing_timeout_secs = 0;\n};\n");
	char *a = xasprintf("%s/jobs.d/a.conf", dir);
	const char *jobs = "jobs = (\n{ name = \"j1\"; agent_id = \"x\"; start = \"2026-12-01 09:00\";\n"
			   "  recipients = ( { phone_number = \"+15550100001\"; } ); },\n"
			   "{ name = \"j2\"; agent_id = \"x\"; start = \"2026-12-01 09:00\";\n"
			   "  recipients = ( { phone_number = \"+15550100001\"; } ); } );\n";
	struct diag d = { 0 };
	struct daemonconf *c = NULL;

	write_text(a, jobs, strlen(jobs));
	ck_assert_int_eq(cfg_load(conf, &c, &d), -EINVAL);
	ck_assert_uint_eq(d.n, 2);
	ck_assert_str_eq(d.v[0].file, conf);
	ck_assert_int_eq(d.v[0].line, 4);
	ck_assert_str_eq(d.v[0].msg, "'ringing_timeout_secs' must be between 1 and 999 (got 0)");
	ck_assert_int_eq(d.v[1].line, 3);
	ck_assert_ptr_nonnull(strstr(d.v[1].msg, "'timezone': "));
	ck_assert_ptr_nonnull(strstr(d.v[1].msg, "Europe/Nowhere"));
	diag_clear(&d);
	rm_rf(dir);
	free(a);
	free(conf);
	free(dir);
}
END_TEST

START_TEST(test_too_many_recipients)
{
	char *dir = make_tmpdir(), *conf = make_daemon(dir, NULL);
	char *jf = xasprintf("%s/jobs.d/big.conf", dir), *csv = xasprintf("%s/jobs.d/big.csv", dir);
	const char *job = "jobs = ( { name = \"big\"; agent_id = \"x\"; start = \"2026-12-01 09:00\";\n"
			  "  timezone = \"UTC\"; recipients_csv = \"big.csv\"; } );\n";
	FILE *f = fopen(csv, "w");
	struct diag d = { 0 };
	struct daemonconf *c = NULL;

	fputs("phone_number,n\n", f);
	for (int i = 0; i < JOB_MAX_RECIPIENTS + 1; i++)
		fprintf(f, "+1555%07d,%d\n", i, i);
	fclose(f);
	write_text(jf, job, strlen(job));
	ck_assert_int_eq(cfg_load(conf, &c, &d), -EINVAL);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_int_eq(d.v[0].line, 1);
	ck_assert_str_eq(d.v[0].msg, "job 'big' has 10001 recipients; the API takes at most 10000 a batch");
	diag_clear(&d);

	/* exactly 10,000 is fine */
	f = fopen(csv, "w");
	fputs("phone_number\n", f);
	for (int i = 0; i < JOB_MAX_RECIPIENTS; i++)
		fprintf(f, "+1555%07d\n", i);
	fclose(f);
	ck_assert_int_eq(cfg_load(conf, &c, &d), 0);
	ck_assert_uint_eq(c->n_recipients, 10000);
	daemonconf_free(c);
	rm_rf(dir);
	free(jf);
	free(csv);
	free(conf);
	free(dir);
}
END_TEST

/* Load dir's daemon file with one job file holding text; return the first
 * formatted error (NULL when the load succeeded). */
static char *load_with_job_text(const char *text, size_t len, size_t *ret_n)
{
	char *dir = make_tmpdir(), *conf = make_daemon(dir, NULL), *jf = xasprintf("%s/jobs.d/x.conf", dir);
	struct diag d = { 0 };
	struct daemonconf *c = NULL;
	char *first = NULL, *out;
	int r;

	write_text(jf, text, len);
	r = cfg_load(conf, &c, &d);
	daemonconf_free(c);
	if (d.n) {
		first = diag_format(&d, 0);
		ck_assert_int_eq(r, -EINVAL);
	}
	*ret_n = d.n;
	diag_clear(&d);
	rm_rf(dir);
	/* strip the temporary folder from the message */
	out = first ? xstrdup(strstr(first, "x.conf") ? strstr(first, "x.conf") : first) : NULL;
	free(first);
	free(jf);
	free(conf);
	free(dir);
	return out;
}

START_TEST(test_robust_empty_file)
{
	size_t n;
	char *e = load_with_job_text("", 0, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(e, "x.conf:1: no 'jobs' list: a job file holds jobs = ( { name = ...; ... } );");
	free(e);
}
END_TEST

START_TEST(test_robust_binary_junk)
{
	unsigned char junk[4096];
	unsigned seed = 12345;
	size_t n;
	char *e;

	for (size_t i = 0; i < sizeof(junk); i++) {
		seed = seed * 1103515245u + 12345u;
		junk[i] = (unsigned char)(seed >> 16);
	}
	e = load_with_job_text((const char *)junk, sizeof(junk), &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_nonnull(e);
	ck_assert(strncmp(e, "x.conf:", 7) == 0);
	free(e);
	/* junk without NUL bytes reaches the parser and gets a syntax error */
	for (size_t i = 0; i < sizeof(junk); i++)
		if (!junk[i])
			junk[i] = 'x';
	e = load_with_job_text((const char *)junk, sizeof(junk), &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_nonnull(strstr(e, "syntax error"));
	free(e);
}
END_TEST

START_TEST(test_robust_megabyte_line)
{
	size_t big = 1 << 20, n;
	char *t = xmalloc(big + 256), *e;
	int len = sprintf(t, "jobs = ( { name = \"long\"; agent_id = \"a\"; start = \"2026-12-01 09:00\"; "
			     "timezone = \"UTC\"; recipients = ( { phone_number = \"+15550100001\"; } ); call_name = \"");
	memset(t + len, 'x', big);
	strcpy(t + len + big, "\"; } );\n");
	e = load_with_job_text(t, strlen(t), &n);
	ck_assert_ptr_null(e); /* a long value is no error */
	ck_assert_uint_eq(n, 0);
	/* a 1 MB name is: reported once, not echoed in full */
	len = sprintf(t, "jobs = ( { name = \"");
	memset(t + len, 'n', big);
	strcpy(t + len + big, "\"; } );\n");
	e = load_with_job_text(t, strlen(t), &n);
	ck_assert_ptr_nonnull(e);
	ck_assert(strncmp(e, "x.conf:1: ", 10) == 0);
	free(e);
	free(t);
}
END_TEST

START_TEST(test_robust_deep_nesting)
{
	size_t depth = 100000, n;
	char *t = xmalloc(depth * 12 + 64), *p = t, *e;

	p += sprintf(p, "jobs = ( ");
	for (size_t i = 0; i < depth; i++)
		p += sprintf(p, "{ a = ");
	p += sprintf(p, "1;");
	for (size_t i = 0; i < depth; i++)
		p += sprintf(p, " };");
	sprintf(p, " );\n");
	e = load_with_job_text(t, strlen(t), &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(e, "x.conf:1: too deeply nested (parser memory exhausted)");
	free(e);
	free(t);
}
END_TEST

START_TEST(test_robust_unreadable_and_folder)
{
	char *dir = make_tmpdir(), *conf = make_daemon(dir, NULL);
	char *sub = xasprintf("%s/jobs.d/sub.conf", dir), *missing = xasprintf("%s/nope.conf", dir);
	struct diag d = { 0 };
	struct daemonconf *c = NULL;
	char *l;

	/* a folder named like a job file */
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	ck_assert_int_eq(cfg_load(conf, &c, &d), -EINVAL);
	ck_assert_uint_eq(d.n, 1);
	l = diag_format(&d, 0);
	ck_assert_str_eq(base(l), "sub.conf: not a regular file");
	free(l);
	diag_clear(&d);
	/* a daemon file that does not exist */
	ck_assert_int_eq(cfg_load(missing, &c, &d), -EINVAL);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(d.v[0].msg, "cannot read: No such file or directory");
	diag_clear(&d);
	/* a daemon file that is a folder */
	ck_assert_int_eq(cfg_load(dir, &c, &d), -EINVAL);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(d.v[0].msg, "is a folder, not a file");
	diag_clear(&d);
	/* unreadable (root reads anything, so only when not root) */
	if (geteuid() != 0) {
		rmdir(sub);
		write_text(sub, "jobs = ();\n", 11);
		ck_assert_int_eq(chmod(sub, 0), 0);
		ck_assert_int_eq(cfg_load(conf, &c, &d), -EINVAL);
		ck_assert_uint_eq(d.n, 1);
		ck_assert_str_eq(d.v[0].msg, "cannot read: Permission denied");
		diag_clear(&d);
	}
	rm_rf(dir);
	free(sub);
	free(missing);
	free(conf);
	free(dir);
}
END_TEST

START_TEST(test_empty_jobs_list_is_valid)
{
	size_t n;
	char *e = load_with_job_text("jobs = ();\n", 11, &n);
	ck_assert_ptr_null(e);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_all_errors_of_a_load)
{
	/* errors in the daemon file and in two job files, all reported */
	char *dir = make_tmpdir(), *conf = make_daemon(dir, "poll_interval = 0;\n");
	char *a = xasprintf("%s/jobs.d/a.conf", dir), *b = xasprintf("%s/jobs.d/b.conf", dir);
	struct diag d = { 0 };
	struct daemonconf *c = NULL;

	write_text(a, "jobs = ( { name = \"a\"; } );\n", 28);
	write_text(b, "jobs = ( { name = \"b\"; bogus = 1; } );\n", 39);
	ck_assert_int_eq(cfg_load(conf, &c, &d), -EINVAL);
	ck_assert_uint_eq(d.n, 8);
	ck_assert_str_eq(d.v[0].msg, "'poll_interval' must be between 1 and 86400 (got 0)");
	ck_assert_str_eq(base(d.v[1].file), "a.conf");
	ck_assert_str_eq(d.v[1].msg, "job 'a' needs 'start' or 'scheduled_time_unix'");
	ck_assert_str_eq(base(d.v[4].file), "b.conf");
	ck_assert_str_eq(d.v[4].msg, "unknown key 'bogus' in a job");
	diag_clear(&d);
	rm_rf(dir);
	free(a);
	free(b);
	free(conf);
	free(dir);
}
END_TEST

START_TEST(test_e164_and_names)
{
	ck_assert(e164_valid("+15550100001"));
	ck_assert(e164_valid("+12345678"));
	ck_assert(e164_valid("+123456789012345"));
	ck_assert(!e164_valid("+1234567"));
	ck_assert(!e164_valid("+1234567890123456"));
	ck_assert(!e164_valid("15550100001"));
	ck_assert(!e164_valid("+1555010000a"));
	ck_assert(!e164_valid("+"));
	ck_assert(!e164_valid(""));
	ck_assert(!e164_valid(NULL));
	ck_assert(job_name_valid("dec-renewals_2026.v1"));
	ck_assert(job_name_valid("a"));
	ck_assert(job_name_valid("0123456789012345678901234567890123456789012345678901234567890123"));
	ck_assert(!job_name_valid("01234567890123456789012345678901234567890123456789012345678901234"));
	ck_assert(!job_name_valid(""));
	ck_assert(!job_name_valid("a b"));
	ck_assert(!job_name_valid("a/b"));
	ck_assert(!job_name_valid("é"));
	ck_assert(!job_name_valid(NULL));
}
END_TEST

START_TEST(test_run_call_name)
{
	struct jobspec j = { .name = "dec-renewals" };
	char *n = jobspec_run_call_name(&j, "2026-12-01 09:00");
	ck_assert_str_eq(n, "dec-renewals 2026-12-01 09:00");
	free(n);
	j.call_name = "December renewals";
	n = jobspec_run_call_name(&j, "2026-12-01 09:00");
	ck_assert_str_eq(n, "December renewals 2026-12-01 09:00");
	free(n);
}
END_TEST

START_TEST(test_call_base_extends)
{
	ck_assert(jobspec_call_base_extends("Renewals 2026", "Renewals"));
	ck_assert(jobspec_call_base_extends("Renewals 1", "Renewals"));
	ck_assert(jobspec_call_base_extends("Renewals 2 EU", "Renewals"));
	ck_assert(jobspec_call_base_extends("a 0", "a"));
	ck_assert(!jobspec_call_base_extends("Renewals", "Renewals 2026"));
	ck_assert(!jobspec_call_base_extends("Renewals", "Renewals"));
	ck_assert(!jobspec_call_base_extends("Renewals EU", "Renewals"));
	ck_assert(!jobspec_call_base_extends("Renewals EU 2026", "Renewals"));
	ck_assert(!jobspec_call_base_extends("Renewals2026", "Renewals"));
	ck_assert(!jobspec_call_base_extends("Renewals-2026", "Renewals"));
	ck_assert(!jobspec_call_base_extends("Renewals ", "Renewals"));
	ck_assert(!jobspec_call_base_extends("Renewals  1", "Renewals"));
	ck_assert(!jobspec_call_base_extends("renewals 1", "Renewals"));
	ck_assert(!jobspec_call_base_extends("Renewals (1)", "Renewals"));
}
END_TEST

/* Could a job whose base is b have sent r? That is r = b " " L S, L a local
 * start "DDDD-DD-DD DD:DD" or "DDDD-DD-DD DD:DD:DD" and S empty or
 * " (" PART ")" with any PART. Looser than the real formats (any digits,
 * ":00" seconds), which only makes the test below stricter. */
static bool could_render(const char *r, const char *b)
{
	static const char *const shapes[] = { "DDDD-DD-DD DD:DD", "DDDD-DD-DD DD:DD:DD" };
	size_t n = strlen(b);

	if (strncmp(r, b, n) != 0 || r[n] != ' ')
		return false;
	for (size_t k = 0; k < ARRAY_SIZE(shapes); k++) {
		const char *l = r + n + 1, *rest;
		size_t m = strlen(shapes[k]), i, len;

		for (i = 0; i < m && l[i]; i++)
			if (shapes[k][i] == 'D' ? !(l[i] >= '0' && l[i] <= '9') : l[i] != shapes[k][i])
				break;
		if (i < m)
			continue;
		rest = l + m;
		len = strlen(rest);
		if (len == 0 || (len >= 3 && rest[0] == ' ' && rest[1] == '(' && rest[len - 1] == ')'))
			return true;
	}
	return false;
}

static unsigned lcg(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 16) & 0x7fff;
}

/* Random text from pieces that make collisions likely: spaces, digits,
 * parentheses, the separators of a local time and whole local times. */
static void random_text(unsigned *seed, char *buf, size_t size, int max_pieces)
{
	static const char *const pieces[] = { "A", " ", "1", "9", "(", ")", "-", ":", " (", "2026-12-01 09:00",
					      "2026-12-01 09:00:07", "2026-12-01 09:00 (", "9999-12-31 23:59:59", "resume 1" };
	int n = 1 + (int)(lcg(seed) % (unsigned)max_pieces);

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		const char *p = pieces[lcg(seed) % ARRAY_SIZE(pieces)];
		if (strlen(buf) + strlen(p) < size)
			strcat(buf, p);
	}
}

/* The claim proved in jobspec.c, tested: if two jobs can send the same
 * call_name, their bases are equal or one extends the other by a space
 * and a digit. Any base b2 that could send the name r sent by base b1 is a
 * prefix of r, so trying every prefix of r finds every such b2: each
 * world is checked exhaustively. The worlds must hold real collisions
 * (bases that rules (a) and (b) are there to refuse), or the test would
 * prove nothing. */
START_TEST(test_call_names_unique_by_construction)
{
	unsigned seed = 20261201;
	size_t worlds = 0, clashes_shorter = 0, clashes_longer = 0;

	for (int it = 0; it < 20000; it++) {
		static const char *const starts[] = { "2026-12-01 09:00", "2026-12-01 09:00:07", "1999-01-31 23:59",
						      "2026-12-01 09:00:00", "9999-12-31 23:59:59" };
		char b1[128], part[128], r[512];
		const char *l = starts[lcg(&seed) % ARRAY_SIZE(starts)];

		random_text(&seed, b1, sizeof(b1), 6);
		if (lcg(&seed) % 2) {
			random_text(&seed, part, sizeof(part), 6);
			snprintf(r, sizeof(r), "%s %s (%s)", b1, l, part);
		} else {
			snprintf(r, sizeof(r), "%s %s", b1, l);
		}
		ck_assert_msg(could_render(r, b1), "'%s' from '%s'", r, b1);
		worlds++;
		for (size_t k = 1; k <= strlen(r); k++) {
			char b2[512];
			memcpy(b2, r, k);
			b2[k] = '\0';
			if (strcmp(b1, b2) == 0 || !could_render(r, b2))
				continue;
			ck_assert_msg(jobspec_call_base_extends(b1, b2) || jobspec_call_base_extends(b2, b1),
				      "bases '%s' and '%s' both send '%s' but pass the rules", b1, b2, r);
			if (k < strlen(b1))
				clashes_shorter++;
			else
				clashes_longer++;
		}
	}
	ck_assert_uint_eq(worlds, 20000);
	ck_assert_uint_gt(clashes_shorter, 50);
	ck_assert_uint_gt(clashes_longer, 50);
}
END_TEST

/* Load a daemon file (extra) and one job file (jobs) in a fresh folder;
 * the diagnostics in d, the folder in *ret_dir (the caller removes it). */
static int load_pair(const char *extra, const char *jobs, struct daemonconf **ret, struct diag *d, char **ret_dir)
{
	char *dir = make_tmpdir(), *conf = make_daemon(dir, extra), *jf = xasprintf("%s/jobs.d/j.conf", dir);
	int r;

	write_text(jf, jobs, strlen(jobs));
	r = cfg_load(conf, ret, d);
	free(jf);
	free(conf);
	*ret_dir = dir;
	return r;
}

#define JOB_LINE(name, more) \
	"{ name = \"" name "\"; agent_id = \"x\"; start = \"2026-12-01 09:00\"; timezone = \"UTC\"; " more \
	" recipients = ( { phone_number = \"+15550100001\"; } ); }"

START_TEST(test_call_name_messages)
{
	struct diag d = { 0 };
	struct daemonconf *c = NULL;
	char *dir, *want;

	/* (a) the same own call_name; a call_name that is another job's name */
	ck_assert_int_eq(load_pair(NULL,
				   "jobs = (\n" JOB_LINE("a", "call_name = \"Renewals\";") ",\n"
				   JOB_LINE("b", "call_name = \"Renewals\";") ",\n"
				   JOB_LINE("c", "") ",\n"
				   JOB_LINE("d", "call_name = \"c\";") "\n);\n",
				   &c, &d, &dir),
			 -EINVAL);
	ck_assert_uint_eq(d.n, 2);
	want = xasprintf("job 'b' has the same call_name 'Renewals' as job 'a' at %s/jobs.d/j.conf:2: their runs "
			 "at the same local time would get the same call_name, and after a crash one job could "
			 "adopt the other's batch; give each job its own call_name",
			 dir);
	ck_assert_int_eq(d.v[0].line, 3);
	ck_assert_str_eq(d.v[0].msg, want);
	free(want);
	want = xasprintf("job 'd' has the same call_name 'c' as job 'c' at %s/jobs.d/j.conf:4 (its name, as it "
			 "has no call_name): their runs at the same local time would get the same call_name, and "
			 "after a crash one job could adopt the other's batch; give each job its own call_name",
			 dir);
	ck_assert_int_eq(d.v[1].line, 5);
	ck_assert_str_eq(d.v[1].msg, want);
	free(want);
	diag_clear(&d);
	rm_rf(dir);
	free(dir);

	/* (a) inherited by two jobs, and by one job with another's own */
	ck_assert_int_eq(load_pair("defaults = {\n  call_name = \"Renewals\";\n};\n",
				   "jobs = (\n" JOB_LINE("a", "") ",\n" JOB_LINE("b", "") ",\n"
				   JOB_LINE("c", "call_name = \"Renewals\";") "\n);\n",
				   &c, &d, &dir),
			 -EINVAL);
	ck_assert_uint_eq(d.n, 2);
	want = xasprintf("job 'b' has the same call_name 'Renewals' as job 'a', an inherited call_name shared by "
			 "two jobs (job 'a' at %s/jobs.d/j.conf:2, 'call_name' in defaults at %s/batchcalld.conf:3): "
			 "their runs at the same local time would get the same call_name, and after a crash one job "
			 "could adopt the other's batch; give each job its own call_name",
			 dir, dir);
	ck_assert_int_eq(d.v[0].line, 3);
	ck_assert_str_eq(d.v[0].msg, want);
	free(want);
	want = xasprintf("job 'c' has the same call_name 'Renewals' as job 'a' at %s/jobs.d/j.conf:2 (inherited "
			 "from defaults at %s/batchcalld.conf:3): their runs at the same local time would get the "
			 "same call_name, and after a crash one job could adopt the other's batch; give each job its "
			 "own call_name",
			 dir, dir);
	ck_assert_int_eq(d.v[1].line, 4);
	ck_assert_str_eq(d.v[1].msg, want);
	free(want);
	diag_clear(&d);
	rm_rf(dir);
	free(dir);

	/* (b) each extending job once, against the shortest base it extends */
	ck_assert_int_eq(load_pair(NULL,
				   "jobs = (\n" JOB_LINE("x", "call_name = \"Sale 1 2\";") ",\n"
				   JOB_LINE("y", "call_name = \"Sale 1\";") ",\n"
				   JOB_LINE("z", "call_name = \"Sale\";") "\n);\n",
				   &c, &d, &dir),
			 -EINVAL);
	ck_assert_uint_eq(d.n, 2);
	want = xasprintf("call_name 'Sale 1' of job 'y' begins with 'Sale', a space and a digit, and 'Sale' is the "
			 "call_name of job 'z' at %s/jobs.d/j.conf:4: a run's call_name is its job's call_name, a "
			 "space and its local start, which begins with a digit, so runs of the two jobs could get "
			 "the same call_name; change one of them",
			 dir);
	ck_assert_int_eq(d.v[0].line, 3);
	ck_assert_str_eq(d.v[0].msg, want);
	free(want);
	ck_assert_int_eq(d.v[1].line, 2);
	ck_assert_ptr_nonnull(strstr(d.v[1].msg, "call_name 'Sale 1 2' of job 'x' begins with 'Sale', a space"));
	diag_clear(&d);
	rm_rf(dir);
	free(dir);
}
END_TEST

/* Bases that share a prefix but pass both rules load; so do a bad
 * call_name (reported once, for itself) and a duplicate name (reported as
 * such, not again as a shared call_name). */
START_TEST(test_call_names_that_pass)
{
	struct diag d = { 0 };
	struct daemonconf *c = NULL;
	char *dir;
	int r;

	r = load_pair("defaults = { call_name = \"Renewals\"; };\n",
				   "jobs = (\n" JOB_LINE("a", "") ",\n"
				   JOB_LINE("b", "call_name = \"Renewals EU\";") ",\n"
				   JOB_LINE("c", "call_name = \"Renewals \";") ",\n"
				   JOB_LINE("d", "call_name = \"Renewals (EU)\";") ",\n"
				   JOB_LINE("e", "call_name = \"renewals\";") ",\n"
				   JOB_LINE("f", "call_name = \"Renewals-2026\";") ",\n"
				   JOB_LINE("g", "call_name = \"Renewals2026\";") ",\n"
				   JOB_LINE("Renewals", "call_name = \"Other\";") ",\n"
				   JOB_LINE("h", "call_name = \"Renewals EU Q1\";") "\n);\n",
				   &c, &d, &dir);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "unexpected: %s\n", d.v[i].msg);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_uint_eq(c->n_jobs, 9);
	ck_assert_str_eq(jobspec_call_base(daemonconf_find(c, "a")), "Renewals");
	ck_assert_str_eq(jobspec_call_base(daemonconf_find(c, "Renewals")), "Other");
	daemonconf_free(c);
	rm_rf(dir);
	free(dir);

	ck_assert_int_eq(load_pair(NULL,
				   "jobs = (\n" JOB_LINE("a", "call_name = 5;") ",\n" JOB_LINE("b", "call_name = \"a\";")
				   ",\n" JOB_LINE("b", "") "\n);\n",
				   &c, &d, &dir),
			 -EINVAL);
	ck_assert_uint_eq(d.n, 2);
	ck_assert_str_eq(d.v[0].msg, "'call_name' must be a string, not an integer");
	ck_assert_ptr_nonnull(strstr(d.v[1].msg, "job name 'b' is already used at "));
	diag_clear(&d);
	rm_rf(dir);
	free(dir);
}
END_TEST

/* state_retention's bounds, and max_lateness up to it and not beyond. */
START_TEST(test_state_retention_bounds)
{
	static const struct {
		const char *conf;
		const char *late;
		const char *err; /* NULL: loads */
	} cases[] = {
		{ "state_retention = 86400;\n", "max_lateness = 86400;", NULL },
		{ "state_retention = 315360000;\n", "max_lateness = 315360000;", NULL },
		{ "", "max_lateness = 2592000;", NULL },
		{ "state_retention = 86399;\n", "",
		  "'state_retention' must be between 86400 and 315360000 (got 86399)" },
		{ "state_retention = 315360001;\n", "",
		  "'state_retention' must be between 86400 and 315360000 (got 315360001)" },
		{ "state_retention = 86400.0;\n", "", "'state_retention' must be an integer, not a number" },
		{ "state_retention = 100000;\n", "max_lateness = 100001;",
		  "'max_lateness' (100001) must be at most 'state_retention' (100000): the state keeps the record "
		  "of a run only that long after it ended, so a run later than that could be submitted twice" },
		/* inherited: once, at the default, however many jobs inherit it */
		{ "state_retention = 100000;\ndefaults = { max_lateness = 100001; };\n", "",
		  "'max_lateness' (100001) must be at most 'state_retention' (100000): the state keeps the record "
		  "of a run only that long after it ended, so a run later than that could be submitted twice" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct diag d = { 0 };
		struct daemonconf *c = NULL;
		char *dir, *jobs = xasprintf("jobs = (\n%s,\n%s\n);\n",
					      "{ name = \"a\"; agent_id = \"x\"; start = \"2026-12-01 09:00\"; "
					      "timezone = \"UTC\"; recipients = ( { phone_number = \"+15550100001\"; } ); }",
					      "{ name = \"b\"; agent_id = \"x\"; start = \"2026-12-01 09:00\"; "
					      "timezone = \"UTC\"; recipients = ( { phone_number = \"+15550100001\"; } ); }");
		char *late = xasprintf("jobs = (\n{ name = \"a\"; agent_id = \"x\"; start = \"2026-12-01 09:00\"; "
				       "timezone = \"UTC\"; %s recipients = ( { phone_number = \"+15550100001\"; } ); }\n);\n",
				       cases[i].late);
		int r = load_pair(cases[i].conf, *cases[i].late ? late : jobs, &c, &d, &dir);

		for (size_t k = 0; d.n != (cases[i].err ? 1u : 0u) && k < d.n; k++)
			fprintf(stderr, "case %zu: %s:%d: %s\n", i, d.v[k].file, d.v[k].line, d.v[k].msg);
		if (!cases[i].err) {
			ck_assert_int_eq(r, 0);
			ck_assert_uint_eq(d.n, 0);
			ck_assert_int_eq(c->jobs[0].max_lateness <= c->state_retention, 1);
			daemonconf_free(c);
		} else {
			ck_assert_int_eq(r, -EINVAL);
			ck_assert_uint_eq(d.n, 1);
			ck_assert_str_eq(d.v[0].msg, cases[i].err);
			/* a job's own value is reported in the job file, the rest in the daemon file */
			ck_assert_str_eq(base(d.v[0].file), *cases[i].late ? "j.conf" : "batchcalld.conf");
		}
		diag_clear(&d);
		rm_rf(dir);
		free(dir);
		free(jobs);
		free(late);
	}
}
END_TEST

/* contact_limits: the spans in systemd's syntax, what each key needs, an
 * unknown key, each error at its line. */

/* follow_up: each touch's values as loaded, the touch view of a submit
 * body, the hours a touch follows. */
START_TEST(test_follow_up)
{
	struct diag d = { 0 };
	struct daemonconf *c = NULL;
	const struct jobspec *j;
	struct jobspec view;
	char *dir, *s;

	ck_assert_int_eq(load_pair(NULL,
				   "jobs = ( { name = \"a\"; agent_id = \"x\"; start = \"2026-12-01 09:00\"; "
				   "timezone = \"Europe/Paris\"; calling_hours = { from = \"09:00\"; to = \"20:00\"; };\n"
				   "recipients = ( { phone_number = \"+15550100001\"; first_message = \"Hi\"; "
				   "variables = { name = \"Ann\"; tier = 1; }; }, { phone_number = \"+15550100002\"; } );\n"
				   "follow_up = ( { after = \"2d\"; status = [\"voicemail\", \"not_dialled\"]; "
				   "call_name_suffix = \"second try\"; first_message = \"Hello again\"; "
				   "variables = { tier = 2; retry = true; };\n"
				   "  calling_hours = { from = \"17:00\"; to = \"19:30\"; }; },\n"
				   "  { after = \"1w\"; call_successful = [\"failure\", \"unknown\"]; "
				   "data = { decision = \"later\"; score = 3; ok = false; }; } ); } );\n",
				   &c, &d, &dir),
			 0);
	j = daemonconf_find(c, "a");
	ck_assert_uint_eq(j->n_touches, 2);
	ck_assert_int_eq(j->touches[0].after_s, 2 * 86400);
	ck_assert_uint_eq(j->touches[0].status, TOUCH_VOICEMAIL | TOUCH_NOT_DIALLED);
	ck_assert_uint_eq(j->touches[0].verdicts, 0);
	ck_assert_str_eq(j->touches[0].suffix, "second try");
	ck_assert_int_eq(jobspec_hours(j, 1)->from, 17 * 3600);
	ck_assert_ptr_eq(jobspec_hours(j, 0), j->hours);
	ck_assert_ptr_eq(jobspec_hours(j, 2), j->hours);
	ck_assert_int_eq(j->touches[1].after_s, 7 * 86400);
	ck_assert_uint_eq(j->touches[1].status, 0);
	ck_assert_uint_eq(j->touches[1].verdicts, (1u << CONV_FAILURE) | (1u << CONV_UNKNOWN));
	ck_assert_uint_eq(j->touches[1].n_data, 3);
	ck_assert_str_eq(j->touches[1].data[0].id, "decision");
	ck_assert_str_eq(j->touches[1].data[0].value, "\"later\"");
	ck_assert_str_eq(j->touches[1].data[1].value, "3");
	ck_assert_str_eq(j->touches[1].data[2].value, "false");
	s = jobspec_touch_suffix(j, 2);
	ck_assert_str_eq(s, "follow-up 2");
	free(s);
	/* the body of touch 1: its first message and variables win */
	jobspec_touch_view(j, 1, &view);
	ck_assert_str_eq(view.recipients[0].first_message, "Hello again");
	ck_assert_str_eq(view.recipients[1].first_message, "Hello again");
	ck_assert_uint_eq(view.recipients[0].n_vars, 3);
	ck_assert_str_eq(view.recipients[0].vars[0].name, "name");
	ck_assert_str_eq(view.recipients[0].vars[1].name, "tier");
	ck_assert_int_eq(view.recipients[0].vars[1].i, 2);
	ck_assert_uint_eq(view.recipients[1].n_vars, 2);
	ck_assert_int_eq(view.hours->from, 17 * 3600);
	{
		bool inc[2] = { true, true };
		char *body = codec_submit_body_only(&view, "n", 0, inc);
		ck_assert_ptr_nonnull(strstr(body, "\"first_message\":\"Hello again\""));
		ck_assert_ptr_nonnull(strstr(body, "\"name\":\"Ann\",\"tier\":2,\"retry\":true"));
		free(body);
	}
	jobspec_view_clear(&view);
	/* the job itself is untouched */
	ck_assert_str_eq(j->recipients[0].first_message, "Hi");
	ck_assert_uint_eq(j->recipients[0].n_vars, 2);
	/* touch 2 overrides nothing */
	jobspec_touch_view(j, 2, &view);
	ck_assert_str_eq(view.recipients[0].first_message, "Hi");
	ck_assert_uint_eq(view.recipients[0].n_vars, 2);
	jobspec_view_clear(&view);
	daemonconf_free(c);
	rm_rf(dir);
	free(dir);
	diag_clear(&d);
	/* each of a touch's two keys is its own, else the job's: only
	 * blackout_dates keeps the job's hours, only calling_hours the job's
	 * blackout dates */
	ck_assert_int_eq(load_pair(NULL,
				   "jobs = ( { name = \"a\"; agent_id = \"x\"; start = \"2026-12-01 09:00\"; "
				   "timezone = \"UTC\"; calling_hours = { from = \"09:00\"; to = \"17:00\"; };\n"
				   "blackout_dates = [ \"2026-12-24\" ]; recipients = ( { phone_number = \"+15550100001\"; } );\n"
				   "follow_up = ( { after = \"1d\"; blackout_dates = [ \"2026-12-25\" ]; },\n"
				   "  { after = \"1d\"; calling_hours = { from = \"18:00\"; to = \"19:00\"; }; } ); } );\n",
				   &c, &d, &dir),
			 0);
	j = daemonconf_find(c, "a");
	ck_assert_int_eq(jobspec_hours(j, 1)->from, 9 * 3600);
	ck_assert_int_eq(jobspec_hours(j, 1)->to, 17 * 3600);
	ck_assert(!jobspec_hours(j, 1)->all_day);
	ck_assert_uint_eq(jobspec_hours(j, 1)->n_blackout, 1);
	ck_assert_int_ne(jobspec_hours(j, 1)->blackout[0], j->hours->blackout[0]);
	ck_assert_int_eq(jobspec_hours(j, 2)->from, 18 * 3600);
	ck_assert_uint_eq(jobspec_hours(j, 2)->n_blackout, 1);
	ck_assert_int_eq(jobspec_hours(j, 2)->blackout[0], j->hours->blackout[0]);
	daemonconf_free(c);
	rm_rf(dir);
	free(dir);
	diag_clear(&d);
	/* a touch's hours need the job's */
	ck_assert_int_eq(load_pair(NULL,
				   "jobs = ( { name = \"a\"; agent_id = \"x\"; start = \"2026-12-01 09:00\"; "
				   "timezone = \"UTC\"; recipients = ( { phone_number = \"+15550100001\"; } );\n"
				   "follow_up = ( { after = \"2d\"; calling_hours = { from = \"17:00\"; to = \"19:30\"; }; } ); } );\n",
				   &c, &d, &dir),
			 -EINVAL);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_int_eq(d.v[0].line, 2);
	ck_assert_ptr_nonnull(strstr(d.v[0].msg, "follow-up 1 has calling hours but the job has none"));
	rm_rf(dir);
	free(dir);
	diag_clear(&d);
}
END_TEST


/* over_limit: "skip" (the default) or "defer", with contact_limits only. */
START_TEST(test_over_limit)
{
	static const struct {
		const char *conf, *err;
		bool defer;
	} cases[] = {
		{ "contact_limits = { min_gap = \"1d\"; };\n", NULL, false },
		{ "contact_limits = { min_gap = \"1d\"; };\nover_limit = \"skip\";\n", NULL, false },
		{ "contact_limits = { min_gap = \"1d\"; };\nover_limit = \"defer\";\n", NULL, true },
		{ "contact_limits = { min_gap = \"1d\"; };\nover_limit = \"later\";\n",
		  "'over_limit' must be \"skip\" or \"defer\" (got \"later\")", false },
		{ "over_limit = \"defer\";\n", "'over_limit' needs 'contact_limits' (the limits it is about)", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct diag d = { 0 };
		struct daemonconf *c = NULL;
		char *dir;
		int r = load_pair(cases[i].conf, "jobs = ( " JOB_LINE("a", "") " );\n", &c, &d, &dir);

		if (!cases[i].err) {
			ck_assert_msg(r == 0, "case %zu", i);
			ck_assert(c->limits->defer == cases[i].defer);
			daemonconf_free(c);
		} else {
			ck_assert_int_eq(r, -EINVAL);
			ck_assert_uint_eq(d.n, 1);
			ck_assert_str_eq(d.v[0].msg, cases[i].err);
		}
		diag_clear(&d);
		rm_rf(dir);
		free(dir);
	}
}
END_TEST

/* cluster = { ... }: every key checked, and what cluster mode refuses. */
START_TEST(test_cluster)
{
	static const struct {
		const char *conf, *err; /* err NULL: loads */
	} cases[] = {
		{ "cluster = { etcd_endpoints = [ \"http://127.0.0.1:2379\" ]; node_name = \"a\"; };\n", NULL },
		{ "cluster = { etcd_endpoints = [ \"http://10.0.0.1:2379\", \"https://[::1]:2379\" ]; node_name = "
		  "\"calls-a.1\"; lease_ttl = 30; key_prefix = \"/x/y/\"; };\n", NULL },
		{ "cluster = { node_name = \"a\"; };\n",
		  "'cluster' needs 'etcd_endpoints' (a list of \"http://HOST:PORT\" or \"https://HOST:PORT\")" },
		{ "cluster = { etcd_endpoints = [ \"http://127.0.0.1:2379\" ]; };\n",
		  "'cluster' needs 'node_name' (this node's name, unique in the cluster)" },
		{ "cluster = { etcd_endpoints = [ \"127.0.0.1:2379\" ]; node_name = \"a\"; };\n",
		  "'cluster.etcd_endpoints': each element must be \"http://HOST:PORT\" or \"https://HOST:PORT\" (got "
		  "\"127.0.0.1:2379\")" },
		{ "cluster = { etcd_endpoints = [ \"http://127.0.0.1:2379/v3\" ]; node_name = \"a\"; };\n",
		  "'cluster.etcd_endpoints': each element must be \"http://HOST:PORT\" or \"https://HOST:PORT\" (got "
		  "\"http://127.0.0.1:2379/v3\")" },
		{ "cluster = { etcd_endpoints = [ ]; node_name = \"a\"; };\n",
		  "'cluster.etcd_endpoints' must be a list of 1 to 16 URLs ( \"http://127.0.0.1:2379\", … )" },
		{ "cluster = { etcd_endpoints = [ \"http://127.0.0.1:2379\" ]; node_name = \"a b\"; };\n",
		  "'cluster.node_name' must be 1 to 63 letters, digits, '-', '_' or '.' (got \"a b\")" },
		{ "cluster = { etcd_endpoints = [ \"http://127.0.0.1:2379\" ]; node_name = \"a\"; key_prefix = "
		  "\"batchcalld\"; };\n",
		  "'cluster.key_prefix' must begin and end with '/' (\"/batchcalld/\"; got \"batchcalld\")" },
		{ "cluster = { etcd_endpoints = [ \"http://127.0.0.1:2379\" ]; node_name = \"a\"; cert_file = "
		  "\"batchcalld.conf\"; };\n",
		  "'cluster': 'cert_file' and 'key_file' go together (the client certificate and its key)" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct diag d = { 0 };
		struct daemonconf *c = NULL;
		char *dir;
		int r = load_pair(cases[i].conf, "jobs = ( " JOB_LINE("a", "") " );\n", &c, &d, &dir);

		if (!cases[i].err) {
			ck_assert_msg(r == 0, "case %zu: %s", i, d.n ? d.v[0].msg : "");
			ck_assert(c->cluster != NULL);
			ck_assert_uint_ge(c->cluster->n_etcd_endpoints, 1);
			ck_assert_str_eq(c->cluster->key_prefix, i == 1 ? "/x/y/" : "/batchcalld/");
			ck_assert_int_eq(c->cluster->lease_ttl, i == 1 ? 30 : 10);
			daemonconf_free(c);
		} else {
			ck_assert_msg(r == -EINVAL, "case %zu loads", i);
			ck_assert_uint_eq(d.n, 1);
			ck_assert_str_eq(d.v[0].msg, cases[i].err);
		}
		diag_clear(&d);
		rm_rf(dir);
		free(dir);
	}
}
END_TEST

START_TEST(test_contact_limits)
{
	static const struct {
		const char *conf;
		const char *err; /* NULL: loads */
		int max_calls;
		int64_t window, gap;
		bool per_agent;
	} cases[] = {
		{ "contact_limits = { max_calls = 3; window = \"7d\"; min_gap = \"1d\"; };\n", NULL, 3, 604800, 86400,
		  false },
		{ "contact_limits = { min_gap = \"1h 30min\"; per_agent = true; };\n", NULL, 0, 0, 5400, true },
		{ "contact_limits = { max_calls = 1; window = \"36h\"; };\n", NULL, 1, 129600, 0, false },
		{ "contact_limits = { max_calls = 3; };\n",
		  "'contact_limits': 'max_calls' needs a 'window' (\"7d\": at most max_calls calls in any 7 days)", 0, 0,
		  0, false },
		{ "contact_limits = { window = \"7d\"; };\n", "'contact_limits': 'window' needs a 'max_calls'", 0, 0, 0,
		  false },
		{ "contact_limits = { max_calls = 3; window = \"7 fortnights\"; };\n",
		  "'contact_limits.window': \"7 fortnights\" is not a time span of at least 1s up to 3660 days (systemd's syntax: "
		  "\"7d\", \"1h 30min\")", 0, 0, 0, false },
		{ "contact_limits = { max_calls = 0; window = \"7d\"; };\n",
		  "'contact_limits.max_calls' must be between 1 and 10000 (got 0)", 0, 0, 0, false },
		{ "contact_limits = { };\n",
		  "'contact_limits' needs 'max_calls' and 'window', or 'min_gap', or both", 0, 0, 0, false },
		{ "contact_limits = { min_gap = \"1d\"; max_per_day = 2; };\n", "", 0, 0, 0, false },
		{ "contact_limits = 3;\n", "", 0, 0, 0, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct diag d = { 0 };
		struct daemonconf *c = NULL;
		char *dir;
		int r = load_pair(cases[i].conf,
				  "jobs = ( { name = \"a\"; agent_id = \"x\"; start = \"2026-12-01 09:00\"; "
				  "timezone = \"UTC\"; recipients = ( { phone_number = \"+15550100001\"; } ); } );\n",
				  &c, &d, &dir);

		for (size_t k = 0; d.n != (cases[i].err ? 1u : 0u) && k < d.n; k++)
			fprintf(stderr, "case %zu: %s:%d: %s\n", i, d.v[k].file, d.v[k].line, d.v[k].msg);
		if (!cases[i].err) {
			ck_assert_int_eq(r, 0);
			ck_assert_ptr_nonnull(c->limits);
			ck_assert_int_eq(c->limits->max_calls, cases[i].max_calls);
			ck_assert_int_eq(c->limits->window_s, cases[i].window);
			ck_assert_int_eq(c->limits->min_gap_s, cases[i].gap);
			ck_assert_int_eq(c->limits->per_agent, cases[i].per_agent);
			daemonconf_free(c);
		} else {
			ck_assert_int_eq(r, -EINVAL);
			ck_assert_uint_eq(d.n, 1);
			if (*cases[i].err)
				ck_assert_str_eq(d.v[0].msg, cases[i].err);
			ck_assert_str_eq(base(d.v[0].file), "batchcalld.conf");
			ck_assert_int_gt(d.v[0].line, 0);
		}
		diag_clear(&d);
		rm_rf(dir);
		free(dir);
	}
}
END_TEST

/* http:// only to loopback unless api.allow_insecure_http = true; a CA file
 * that can be read is accepted. */
START_TEST(test_base_url_insecure_http)
{
	static const struct {
		const char *url;
		const char *allow; /* NULL: not set */
		bool ok;
	} cases[] = {
		{ "https://api.elevenlabs.io", NULL, true },
		{ "http://127.0.0.1:8089", NULL, true },
		{ "http://127.5.6.7", NULL, true },
		{ "http://localhost:9000/", NULL, true },
		{ "http://LOCALHOST", NULL, true },
		{ "http://[::1]:8089", NULL, true },
		{ "http://[::ffff:127.0.0.1]:8089", NULL, true },
		{ "http://u:p@127.0.0.1:1/", NULL, true },
		{ "http://api.elevenlabs.io", NULL, false },
		{ "http://128.0.0.1", NULL, false },
		{ "http://localhost.example.com", NULL, false },
		{ "http://127.0.0.1@evil.example", NULL, false },
		{ "http://[2001:db8::1]", NULL, false },
		{ "http://10.0.0.5:8089", "false", false },
		{ "http://10.0.0.5:8089", "true", true },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *dir = make_tmpdir();
		char *api = xasprintf("api = { base_url = \"%s\";%s%s%s ca_file = \"/dev/null\"; };\n", cases[i].url,
				      cases[i].allow ? " allow_insecure_http = " : "", cases[i].allow ? cases[i].allow : "",
				      cases[i].allow ? ";" : "");
		char *conf = make_daemon(dir, api);
		struct diag d = { 0 };
		struct daemonconf *c = NULL;
		int r = cfg_load(conf, &c, &d);

		ck_assert_msg((r == 0) == cases[i].ok, "%s (allow %s): %s", cases[i].url,
			      cases[i].allow ? cases[i].allow : "unset", d.n ? d.v[0].msg : "accepted");
		if (!cases[i].ok) {
			ck_assert_uint_eq(d.n, 1);
			ck_assert_int_eq(d.v[0].line, 2);
			ck_assert_ptr_nonnull(strstr(d.v[0].msg, "the API key would travel in clear"));
		} else {
			ck_assert_int_eq(c->api.allow_insecure_http, cases[i].allow && strcmp(cases[i].allow, "true") == 0);
		}
		daemonconf_free(c);
		diag_clear(&d);
		rm_rf(dir);
		free(conf);
		free(api);
		free(dir);
	}
}
END_TEST

START_TEST(test_destructors_accept_null)
{
	daemonconf_free(NULL);
	jobspec_clear(NULL);
	recipient_clear(NULL);
	var_clear(NULL);
	ck_assert_ptr_null(daemonconf_find(NULL, "x"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cfg");
	TCase *tc = tcase_create("cfg");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_bad_job_fixtures);
	tcase_add_test(tc, test_bad_daemon_fixtures);
	tcase_add_test(tc, test_good_daemon_values);
	tcase_add_test(tc, test_good_job_values);
	tcase_add_test(tc, test_digest);
	tcase_add_test(tc, test_good_repeat_values);
	tcase_add_test(tc, test_digest_repeat_keys);
	tcase_add_test(tc, test_digest_stable_without_new_keys);
	tcase_add_test(tc, test_duplicate_across_files);
	tcase_add_test(tc, test_bad_default_reported_once);
	tcase_add_test(tc, test_too_many_recipients);
	tcase_add_test(tc, test_robust_empty_file);
	tcase_add_test(tc, test_robust_binary_junk);
	tcase_add_test(tc, test_robust_megabyte_line);
	tcase_add_test(tc, test_robust_deep_nesting);
	tcase_add_test(tc, test_robust_unreadable_and_folder);
	tcase_add_test(tc, test_empty_jobs_list_is_valid);
	tcase_add_test(tc, test_all_errors_of_a_load);
	tcase_add_test(tc, test_e164_and_names);
	tcase_add_test(tc, test_run_call_name);
	tcase_add_test(tc, test_call_base_extends);
	tcase_add_test(tc, test_call_names_unique_by_construction);
	tcase_add_test(tc, test_call_name_messages);
	tcase_add_test(tc, test_call_names_that_pass);
	tcase_add_test(tc, test_state_retention_bounds);
	tcase_add_test(tc, test_base_url_insecure_http);
	tcase_add_test(tc, test_contact_limits);
	tcase_add_test(tc, test_follow_up);
	tcase_add_test(tc, test_over_limit);
	tcase_add_test(tc, test_cluster);
	tcase_add_test(tc, test_destructors_accept_null);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
