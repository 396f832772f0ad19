/*
 * csv: RFC 4180 reader for recipient lists. The whole text is checked for
 * NUL bytes and invalid UTF-8 first, because a binary file fed by mistake
 * would otherwise yield a flood of meaningless "ragged row" errors; then a
 * small state machine splits records and fields. Every problem is reported
 * with the row (the physical line where the record starts) and parsing goes
 * on, so an operator sees all broken rows at once (up to a cap).
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "utf8.h"

/* After this many errors in one file the rest would be noise. */
#define CSV_MAX_ERRORS 20

struct csv_parser {
	const char *file;
	struct diag *d;
	size_t n_errors;
	struct csv *c;
	size_t records_cap;
	/* the record being built */
	char **fields;
	size_t n_fields, fields_cap;
	char *field;
	size_t field_len, field_cap;
	bool bad; /* the current record had an error: drop it */
};

static bool csv_error(struct csv_parser *p, int row, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Report one error; false once the cap is reached, so the caller stops. */
static bool csv_error(struct csv_parser *p, int row, const char *fmt, ...)
{
	va_list ap;

	if (p->n_errors >= CSV_MAX_ERRORS)
		return false;
	p->n_errors++;
	va_start(ap, fmt);
	diag_vadd(p->d, p->file, row, fmt, ap);
	va_end(ap);
	if (p->n_errors == CSV_MAX_ERRORS) {
		diag_add(p->d, p->file, row, "too many errors, giving up on this file");
		return false;
	}
	return true;
}

/* Refuse NUL bytes and invalid UTF-8, naming the line of the first of each. */
static int csv_check_bytes(struct csv_parser *p, const char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)buf;
	int line = 1, r = 0;
	bool seen_nul = false, seen_utf8 = false;

	for (size_t i = 0; i < len && !(seen_nul && seen_utf8);) {
		size_t n;

		if (s[i] == '\n')
			line++;
		if (s[i] == '\0') {
			if (!seen_nul)
				csv_error(p, line, "NUL byte in the file (is this a binary file?)");
			seen_nul = true;
			r = -EINVAL;
			i++;
			continue;
		}
		n = utf8_decode(s + i, len - i, NULL);
		if (n == 0) {
			if (!seen_utf8)
				csv_error(p, line, "invalid UTF-8 (byte 0x%02x); save the file as UTF-8", s[i]);
			seen_utf8 = true;
			r = -EINVAL;
			n = 1;
		}
		i += n;
	}
	return r;
}

static void field_putc(struct csv_parser *p, char ch)
{
	xgrow((void **)&p->field, &p->field_cap, p->field_len + 2, 1);
	p->field[p->field_len++] = ch;
}

static void field_end(struct csv_parser *p)
{
	xgrow((void **)&p->fields, &p->fields_cap, p->n_fields + 1, sizeof(*p->fields));
	p->fields[p->n_fields++] = xstrndup(p->field ? p->field : "", p->field_len);
	p->field_len = 0;
}

static void record_discard(struct csv_parser *p)
{
	for (size_t i = 0; i < p->n_fields; i++)
		free(p->fields[i]);
	p->n_fields = 0;
	p->field_len = 0;
	p->bad = false;
}

/* Close the current record: check its width against the header and keep it. */
static bool record_end(struct csv_parser *p, int row)
{
	struct csv *c = p->c;
	bool go_on = true;

	if (p->bad) {
		record_discard(p);
		return true;
	}
	if (c->n_records > 0 && p->n_fields != c->records[0].n_fields) {
		go_on = csv_error(p, row, "row has %zu column%s, the header has %zu", p->n_fields,
				  p->n_fields == 1 ? "" : "s", c->records[0].n_fields);
		record_discard(p);
		return go_on;
	}
	xgrow((void **)&c->records, &p->records_cap, c->n_records + 1, sizeof(*c->records));
	c->records[c->n_records].fields = xmalloc(sizeof(char *) * (p->n_fields ? p->n_fields : 1));
	memcpy(c->records[c->n_records].fields, p->fields, sizeof(char *) * p->n_fields);
	c->records[c->n_records].n_fields = p->n_fields;
	c->records[c->n_records].row = row;
	c->n_records++;
	p->n_fields = 0;
	return true;
}

int csv_parse(const char *file, const char *buf, size_t len, struct csv **ret, struct diag *d)
{
	struct csv_parser p = { .file = file, .d = d };
	size_t i = 0;
	int line = 1, row = 1, r;

	p.c = xcalloc(1, sizeof(*p.c));
	r = csv_check_bytes(&p, buf, len);
	if (r < 0)
		goto out;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3;

	while (i < len) {
		bool quoted = false, go_on = true;
		char ch;

		/* A blank line is no record (files often end with one or two). */
		if (p.n_fields == 0 && p.field_len == 0 && (buf[i] == '\n' || buf[i] == '\r')) {
			if (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')
				i++;
			i++;
			line++;
			row = line;
			continue;
		}

		/* one field */
		if (buf[i] == '"') {
			int start_line = line;
			quoted = true;
			i++;
			for (;;) {
				if (i >= len) {
					csv_error(&p, start_line, "unterminated quoted field (the closing '\"' is missing)");
					r = -EINVAL;
					p.bad = true;
					goto last;
				}
				ch = buf[i++];
				if (ch == '"') {
					if (i < len && buf[i] == '"') {
						field_putc(&p, '"');
						i++;
						continue;
					}
					break;
				}
				if (ch == '\n')
					line++;
				field_putc(&p, ch);
			}
		}
		/* the rest of the field up to a separator */
		while (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r') {
			if (quoted || buf[i] == '"') {
				if (!p.bad)
					go_on = csv_error(&p, line,
							  quoted ? "text after the closing quote of a field (write \"\" for a quote inside a quoted field)"
								 : "stray '\"' in an unquoted field (quote the whole field and double the quote)");
				r = -EINVAL;
				p.bad = true;
			}
			field_putc(&p, buf[i++]);
		}
		if (!go_on)
			goto out;
		field_end(&p);
		if (i >= len)
			break;
		if (buf[i] == ',') {
			i++;
			if (i >= len) {
				/* "a,b," at the very end: the last field is empty */
				field_end(&p);
			}
			continue;
		}
		/* end of record: \n, \r\n, or a lone \r */
		if (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')
			i++;
		i++;
		if (!record_end(&p, row)) {
			r = -EINVAL;
			goto out;
		}
		line++;
		row = line;
	}
last:
	if (p.n_fields > 0 || p.bad) {
		size_t before = p.n_errors;
		if (!record_end(&p, row) || p.n_errors > before)
			r = -EINVAL;
	}
	if (p.n_errors > 0)
		r = -EINVAL;
out:
	record_discard(&p);
	free(p.fields);
	free(p.field);
	*ret = p.c;
	return r;
}

void csv_free(struct csv *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_records; i++) {
		for (size_t j = 0; j < c->records[i].n_fields; j++)
			free(c->records[i].fields[j]);
		free(c->records[i].fields);
	}
	free(c->records);
	free(c);
}
