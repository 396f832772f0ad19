/*
 * fuzz_csv: libFuzzer target for the CSV reader. Any byte string must give
 * either records or diagnostics, never a crash, a leak or a read past the
 * buffer (the input is copied so ASan sees its exact end).
 * Build: ./configure --enable-fuzzing CC=clang && make fuzz/fuzz_csv (mk/fuzz.mk).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	struct csv *c = NULL;
	struct diag d = { 0 };
	int r;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	r = csv_parse("fuzz.csv", buf, size, &c, &d);
	/* well-formed text gives no diagnostics, and every record is as wide
	 * as the header */
	if (r == 0 && d.n != 0)
		abort();
	if (r == 0)
		for (size_t i = 1; i < c->n_records; i++)
			if (c->records[i].n_fields != c->records[0].n_fields)
				abort();
	csv_free(c);
	diag_clear(&d);
	free(buf);
	return 0;
}
