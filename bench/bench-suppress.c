/*
 * bench-suppress: what the do-not-call lists cost (issue 15's figures).
 *
 *   bench-suppress [N] [FILE]   write a list of N distinct numbers (default
 *                               1,000,000; a tenth spelled with separators,
 *                               some comments) to FILE (default
 *                               ./bench-suppress.list, removed at the end),
 *                               load it as the daemon does (read, parse,
 *                               seal: suppress_store_read + suppress_seal),
 *                               then check submits of 10,000 recipients
 *                               against it and a small own list, as the
 *                               submit body does (run_body_select)
 *
 * It prints the load's time, the resident memory the set keeps (RSS after
 * the load less RSS before it, the file's bytes freed) and the peak while
 * loading (the file's bytes included), and the check's time per submit
 * (best, median and worst of 21).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "ledger.h"
#include "run.h"
#include "suppress.h"
#include "suppress_store.h"
#include "util.h"

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Resident memory now, in MiB (/proc/self/statm). */
static double rss_mib(void)
{
	long pages = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return (double)res * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static double peak_mib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss / 1024.0;
}

static uint64_t rnd_state = 0x2545f4914f6cdd1dULL;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* The i-th number: +1 and ten digits, distinct for i < 10^9. */
static void number(uint64_t i, char *buf, size_t size)
{
	snprintf(buf, size, "+1%010llu", (unsigned long long)(i * 7919 % 10000000000ULL));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	const char *path = argc > 2 ? argv[2] : "bench-suppress.list";
	struct suppress_set files = { 0 }, own = { 0 };
	struct suppress_rules rules = { .sets = { &files, &own }, .n_sets = 2 };
	struct diag d = { 0 };
	struct jobspec spec = { .name = (char *)"bench", .agent_id = (char *)"a", .call_name = (char *)"b",
				.enabled = true };
	enum { RCPTS = 10000, ROUNDS = 21 };
	struct recipient *v = xcalloc(RCPTS, sizeof(*v));
	bool *include = xcalloc(RCPTS, sizeof(*include));
	double t0, t_parse, t_load, rss0, rss1, times[ROUNDS];
	size_t left = 0, out_n = 0;
	char buf[64];
	struct run *r;
	struct stat sb;
	FILE *f;

	if (n == 0 || n > 100000000) {
		fprintf(stderr, "usage: bench-suppress [N] [FILE]\n");
		return 2;
	}
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		return 1;
	}
	fprintf(f, "# bench-suppress: %zu numbers\n", n);
	for (size_t i = 0; i < n; i++) {
		number(i, buf, sizeof(buf));
		if (i % 10 == 0) /* "+1 (555) 010-0001" */
			fprintf(f, "%.2s (%.3s) %.3s-%s\n", buf, buf + 2, buf + 5, buf + 8);
		else
			fprintf(f, "%s\n", buf);
		if (i % 100000 == 0)
			fprintf(f, "# a comment\n");
	}
	if (fclose(f) != 0) {
		perror(path);
		return 1;
	}

	if (stat(path, &sb) < 0) {
		perror(path);
		return 1;
	}
	rss0 = rss_mib();
	t0 = now_ms();
	if (suppress_store_read(path, &files, &d) < 0) {
		char *l = diag_format(&d, 0);
		fprintf(stderr, "bench-suppress: %s\n", l);
		free(l);
		return 1;
	}
	t_parse = now_ms() - t0;
	suppress_seal(&files);
	t_load = now_ms() - t0;
	rss1 = rss_mib();
	unlink(path);
	printf("load: %zu numbers (%zu distinct) from a plain list of %.1f MiB in %.0f ms (read and parse %.0f ms, "
	       "sort %.0f ms)\n", n, suppress_size(&files), (double)sb.st_size / (1024.0 * 1024.0), t_load, t_parse,
	       t_load - t_parse);
	printf("memory: %.1f MiB kept by the set (RSS %.1f -> %.1f MiB), %.1f bytes a number; peak RSS while "
	       "loading %.1f MiB (the file's text included)\n",
	       rss1 - rss0, rss0, rss1, (rss1 - rss0) * 1024 * 1024 / (double)n, peak_mib());

	/* the own list: a thousand numbers added one by one */
	suppress_seal(&own);
	for (size_t i = 0; i < 1000; i++) {
		number(n + i, buf, sizeof(buf));
		suppress_add(&own, buf, suppress_source(&own, "own"), (uint32_t)i + 2);
	}
	/* 10,000 recipients: every tenth on the big list, one in a hundred on
	 * the own one, the rest on none */
	for (size_t i = 0; i < RCPTS; i++) {
		if (i % 10 == 0)
			number(rnd() % n, buf, sizeof(buf));
		else if (i % 100 == 1)
			number(n + rnd() % 1000, buf, sizeof(buf));
		else
			number(n + 1000 + rnd() % 1000000000, buf, sizeof(buf));
		v[i].phone_number = xstrdup(buf);
	}
	r = run_new_at(&spec, 0);
	for (int k = 0; k < ROUNDS; k++) {
		char **out = NULL, **over = NULL;
		size_t n_over = 0;
		uint64_t digest;
		t0 = now_ms();
		left = run_body_select(r, &rules, NULL, v, RCPTS, include, &digest, &out, &out_n, &over, &n_over);
		times[k] = now_ms() - t0;
		for (size_t i = 0; i < out_n; i++)
			free(out[i]);
		free(out);
	}
	qsort(times, ROUNDS, sizeof(*times), cmp_double);
	printf("check: a submit of %d recipients against %zu + %zu listed numbers: %zu left, %zu left out; "
	       "%.2f ms best, %.2f ms median, %.2f ms worst of %d\n",
	       RCPTS, suppress_size(&files), suppress_size(&own), left, out_n, times[0], times[ROUNDS / 2],
	       times[ROUNDS - 1], ROUNDS);

	/* The contact ledger: n contacts over 7 days, to a number each of
	 * n/3 people (so most have 3), written as the daemon writes them,
	 * read back as a start does; then the same submits checked against
	 * the lists and the limits (3 calls in 7 days, 1 day apart). */
	{
		struct ledger l = { 0 };
		struct contact_limits lim = { .max_calls = 3, .window_s = 7 * 86400, .min_gap_s = 86400 };
		struct contact_rules cr = { &l, &lim, 1765000000 + 7 * 86400 };
		char lpath[4096], line[256];
		char *text = NULL;
		size_t len = 0, torn, people = n / 3 ? n / 3 : 1;
		double lrss0, lrss1, t_lload;
		snprintf(lpath, sizeof(lpath), "%s.contacts", path);
		f = fopen(lpath, "w");
		if (!f) {
			perror(lpath);
			return 1;
		}
		for (size_t i = 0; i < n; i++) {
			number(2 * n + i % people, buf, sizeof(buf));
			ledger_format(line, sizeof(line), 1765000000 + (int64_t)(rnd() % (7 * 86400)), buf, "agent_bench",
				      rnd());
			fputs(line, f);
		}
		if (fclose(f) != 0 || stat(lpath, &sb) < 0) {
			perror(lpath);
			return 1;
		}
		lrss0 = rss_mib();
		t0 = now_ms();
		if (file_read_ex(lpath, (size_t)1 << 30, FILE_READ_REGULAR, &text, &len) < 0 ||
		    ledger_parse(&l, lpath, text, len, &d, &torn) < 0) {
			fprintf(stderr, "bench-suppress: cannot read %s\n", lpath);
			return 1;
		}
		free(text);
		ledger_expire(&l, 0); /* (merges the tail: the start's state) */
		t_lload = now_ms() - t0;
		lrss1 = rss_mib();
		unlink(lpath);
		printf("ledger: %zu contacts of %zu people: file %.1f MiB (%.1f bytes a contact), loaded in %.0f ms, "
		       "%.1f MiB kept (%.1f bytes a contact)\n",
		       ledger_size(&l), people, (double)sb.st_size / (1024.0 * 1024.0), (double)sb.st_size / (double)n,
		       t_lload, lrss1 - lrss0, (lrss1 - lrss0) * 1024 * 1024 / (double)n);
		/* every tenth recipient is one the ledger knows */
		for (size_t i = 0; i < RCPTS; i += 10) {
			number(2 * n + rnd() % people, buf, sizeof(buf));
			free(v[i].phone_number);
			v[i].phone_number = xstrdup(buf);
		}
		for (int k = 0; k < ROUNDS; k++) {
			char **out = NULL, **over = NULL;
			size_t n_over = 0;
			uint64_t digest;
			t0 = now_ms();
			left = run_body_select(r, &rules, &cr, v, RCPTS, include, &digest, &out, &out_n, &over, &n_over);
			times[k] = now_ms() - t0;
			for (size_t i = 0; i < out_n; i++)
				free(out[i]);
			free(out);
			for (size_t i = 0; i < n_over; i++)
				free(over[i]);
			free(over);
			if (k == ROUNDS - 1)
				printf("check: a submit of %d recipients against the lists and %zu contacts: %zu left, "
				       "%zu listed, %zu over the limits; ",
				       RCPTS, ledger_size(&l), left, out_n, n_over);
		}
		qsort(times, ROUNDS, sizeof(*times), cmp_double);
		printf("%.2f ms best, %.2f ms median, %.2f ms worst of %d\n", times[0], times[ROUNDS / 2],
		       times[ROUNDS - 1], ROUNDS);
		ledger_clear(&l);
	}
	run_free(r);
	for (size_t i = 0; i < RCPTS; i++)
		free(v[i].phone_number);
	free(v);
	free(include);
	suppress_clear(&files);
	suppress_clear(&own);
	diag_clear(&d);
	return 0;
}
