/*
 * csv: an RFC 4180 reader for recipient lists: quoted fields with embedded
 * commas, quotes and line breaks, CRLF or LF, a UTF-8 BOM. Works on a buffer;
 * no I/O.
 */
#ifndef BC_CSV_H
#define BC_CSV_H

#include <stddef.h>

#include "util.h"

struct csv_record {
	char **fields;
	size_t n_fields;
	int row; /* 1-based line where the record starts (the header is row 1) */
};

struct csv {
	struct csv_record *records; /* records[0] is the header */
	size_t n_records;
};

/* Parse buf; every problem goes to d as "FILE:ROW: message" (file names the
 * source in messages). 0 when the text is well formed, else -EINVAL (what
 * could be read is still in *ret). */
int csv_parse(const char *file, const char *buf, size_t len, struct csv **ret, struct diag *d);
void csv_free(struct csv *c);

#endif
