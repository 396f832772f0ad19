/*
 * notify-emit: sends the notify sequence of a start, a reload and a stop
 * through notify.c, with the watchdog timer running on a libevent loop in
 * between, for tests/notify.sh: half a second of loop, a 300 ms hang
 * outside the loop (framed by STATUS=hung and STATUS=resumed, during which
 * no ping may be sent), then half a second of loop again.
 */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include <event2/event.h>

#include "notify.h"

int main(void)
{
	struct event_base *base = event_base_new();
	struct timeval half_second = { 0, 500000 };
	struct timespec hang = { 0, 300000000 };
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
	event_base_loopexit(base, &half_second);
	event_base_dispatch(base);
	/* A hung loop: the point of driving the pings from the loop is that
	 * none arrive now. The sleep is the thing under test, not a wait. */
	notify_status("hung");
	nanosleep(&hang, NULL);
	notify_status("resumed");
	event_base_loopexit(base, &half_second);
	event_base_dispatch(base);
	notify_watchdog_stop();
	notify_extend_timeout(5000000);
	notify_stopping();
	event_base_free(base);
	return 0;
}
