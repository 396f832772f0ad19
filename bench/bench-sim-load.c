/*
 * bench-sim-load: a small HTTP/1.1 keep-alive load generator for
 * batchcall-sim (no ab/wrk on a minimal host). Used by bench/bench-sim.sh.
 *
 *   bench-sim-load fill PORT KEY BATCHES RECIPIENTS
 *       submit BATCHES batches of RECIPIENTS recipients, one connection
 *   bench-sim-load mix PORT KEY SECONDS CONNECTIONS
 *       CONNECTIONS threads, each on one kept-alive connection, for SECONDS:
 *       70 % GET of a batch (10 recipients), 25 % list (limit 100), 5 %
 *       submit (10 recipients); prints requests/s and latency percentiles
 *
 * Answers are read by Content-Length; anything else than 200 counts as an
 * error. Prints figures, it is not a test.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;
static const char *key;
static char **ids;
static size_t n_ids;

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int dial(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

struct conn {
	int fd;
	char *buf;
	size_t len, cap;
};

/* Send one request, read its answer; the status, or -1. The body stays in
 * c->buf (NUL-terminated) from *ret_body. */
static int exchange(struct conn *c, const char *method, const char *path, const char *body, size_t blen,
		    const char **ret_body)
{
	char head[512];
	int hl = snprintf(head, sizeof(head),
			  "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nxi-api-key: %s\r\nContent-Type: application/json\r\n"
			  "Content-Length: %zu\r\n\r\n",
			  method, path, key, blen);
	size_t need = 0;
	char *end = NULL, *cl;
	int status;

	if (write(c->fd, head, (size_t)hl) != hl || (blen && write(c->fd, body, blen) != (ssize_t)blen))
		return -1;
	c->len = 0;
	for (;;) {
		ssize_t n;
		if (c->len + 65536 + 1 > c->cap) {
			c->cap = (c->len + 65536 + 1) * 2;
			c->buf = realloc(c->buf, c->cap);
			if (!c->buf)
				abort();
		}
		n = read(c->fd, c->buf + c->len, 65536);
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
		if (!end && (end = strstr(c->buf, "\r\n\r\n"))) {
			cl = strstr(c->buf, "Content-Length: ");
			need = (size_t)(end + 4 - c->buf) + (cl && cl < end ? strtoul(cl + 16, NULL, 10) : 0);
		}
		if (end && c->len >= need)
			break;
	}
	status = atoi(c->buf + 9);
	if (ret_body)
		*ret_body = end + 4;
	return status;
}

static char *make_body(size_t n, unsigned seed)
{
	size_t cap = 256 + n * 48, len;
	char *b = malloc(cap);

	if (!b)
		abort();
	len = (size_t)snprintf(b, cap, "{\"call_name\":\"bench %u\",\"agent_id\":\"agent_bench\",\"recipients\":[", seed);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(b + len, cap - len, "%s{\"phone_number\":\"+1555%07zu\"}", i ? "," : "",
					(i * 7 + seed) % 10000000);
	snprintf(b + len, cap - len, "]}");
	return b;
}

static char *submit(struct conn *c, size_t n, unsigned seed)
{
	char *body = make_body(n, seed);
	const char *resp;
	char *id = NULL;
	int st = exchange(c, "POST", "/v1/convai/batch-calling/submit", body, strlen(body), &resp);

	if (st == 200 && strncmp(resp, "{\"id\":\"", 7) == 0)
		id = strndup(resp + 7, 34);
	free(body);
	return id;
}

struct worker {
	pthread_t t;
	unsigned seed;
	double until;
	size_t done, errors;
	double *lat;
	size_t n_lat, cap_lat;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct conn c = {.fd = dial()};
	char *body10 = make_body(10, w->seed);
	char path[128];

