/*
 * notify-emit: sends the notify sequence of a start, a reload and a stop
 * through notify.c, with the watchdog timer running on a libevent loop for
 * about a second in between, for tests/notify.sh.
 */
#include "config.h"

#include <stdio.h>

#include <event2/event.h>

#include "notify.h"

int main(void)
{
	struct event_base *base = event_base_new();
	struct timeval one_second = { 1, 0 };
	int r;

	if (!base)
		return 1;
	notify_ready();
	/* The newline must not become a second assignment. */
	notify_status("jobs: 3, active: 1\nREADY=1");
	notify_reloading();
	notify_ready();
	r = notify_watchdog_start(base);
	if (r < 0) {
		fprintf(stderr, "notify_watchdog_start: %d\n", r);
		return 1;
	}
	printf("interval=%llu\n", (unsigned long long)notify_watchdog_interval());
	event_base_loopexit(base, &one_second);
	event_base_dispatch(base);
	notify_watchdog_stop();
	notify_extend_timeout(5000000);
	notify_stopping();
	event_base_free(base);
	return 0;
}
