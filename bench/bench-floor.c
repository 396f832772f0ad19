/*
 * bench-floor: what a set of API requests costs on its own. It sends the
 * requests a daemon run made (bench-daemon.py workload with BENCH_FLOOR)
 * again, at the same moments relative to the first, at most CONC at once,
 * through libcurl's multi interface (one handle per request, a submit on a
 * connection of its own, as the daemon sends them), reads each answer into
 * memory and, with --parse, into a json-c tree; then prints its own CPU
 * seconds. No state, no logs, no timers of its own: the floor under the
 * daemon's CPU for the same traffic.
 *
 *   bench-floor [--parse] [--reuse] CONC API_KEY FILE
 *
 * FILE: one request a line, "OFFSET_US<TAB>METHOD<TAB>URL<TAB>BODY" (BODY
 * empty for a GET).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

struct req {
	long long at_us;
	char *method, *url, *body;
	char *answer;
	size_t len;
	struct curl_slist *headers;
};

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct req *r = arg;
	char *a = realloc(r->answer, r->len + size * n + 1);

	if (!a)
		return 0;
	memcpy(a + r->len, p, size * n);
	r->answer = a;
	r->len += size * n;
	r->answer[r->len] = '\0';
	return size * n;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	int parse = 0, reuse = 0, conc, running = 0, inflight = 0, failed = 0;
	CURL *spare[64];
	int n_spare = 0;
	unsigned long loops = 0;
	size_t n = 0, cap = 0, next = 0, done = 0, bytes = 0;
	struct req *reqs = NULL;
	char line[1 << 16], hdr[256];
	FILE *f;
	CURLM *m;
	long long t0;
	double cpu0;

	while (argc > 1 && argv[1][0] == '-') {
		if (strcmp(argv[1], "--parse") == 0)
			parse = 1;
		else if (strcmp(argv[1], "--reuse") == 0)
			reuse = 1; /* finished handles, reset, for the next requests */
		argv++;
		argc--;
	}
	if (argc != 4) {
		fprintf(stderr, "usage: bench-floor [--parse] [--reuse] CONC API_KEY FILE\n");
		return 2;
	}
	conc = atoi(argv[1]);
	snprintf(hdr, sizeof(hdr), "xi-api-key: %s", argv[2]);
	if (!(f = fopen(argv[3], "r"))) {
		perror(argv[3]);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *at = strtok(line, "\t\n"), *method = strtok(NULL, "\t\n"), *url = strtok(NULL, "\t\n"),
		     *body = strtok(NULL, "\n");
		if (!at || !method || !url)
			continue;
		if (n == cap) {
			struct req *more = realloc(reqs, (cap ? cap * 2 : 1024) * sizeof(*reqs));

			if (!more) {
				free(reqs);
				return 1;
			}
			reqs = more;
			cap = cap ? cap * 2 : 1024;
		}
		memset(&reqs[n], 0, sizeof(reqs[n]));
		reqs[n].at_us = atoll(at);
		reqs[n].method = strdup(method);
		reqs[n].url = strdup(url);
		reqs[n].body = body ? strdup(body) : NULL;
		n++;
	}
	fclose(f);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)conc);
	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conc);
	t0 = now_us();
	cpu0 = cpu_s();
	while (done < n) {
		long long t = now_us() - t0;
		int wait_ms = 1000;
		CURLMsg *msg;
		int left;

		while (next < n && inflight < conc && reqs[next].at_us <= t) {
			struct req *r = &reqs[next++];
			CURL *c = n_spare > 0 ? spare[--n_spare] : curl_easy_init();

			r->headers = curl_slist_append(NULL, hdr);
			curl_easy_setopt(c, CURLOPT_URL, r->url);
			curl_easy_setopt(c, CURLOPT_PRIVATE, r);
			curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
			curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
			curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
			curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
			if (strcmp(r->method, "POST") == 0) {
				r->headers = curl_slist_append(r->headers, "Content-Type: application/json");
				curl_easy_setopt(c, CURLOPT_POST, 1L);
				curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body : "");
				curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
				curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
			}
			curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->headers);
			curl_multi_add_handle(m, c);
			inflight++;
		}
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left))) {
			struct req *r;
			long status = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			if (msg->data.result != CURLE_OK || status != 200)
				failed++;
			if (parse && r->answer) {
				json_object *o = json_tokener_parse(r->answer);
				json_object_put(o);
			}
			bytes += r->len;
			free(r->answer);
			r->answer = NULL;
			curl_multi_remove_handle(m, msg->easy_handle);
			if (reuse && n_spare < 64) {
				curl_easy_reset(msg->easy_handle);
				spare[n_spare++] = msg->easy_handle;
			} else {
				curl_easy_cleanup(msg->easy_handle);
			}
			curl_slist_free_all(r->headers);
			inflight--;
			done++;
		}
		if (next < n && inflight < conc) {
			long long d = (reqs[next].at_us - (now_us() - t0) + 999) / 1000; /* rounded up: no spin */
			wait_ms = d < 0 ? 0 : d > 1000 ? 1000 : (int)d;
		}
		if (done < n)
			curl_multi_poll(m, NULL, 0, wait_ms, NULL);
		loops++;
	}
	printf("floor: %zu requests (%d not 200) at most %d at once%s%s: CPU %.3f s (%.3f ms per request), "
	       "%zu answer bytes, %.1f s, %lu loops\n",
	       n, failed, conc, parse ? ", answers parsed by json-c" : "", reuse ? ", handles reused" : "",
	       cpu_s() - cpu0,
	       1000 * (cpu_s() - cpu0) / (n ? n : 1), bytes, (now_us() - t0) / 1e6, loops);
	while (n_spare > 0)
		curl_easy_cleanup(spare[--n_spare]);
	curl_multi_cleanup(m);
	curl_global_cleanup();
	for (size_t i = 0; i < n; i++) {
		free(reqs[i].method);
		free(reqs[i].url);
		free(reqs[i].body);
	}
	free(reqs);
	return 0;
}