	while (mono() < w->until) {
		unsigned r = (w->seed = w->seed * 1103515245u + 12345u) >> 16;
		double t0 = mono();
		int st;
		if (r % 100 < 70) {
			snprintf(path, sizeof(path), "/v1/convai/batch-calling/%s", ids[r % n_ids]);
			st = exchange(&c, "GET", path, NULL, 0, NULL);
		} else if (r % 100 < 95) {
			st = exchange(&c, "GET", "/v1/convai/batch-calling/workspace?limit=100", NULL, 0, NULL);
		} else {
			st = exchange(&c, "POST", "/v1/convai/batch-calling/submit", body10, strlen(body10), NULL);
		}
		if (st != 200) {
			w->errors++;
			if (st < 0) {
				close(c.fd);
				c.fd = dial();
			}
		}
		w->done++;
		if (w->n_lat == w->cap_lat) {
			w->cap_lat = w->cap_lat ? w->cap_lat * 2 : 4096;
			w->lat = realloc(w->lat, w->cap_lat * sizeof(*w->lat));
			if (!w->lat)
				abort();
		}
		w->lat[w->n_lat++] = mono() - t0;
	}
	close(c.fd);
	free(c.buf);
	free(body10);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 6 || (strcmp(argv[1], "fill") != 0 && strcmp(argv[1], "mix") != 0)) {
		fputs("usage: bench-sim-load fill PORT KEY BATCHES RECIPIENTS\n"
		      "       bench-sim-load mix PORT KEY SECONDS CONNECTIONS\n",
		      stderr);
		return 2;
	}
	port = atoi(argv[2]);
	key = argv[3];
	if (strcmp(argv[1], "fill") == 0) {
		struct conn c = {.fd = dial()};
		size_t nb = strtoul(argv[4], NULL, 10), nr = strtoul(argv[5], NULL, 10);
		double t0 = mono();
		for (size_t i = 0; i < nb; i++) {
			char *id = submit(&c, nr, (unsigned)i);
			if (!id) {
				fprintf(stderr, "submit %zu failed\n", i);
				return 1;
			}
			free(id);
		}
		printf("fill: %zu batches x %zu recipients in %.2f s (%.0f submits/s)\n", nb, nr, mono() - t0,
		       nb / (mono() - t0));
		return 0;
	}
	{
		double secs = atof(argv[4]), t0;
		int nc = atoi(argv[5]);
		struct worker *w = calloc((size_t)nc, sizeof(*w));
		struct conn c = {.fd = dial()};
		size_t total = 0, errors = 0, n_lat = 0, k = 0;
		double *all;

		/* the batches the GETs pick from */
		n_ids = 200;
		ids = calloc(n_ids, sizeof(*ids));
		for (size_t i = 0; i < n_ids; i++)
			if (!(ids[i] = submit(&c, 10, (unsigned)i)))
				return 1;
		close(c.fd);
		t0 = mono();
		for (int i = 0; i < nc; i++) {
			w[i].seed = (unsigned)i * 7919u + 1;
			w[i].until = t0 + secs;
			pthread_create(&w[i].t, NULL, work, &w[i]);
		}
		for (int i = 0; i < nc; i++) {
			pthread_join(w[i].t, NULL);
			total += w[i].done;
			errors += w[i].errors;
			n_lat += w[i].n_lat;
		}
		secs = mono() - t0;
		all = malloc((n_lat ? n_lat : 1) * sizeof(*all));
		for (int i = 0; i < nc; i++) {
			memcpy(all + k, w[i].lat, w[i].n_lat * sizeof(*all));
			k += w[i].n_lat;
			free(w[i].lat);
		}
		qsort(all, n_lat, sizeof(*all), cmp_double);
		printf("mix (70%% get, 25%% list limit=100, 5%% submit) over %d connections: %zu requests in %.1f s = "
		       "%.0f req/s, %zu errors; latency p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
		       nc, total, secs, total / secs, errors, n_lat ? all[n_lat / 2] * 1e3 : 0,
		       n_lat ? all[n_lat * 99 / 100] * 1e3 : 0, n_lat ? all[n_lat - 1] * 1e3 : 0);
		free(all);
		free(w);
		return errors ? 1 : 0;
	}
}
