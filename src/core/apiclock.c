/*
 * apiclock: the API's clock measured from its answers (apiclock.h).
 */
#include "config.h"

#include "apiclock.h"

static int64_t abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

enum api_clock_change api_clock_note(struct api_clock *c, int64_t sent_ms, int64_t recv_ms, int64_t server_s)
{
	int64_t server_ms, lag;
	bool was = c->off;

	if (sent_ms < 0 || recv_ms < sent_ms || server_s < 0 || server_s > INT64_MAX / 1000 - 1000)
		return API_CLOCK_SAME;
	/* the server's clock read [server_ms, server_ms + 1000) at an
	 * instant of ours in [sent_ms, recv_ms] */
	server_ms = server_s * 1000;
	c->known = true;
	c->offset_ms = server_ms + 500 - (sent_ms + (recv_ms - sent_ms) / 2);
	c->error_ms = (recv_ms - sent_ms) / 2 + 500;
	lag = recv_ms - server_ms;
	if (lag > c->max_lag_ms)
		c->max_lag_ms = lag;
	if (!c->off && abs64(c->offset_ms) - c->error_ms > API_CLOCK_WARN_MS)
		c->off = true;
	else if (c->off && abs64(c->offset_ms) + c->error_ms <= API_CLOCK_WARN_MS / 2)
		c->off = false;
	return c->off == was ? API_CLOCK_SAME : c->off ? API_CLOCK_OFF : API_CLOCK_BACK;
}

int64_t api_clock_lag_s(const struct api_clock *c)
{
	return (c->max_lag_ms + 999) / 1000;
}

int64_t api_clock_lookup_margin_s(const struct api_clock *c)
{
	return API_CLOCK_LOOKUP_MARGIN_S + api_clock_lag_s(c);
}
