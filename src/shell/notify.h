/*
 * notify: the daemon's side of the systemd notification protocol
 * (READY=1, RELOADING=1, STOPPING=1, STATUS=, EXTEND_TIMEOUT_USEC=) and the
 * watchdog, whose pings come from a timer on the daemon's own event loop so
 * that a hung loop stops them and systemd restarts the service.
 *
 * Every call is a no-op returning 0 when $NOTIFY_SOCKET is unset.
 */
#ifndef BC_NOTIFY_H
#define BC_NOTIFY_H

#include <stdint.h>

struct event_base;

/* Tell systemd the daemon is up (after the first load, after a reload). */
int notify_ready(void);
/* Tell systemd a reload began (RELOADING=1 with MONOTONIC_USEC). */
int notify_reloading(void);
/* Tell systemd the daemon is stopping. */
int notify_stopping(void);
/* Set the one-line STATUS= shown by `systemctl status` (newlines are
 * replaced: they would inject other assignments). */
int notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Ask for usec more before systemd's start/stop timeout fires. */
int notify_extend_timeout(uint64_t usec);
/* Start WATCHDOG=1 pings at half of $WATCHDOG_USEC on base; 0 also when
 * the watchdog is off, a negative errno on failure. */
int notify_watchdog_start(struct event_base *base);
/* Stop the pings and free the timer. */
void notify_watchdog_stop(void);
/* The ping interval in microseconds, 0 when the watchdog is off. */
uint64_t notify_watchdog_interval(void);

#endif
