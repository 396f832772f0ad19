/*
 * log-emit: emits one event of every kind with all fields set, so that
 * tests/journal.sh can check what a real journald stores.
 *
 * usage: log-emit auto|journal|console JOB [-v]
 * Event kind k gets RUN_START=1764597600+k, BATCH_ID=btcal_NAME,
 * JOB_STATE=pending, ATTEMPT=k, HTTP_STATUS=200+k at priority notice; then a
 * debug EV_STATUS for JOB-debug (dropped unless -v), a plain warning
 * with control characters, and a notice "JOB: no location" through the
 * va_list form without a code location.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

static void __attribute__((format(printf, 1, 2))) log_nowhere(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_eventv_at(NULL, NULL, NULL, LOG_NOTICE, EV_NONE, NULL, fmt, ap);
	va_end(ap);
}

int main(int argc, char **argv)
{
	enum log_target target;
	const char *job;

	if (argc < 3 || log_target_parse(argv[1], &target) < 0) {
		fprintf(stderr, "usage: log-emit auto|journal|console JOB [-v]\n");
		return 2;
	}
	job = argv[2];
	log_open(target, argc > 3 && strcmp(argv[3], "-v") == 0 ? LOG_DEBUG : LOG_INFO);
	for (int k = EV_NONE + 1; k < EV__MAX; k++) {
		char *batch = xasprintf("btcal_%s", log_event_name((enum log_event)k));
		struct log_fields f = {
			.job = job,
			.run_start = 1764597600 + k,
			.batch_id = batch,
			.state = "pending",
			.attempt = k,
			.http_status = 200 + k,
		};

		log_event(LOG_NOTICE, (enum log_event)k, &f, "job '%s': event %s", job,
			  log_event_name((enum log_event)k));
		free(batch);
	}
	{
		char *dbg = xasprintf("%s-debug", job);
		struct log_fields f = { .job = dbg, .state = "in_progress" };

		log_event(LOG_DEBUG, EV_STATUS, &f, "job '%s': poll", dbg);
		free(dbg);
	}
	log_msg(LOG_WARNING, "plain %s\tmessage\nforged=1", job);
	log_nowhere("%s: no location", job);
	printf("target=%s\n", log_get_target() == LOG_TARGET_JOURNAL ? "journal" : "console");
	return 0;
}
