/*
 * notify: sd_notify wrappers and the watchdog timer.
 *
 * The watchdog is deliberately a timer on the daemon's event loop rather
 * than a thread: the pings prove that the loop still turns, which is what
 * systemd's WatchdogSec= is meant to detect.
 */
#include "config.h"

#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "util.h"

static struct event *watchdog_ev;
static uint64_t watchdog_interval_usec;

/* sd_notify answers >0 when sent and 0 without a socket; callers only care
 * about failures. */
static int notify_send(const char *msg)
{
	int r;

	if (!getenv("NOTIFY_SOCKET"))
		return 0;
	r = sd_notify(0, msg);
	return r < 0 ? r : 0;
}

int notify_ready(void)
{
	return notify_send("READY=1");
}

int notify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	/* systemd 253+ wants MONOTONIC_USEC with RELOADING=1 (Type=notify-reload);
	 * older ones ignore it. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
	return notify_send(msg);
}

int notify_stopping(void)
{
	return notify_send("STOPPING=1");
}

int notify_status(const char *fmt, ...)
{
	va_list ap;
	char *status, *msg;
	int r;

	if (!getenv("NOTIFY_SOCKET"))
		return 0;
	va_start(ap, fmt);
	status = xvasprintf(fmt, ap);
	va_end(ap);
	for (char *p = status; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	msg = xasprintf("STATUS=%s", status);
	r = notify_send(msg);
	free(msg);
	free(status);
	return r;
}

int notify_extend_timeout(uint64_t usec)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "EXTEND_TIMEOUT_USEC=%llu", (unsigned long long)usec);
	return notify_send(msg);
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	notify_send("WATCHDOG=1");
}

int notify_watchdog_start(struct event_base *base)
{
	uint64_t usec = 0;
	struct timeval tv;
	int r;

	notify_watchdog_stop();
	if (!getenv("NOTIFY_SOCKET"))
		return 0;
	/* 0 = off (or meant for another PID: WATCHDOG_PID). */
	r = sd_watchdog_enabled(0, &usec);
	if (r <= 0 || usec == 0)
		return r < 0 ? r : 0;
	watchdog_interval_usec = usec / 2;
	if (watchdog_interval_usec == 0)
		watchdog_interval_usec = 1;
	watchdog_ev = event_new(base, -1, EV_PERSIST, watchdog_cb, NULL);
	if (!watchdog_ev) {
		r = -ENOMEM;
		goto out;
	}
	tv.tv_sec = (time_t)(watchdog_interval_usec / 1000000);
	tv.tv_usec = (suseconds_t)(watchdog_interval_usec % 1000000);
	if (event_add(watchdog_ev, &tv) < 0) {
		r = -EINVAL;
		goto out;
	}
	return 0;
out:
	notify_watchdog_stop();
	return r;
}

void notify_watchdog_stop(void)
{
	if (watchdog_ev) {
		event_free(watchdog_ev);
		watchdog_ev = NULL;
	}
	watchdog_interval_usec = 0;
}

uint64_t notify_watchdog_interval(void)
{
	return watchdog_interval_usec;
}
