/*
 * libFuzzer target for tz_parse: TZif images are outside input (a damaged or
 * hostile tz database must give -EBADMSG, never a crash or an over-read).
 * A zone that parses is also queried, so the footer rules and the gap/overlap
 * walk run on whatever the fuzzer managed to make valid.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t instants[] = { INT64_MIN, -1, 0, 1772953200, 2215062000LL,
					    4129250400LL, INT64_MAX };
	struct tz *z = NULL;
	char *cause = NULL;
	struct civil c = { 2040, 11, 4, 1, 30, 0 }, l;
	char buf[64];

	if (tz_parse("Fuzz/Zone", data, size, &z, &cause) < 0) {
		if (!cause)
			abort(); /* every failure must say why */
		free(cause);
		return 0;
	}
	for (size_t i = 0; i < sizeof(instants) / sizeof(instants[0]); i++) {
		tz_lookup(z, instants[i], NULL, NULL, NULL);
		tz_to_local(z, instants[i], &l, NULL);
	}
	tz_to_instant(z, &c, NULL);
	c = (struct civil){ 2026, 3, 8, 2, 30, 0 };
	tz_format_local(z, tz_to_instant(z, &c, NULL), buf, sizeof(buf));
	tz_free(z);
	return 0;
}
