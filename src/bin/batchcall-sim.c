/*
 * batchcall-sim: a local simulator of the ElevenLabs batch-calling API.
 * This file only reads the command line; see docs/simulator.md.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_hooks.h"
#include "sim_server.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: batchcall-sim [--listen ADDR:PORT] [--api-key KEY] [--seed N] [--speed X]\n"
		   "                     [--tls-cert FILE --tls-key FILE] [--processing-secs X] [--clock-offset S]\n"
		   "                     [--webhook-url URL --webhook-secret SECRET [--webhook-events LIST]]\n"
		   "                     [--service-time MS]\n"
		   "\n"
		   "A local simulator of the ElevenLabs batch-calling and conversation API, with\n"
		   "signed post-call webhooks (see docs/simulator.md).\n"
		   "\n"
		   "  --listen ADDR:PORT  address to serve on (default 127.0.0.1:8080; port 0 picks a free one)\n"
		   "  --api-key KEY       the xi-api-key clients must send (default sim-key)\n"
		   "  --seed N            seed of fault probabilities and ids (default 1)\n"
		   "  --speed X           divide every simulated call duration by X (default 1)\n"
		   "  --io-timeout N      seconds a client connection may stay silent (default 120)\n"
		   "  --tls-cert FILE     serve HTTPS with this PEM certificate chain (needs --tls-key)\n"
		   "  --tls-key FILE      the certificate's PEM private key\n"
		   "  --processing-secs X a conversation's analysis time after the call (default 3; divided by --speed)\n"
		   "  --clock-offset S    start the simulated clock S seconds from the real one (negative: behind)\n"
		   "  --service-time MS   hold every API answer MS milliseconds before it is sent (default 0;\n"
		   "                      other connections are served meanwhile; adds to a delay fault)\n"
		   "  --webhook-url URL   send post-call webhooks there (http://HOST[:PORT][/PATH])\n"
		   "  --webhook-secret S  their HMAC secret (ElevenLabs-Signature: t=...,v0=...)\n"
		   "  --webhook-events L  comma-separated: transcript, audio, call_initiation_failure\n"
		   "                      (default transcript,call_initiation_failure)\n"
		   "  --help, --version\n"
		   "\n"
		   "When ready it prints one line: batchcall-sim: listening on http://ADDR:PORT\n");
}

/* Split "ADDR:PORT" ("[v6]:PORT" too): 0 or -EINVAL. */
static int parse_listen(char *s, const char **ret_host, int *ret_port)
{
	char *colon = strrchr(s, ':');
	int64_t port;

	if (!colon || parse_int64(colon + 1, 0, 65535, &port) < 0)
		return -EINVAL;
	*colon = '\0';
	if (s[0] == '[') {
		size_t n = strlen(s);
		if (n < 3 || s[n - 1] != ']')
			return -EINVAL;
		s[n - 1] = '\0';
		s++;
	}
	if (!*s)
		return -EINVAL;
	*ret_host = s;
	*ret_port = (int)port;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'}, {"api-key", required_argument, NULL, 'k'},
		{"seed", required_argument, NULL, 's'},   {"speed", required_argument, NULL, 'x'},
		{"tls-cert", required_argument, NULL, 'c'}, {"tls-key", required_argument, NULL, 'K'},
		{"io-timeout", required_argument, NULL, 'T'},
		{"processing-secs", required_argument, NULL, 'P'},
		{"clock-offset", required_argument, NULL, 'O'},
		{"webhook-url", required_argument, NULL, 'W'},
		{"webhook-secret", required_argument, NULL, 'S'},
		{"webhook-events", required_argument, NULL, 'E'},
		{"service-time", required_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct sim_server_opts o = {.listen_host = "127.0.0.1", .port = 8080, .api_key = "sim-key", .seed = 1, .speed = 1,
				    .processing_secs = -1};
	char *listen = NULL, *end;
	int64_t seed;
	int c, r = 2;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			free(listen);
			listen = xstrdup(optarg);
			if (parse_listen(listen, &o.listen_host, &o.port) < 0) {
				fprintf(stderr, "batchcall-sim: --listen wants ADDR:PORT, got '%s'\n", optarg);
				goto out;
			}
			break;
		case 'k':
			if (!*optarg) {
				fprintf(stderr, "batchcall-sim: --api-key must not be empty\n");
				goto out;
			}
			o.api_key = optarg;
			break;
		case 's':
			if (parse_int64(optarg, 0, INT64_MAX, &seed) < 0) {
				fprintf(stderr, "batchcall-sim: --seed wants an integer >= 0, got '%s'\n", optarg);
				goto out;
			}
			o.seed = (uint64_t)seed;
			break;
		case 'x':
			errno = 0;
			o.speed = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(o.speed) || o.speed <= 0) {
				fprintf(stderr, "batchcall-sim: --speed wants a number > 0, got '%s'\n", optarg);
				goto out;
			}
			break;
		case 'T':
			if (parse_int64(optarg, 1, 100000000, &seed) < 0) {
				fprintf(stderr, "batchcall-sim: --io-timeout wants seconds >= 1, got '%s'\n", optarg);
				goto out;
			}
			o.io_timeout = (int)seed;
			break;
		case 'O':
			if (parse_int64(optarg, -315360000, 315360000, &o.clock_offset_s) < 0) {
				fprintf(stderr, "batchcall-sim: --clock-offset wants seconds within ten years, got '%s'\n",
					optarg);
				goto out;
			}
			break;
		case 'D':
			if (parse_int64(optarg, 0, 3600000, &seed) < 0) {
				fprintf(stderr, "batchcall-sim: --service-time wants milliseconds from 0 to 3600000, got '%s'\n",
					optarg);
				goto out;
			}
			o.service_time_ms = (int)seed;
			break;
		case 'P':
			errno = 0;
			o.processing_secs = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(o.processing_secs) || o.processing_secs < 0 ||
			    o.processing_secs > 1e9) {
				fprintf(stderr, "batchcall-sim: --processing-secs wants seconds >= 0, got '%s'\n", optarg);
				goto out;
			}
			break;
		case 'W':
			if (sim_hooks_check_url(optarg)) {
				fprintf(stderr, "batchcall-sim: --webhook-url: %s, got '%s'\n", sim_hooks_check_url(optarg),
					optarg);
				goto out;
			}
			o.webhook_url = optarg;
			break;
		case 'S':
			if (!*optarg) {
				fprintf(stderr, "batchcall-sim: --webhook-secret must not be empty\n");
				goto out;
			}
			o.webhook_secret = optarg;
			break;
		case 'E':
			o.webhook_events = sim_hooks_parse_events(optarg);
			if (!o.webhook_events) {
				fprintf(stderr,
					"batchcall-sim: --webhook-events wants a list of transcript, audio, "
					"call_initiation_failure, got '%s'\n",
					optarg);
				goto out;
			}
			break;
		case 'c':
			o.tls_cert = optarg;
			break;
		case 'K':
			o.tls_key = optarg;
			break;
		case 'h':
			usage(stdout);
			r = 0;
			goto out;
		case 'V':
			printf("batchcall-sim %s\n", PACKAGE_VERSION);
			r = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "batchcall-sim: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		goto out;
	}
	if (o.webhook_url && !o.webhook_secret) {
		fprintf(stderr, "batchcall-sim: --webhook-url needs --webhook-secret\n");
		goto out;
	}
	if (!o.tls_cert != !o.tls_key) {
		fprintf(stderr, "batchcall-sim: --tls-cert and --tls-key go together\n");
		goto out;
	}
	r = sim_server_run(&o) < 0 ? 1 : 0;
out:
	free(listen);
	return r;
}
