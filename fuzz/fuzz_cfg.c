/*
 * fuzz_cfg: libFuzzer target for the job-file loader. The input becomes the
 * only job file of a temporary jobs folder (with a CSV beside it that the
 * input may name), and cfg_load must end with a configuration or with
 * diagnostics that all name a place: never a crash or a leak.
 * Build: ./configure --enable-fuzzing CC=clang && make fuzz/fuzz_cfg (mk/fuzz.mk).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], conf[96], job[96];

static void write_all(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "w");
	if (!f)
		abort();
	if (n && fwrite(p, 1, n, f) != n)
		abort();
	fclose(f);
}

/* Leave no folder behind in /tmp (make check replays this target). */
static void cleanup(void)
{
	char path[128];

	unlink(job);
	snprintf(path, sizeof(path), "%s/jobs.d/r.csv", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/jobs.d", dir);
	rmdir(path);
	unlink(conf);
	rmdir(dir);
}

static void setup(void)
{
	static const char daemon[] = "jobs_dir = \"jobs.d\";\ndefaults = { timezone = \"UTC\"; };\n";
	static const char csv[] = "phone_number,id,name\r\n+15550100001,a,\"Ada, \"\"A\"\"\"\r\n";
	char path[128];

	snprintf(dir, sizeof(dir), "/tmp/fuzz_cfg.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(conf, sizeof(conf), "%s/batchcalld.conf", dir);
	snprintf(path, sizeof(path), "%s/jobs.d", dir);
	if (mkdir(path, 0700) < 0)
		abort();
	snprintf(job, sizeof(job), "%s/jobs.d/fuzz.conf", dir);
	write_all(conf, daemon, sizeof(daemon) - 1);
	snprintf(path, sizeof(path), "%s/jobs.d/r.csv", dir);
	write_all(path, csv, sizeof(csv) - 1);
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct daemonconf *c = NULL;
	struct diag d = { 0 };
	int r;

	if (!dir[0])
		setup();
	write_all(job, data, size);
	r = cfg_load(conf, &c, &d);
	if (r == 0) {
		if (d.n != 0)
			abort();
		daemonconf_free(c);
	} else {
		if (r != -EINVAL || d.n == 0)
			abort();
		for (size_t i = 0; i < d.n; i++)
			if (!d.v[i].file || !d.v[i].msg)
				abort();
	}
	diag_clear(&d);
	return 0;
}
