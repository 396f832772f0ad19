/*
 * fuzz_suppress: libFuzzer target for the do-not-call list parser
 * (suppress.c). Any byte string must give targets or FILE:LINE
 * diagnostics, never a crash, a leak or a read past the buffer (the input
 * is copied so ASan sees its exact end); and what it accepts must hold:
 * every number it kept is E.164, every normal form it gives reads back to
 * itself, the sealed set is sorted without repeats and finds each target.
 * Build: ./configure --enable-fuzzing CC=clang && make fuzz/fuzz_suppress (mk/fuzz.mk).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jobspec.h"
#include "suppress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1), normal[SUPPRESS_NORMAL_MAX], again[SUPPRESS_NORMAL_MAX];
	struct suppress_set s = { 0 };
	struct diag d = { 0 };
	const char *why;
	int r;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	r = suppress_parse(&s, "fuzz.txt", buf, size, &d);
	if ((r == 0) != (d.n == 0))
		abort();
	for (size_t i = 0; i < d.n; i++)
		if (!d.v[i].msg || (d.v[i].line == 0 && i + 1 != d.n))
			abort();
	suppress_seal(&s);
	for (size_t i = 1; i < s.n_nums; i++)
		if (s.nums[i - 1].key >= s.nums[i].key)
			abort();
	for (size_t i = 1; i < s.n_ids; i++)
		if (strcmp(s.ids[i - 1].id, s.ids[i].id) >= 0)
			abort();
	for (size_t i = 0; i < s.n_ids; i++)
		if (!suppress_find(&s, NULL, s.ids[i].id, NULL))
			abort();
	/* The whole input, as one target (batchcallctl suppress's argument):
	 * a normal form is E.164 or an id, and normalises to itself. */
	if (size < 512 && !memchr(buf, '\0', size) &&
	    suppress_normalize(buf, size, false, normal, &why) == 0) {
		if (normal[0] == '+' && !e164_valid(normal))
			abort();
		if (suppress_normalize(normal, strlen(normal), false, again, &why) < 0 || strcmp(normal, again) != 0)
			abort();
		if (!suppress_add(&s, normal, 0, 1) && !suppress_find_key(&s, normal, NULL))
			abort();
		if (!suppress_find_key(&s, normal, NULL))
			abort();
	}
	suppress_clear(&s);
	diag_clear(&d);
	free(buf);
	return 0;
}
