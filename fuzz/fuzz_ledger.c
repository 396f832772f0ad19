/*
 * fuzz_ledger: libFuzzer target for the contact ledger's file parser
 * (ledger.c). Any byte string must give contacts or FILE:LINE
 * diagnostics, never a crash, a leak or a read past the buffer (the input
 * is copied so ASan sees its exact end); and what it accepts must hold:
 * the torn offset is at a line's start, every contact read back is found
 * again by its key, and a line written by ledger_format reads back to the
 * same contact.
 * Build: ./configure --enable-fuzzing CC=clang && make fuzz/fuzz_ledger (mk/fuzz.mk).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	struct ledger l = { 0 };
	struct contact_limits lim = { .max_calls = 1, .window_s = UINT32_MAX };
	struct diag d = { 0 };
	size_t torn = 0, n;
	int r;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	r = ledger_parse(&l, "fuzz.csv", buf, size, &d, &torn);
	if ((r == 0) != (d.n == 0) || torn > size || (torn > 0 && buf[torn - 1] != '\n'))
		abort();
	n = ledger_size(&l);
	ledger_expire(&l, -1); /* merges the tail, drops nothing */
	if (ledger_size(&l) != n)
		abort();
	for (size_t i = 0; i < l.n; i++) {
		if (i > 0 && l.v[i - 1].key > l.v[i].key)
			abort();
		if (ledger_check(&l, &lim, l.v[i].key, l.v[i].agent, l.v[i].at, l.v[i].tag + 1, NULL) != LEDGER_OVER)
			abort();
	}
	/* the bytes as a target and an agent: written, read back the same */
	{
		char *t = malloc(size + 1), line[2048];
		struct ledger b = { 0 };
		size_t k = 0, len;
		if (t) {
			for (size_t i = 0; i < size && k < 100; i++)
				if (data[i])
					t[k++] = (char)data[i];
			t[k] = '\0';
			len = ledger_format(line, sizeof(line), 42, k ? t : "x", t, 7);
			if (len < sizeof(line)) {
				diag_clear(&d);
				if (ledger_parse(&b, "w", line, len, &d, &torn) < 0 || ledger_size(&b) != 1 ||
				    strcmp(b.agents[0], t) != 0 || b.v[0].key != ledger_key(k ? t : "x") || b.v[0].tag != 7)
					abort();
			}
			ledger_clear(&b);
			free(t);
		}
	}
	diag_clear(&d);
	ledger_clear(&l);
	free(buf);
	return 0;
}
