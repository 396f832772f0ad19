/*
 * server: the simulator's HTTP(S) shell on libevent's evhttp. Reads the
 * clock, carries out the connection actions (delay, drop, close) that
 * sim_api decides, and prints the ready line.
 */
#ifndef BC_SIM_SERVER_H
#define BC_SIM_SERVER_H

#include <stdint.h>

struct sim_server_opts {
	const char *listen_host; /* "127.0.0.1", "::1", "0.0.0.0", ... */
	int port;                /* 0: pick a free port */
	const char *api_key;
	uint64_t seed;
	double speed;
	const char *tls_cert, *tls_key; /* both or neither */
	int io_timeout;                 /* seconds a connection may stay silent; 0: 120 */
	double processing_secs;         /* a conversation's processing time at speed 1; < 0: 3 */
	const char *webhook_url;        /* post-call webhooks go there (NULL: none) */
	const char *webhook_secret;     /* their HMAC secret */
	unsigned webhook_events;        /* SIM_HOOK_* mask; 0: the default */
	int64_t clock_offset_s;         /* the simulated clock starts this far from the real one */
	int service_time_ms;            /* every API answer is held this long (0: none) */
};

/* Serve until SIGTERM/SIGINT: 0, or a negative errno (a message was
 * printed on stderr) when the server cannot start. */
int sim_server_run(const struct sim_server_opts *o);

#endif
