/*
 * suppress: do-not-call lists (see suppress.h). Parsing works line by line
 * on the bytes it is handed, without copying them: a million lines cost
 * the entries they add and nothing else.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"
#include "suppress.h"

/* --- normal form ------------------------------------------------------------ */

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static void trim(const char **p, size_t *n)
{
	while (*n > 0 && blank(**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && blank((*p)[*n - 1]))
		(*n)--;
}

int suppress_normalize(const char *text, size_t len, bool whatsapp, char *buf, const char **why)
{
	static const char prefix[] = SUPPRESS_WA_PREFIX;
	size_t plen = sizeof(prefix) - 1, digits = 0;
	char num[16];

	trim(&text, &len);
	if (len == 0) {
		*why = "an empty target (a number starting with '+', or 'whatsapp:ID')";
		return -EINVAL;
	}
	if (len >= plen && strncmp(text, prefix, plen) == 0) {
		/* (also in a whatsapp_user_id cell: Twilio writes them so) */
		whatsapp = true;
		text += plen;
		len -= plen;
		trim(&text, &len);
	}
	if (whatsapp) {
		if (len == 0 || len > SUPPRESS_ID_MAX) {
			*why = "a WhatsApp id has 1 to 128 bytes";
			return -EINVAL;
		}
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)text[i];
			if (c <= 0x20 || c == 0x7f || c == ',' || c == '"') {
				*why = "a WhatsApp id holds no blank, control character, ',' or '\"'";
				return -EINVAL;
			}
		}
		memcpy(buf, prefix, plen);
		memcpy(buf + plen, text, len);
		buf[plen + len] = '\0';
		return 0;
	}
	if (text[0] != '+') {
		*why = "not a phone number starting with '+' (E.164) nor 'whatsapp:ID'";
		return -EINVAL;
	}
	for (size_t i = 1; i < len; i++) {
		char c = text[i];
		if (c == '(' && i + 2 < len && text[i + 1] == '0' && text[i + 2] == ')' && digits > 0) {
			/* "+44 (0)20 ...": a national trunk prefix for the UK,
			 * a digit of the number for Italy (+39 06 ...); a list
			 * takes both forms (take()), one target must say */
			*why = "'(0)' may or may not be a digit of the number (+44 (0)20 is +4420, +39 (0)6 is +3906): "
			       "write it in E.164";
			return -EINVAL;
		}
		if (c >= '0' && c <= '9') {
			if (digits == 0 && c == '0') {
				*why = "an E.164 number begins with its country code, which never begins with 0";
				return -EINVAL;
			}
			if (digits == 15) {
				*why = "an E.164 phone number has 8 to 15 digits";
				return -EINVAL;
			}
			num[digits++] = c;
		} else if (!(c == ' ' || c == '-' || c == '.' || c == '(' || c == ')')) {
			*why = "a phone number holds digits and the separators ' ', '-', '.', '(' and ')' only";
			return -EINVAL;
		}
	}
	buf[0] = '+';
	memcpy(buf + 1, num, digits);
	buf[1 + digits] = '\0';
	if (!e164_valid(buf)) {
		*why = "an E.164 phone number has 8 to 15 digits";
		return -EINVAL;
	}
	return 0;
}

/* The key of an E.164 number ("+" and 8..15 digits); false for anything
 * else. */
static bool num_key(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	size_t n = 0;

	if (!e164_valid(s))
		return false;
	for (s++; *s; s++, n++)
		v = v * 10 + (uint64_t)(*s - '0');
	*ret = v << 4 | n;
	return true;
}

/* --- the set ------------------------------------------------------------------ */

uint32_t suppress_source(struct suppress_set *s, const char *file)
{
	for (size_t i = 0; i < s->n_srcs; i++)
		if (strcmp(s->srcs[i], file) == 0)
			return (uint32_t)i;
	s->srcs = xrealloc(s->srcs, (s->n_srcs + 1) * sizeof(*s->srcs));
	s->srcs[s->n_srcs] = xstrdup(file);
	return (uint32_t)s->n_srcs++;
}

/* Append (unsealed) a normal target. */
static void push(struct suppress_set *s, const char *normal, uint32_t src, uint32_t line)
{
	uint64_t key;

	if (strncmp(normal, SUPPRESS_WA_PREFIX, sizeof(SUPPRESS_WA_PREFIX) - 1) == 0) {
		xgrow((void **)&s->ids, &s->cap_ids, s->n_ids + 1, sizeof(*s->ids));
		s->ids[s->n_ids++] = (struct suppress_id){ xstrdup(normal + sizeof(SUPPRESS_WA_PREFIX) - 1), src, line };
	} else if (num_key(normal, &key)) {
		xgrow((void **)&s->nums, &s->cap_nums, s->n_nums + 1, sizeof(*s->nums));
		s->nums[s->n_nums++] = (struct suppress_num){ key, src, line };
	}
}

static int id_cmp(const void *a, const void *b)
{
	const struct suppress_id *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c)
		return c;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Sort v by key, keeping the order of equal keys (their lists' order, and
 * lines in order): least significant byte first, a pass per byte that is
 * not the same in every key. A million keys in a few tens of ms, where
 * qsort takes hundreds. */
static void radix_sort(struct suppress_num *v, size_t n)
{
	struct suppress_num *tmp = xmalloc(n * sizeof(*tmp)), *src = v, *dst = tmp;

	for (unsigned shift = 0; shift < 64; shift += 8) {
		size_t count[256] = { 0 }, pos = 0;
		for (size_t i = 0; i < n; i++)
			count[(src[i].key >> shift) & 0xff]++;
		if (count[(src[0].key >> shift) & 0xff] == n)
			continue; /* every key has this byte */
		for (size_t b = 0; b < 256; b++) {
			size_t c = count[b];
			count[b] = pos;
			pos += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i].key >> shift) & 0xff]++] = src[i];
		src = dst;
		dst = src == v ? tmp : v;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(tmp);
}

void suppress_seal(struct suppress_set *s)
{
	size_t k = 0;

	/* Entries are appended in their lists' order, lines in order: a
	 * stable sort by key keeps the first place of a repeated target. */
	if (s->n_nums > 1)
		radix_sort(s->nums, s->n_nums);
	for (size_t i = 0; i < s->n_nums; i++)
		if (k == 0 || s->nums[k - 1].key != s->nums[i].key)
			s->nums[k++] = s->nums[i];
	s->n_nums = k;
	if (s->n_ids > 1)
		qsort(s->ids, s->n_ids, sizeof(*s->ids), id_cmp);
	k = 0;
	for (size_t i = 0; i < s->n_ids; i++) {
		if (k > 0 && strcmp(s->ids[k - 1].id, s->ids[i].id) == 0)
			free(s->ids[i].id);
		else
			s->ids[k++] = s->ids[i];
	}
	s->n_ids = k;
	/* Give back what growing left over: a set lives as long as its
	 * configuration. */
	if (s->cap_nums > s->n_nums) {
		s->nums = xrealloc(s->nums, (s->n_nums ? s->n_nums : 1) * sizeof(*s->nums));
		s->cap_nums = s->n_nums ? s->n_nums : 1;
	}
	s->sealed = true;
}

/* The first index of nums whose key is >= key. */
static size_t num_lower(const struct suppress_set *s, uint64_t key)
{
	size_t lo = 0, hi = s->n_nums;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->nums[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t id_lower(const struct suppress_set *s, const char *id)
{
	size_t lo = 0, hi = s->n_ids;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(s->ids[mid].id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool suppress_add(struct suppress_set *s, const char *normal, uint32_t src, uint32_t line)
{
	uint64_t key;
	size_t i;

	if (strncmp(normal, SUPPRESS_WA_PREFIX, sizeof(SUPPRESS_WA_PREFIX) - 1) == 0) {
		const char *id = normal + sizeof(SUPPRESS_WA_PREFIX) - 1;
		i = id_lower(s, id);
		if (i < s->n_ids && strcmp(s->ids[i].id, id) == 0)
			return false;
		xgrow((void **)&s->ids, &s->cap_ids, s->n_ids + 1, sizeof(*s->ids));
		memmove(&s->ids[i + 1], &s->ids[i], (s->n_ids - i) * sizeof(*s->ids));
		s->ids[i] = (struct suppress_id){ xstrdup(id), src, line };
		s->n_ids++;
		return true;
	}
	if (!num_key(normal, &key))
		return false;
	i = num_lower(s, key);
	if (i < s->n_nums && s->nums[i].key == key)
		return false;
	xgrow((void **)&s->nums, &s->cap_nums, s->n_nums + 1, sizeof(*s->nums));
	memmove(&s->nums[i + 1], &s->nums[i], (s->n_nums - i) * sizeof(*s->nums));
	s->nums[i] = (struct suppress_num){ key, src, line };
	s->n_nums++;
	return true;
}

size_t suppress_source_size(const struct suppress_set *s, const char *file)
{
	size_t n = 0;
	uint32_t src;

	for (src = 0; src < s->n_srcs && strcmp(s->srcs[src], file) != 0; src++)
		;
	if (src == s->n_srcs)
		return 0;
	for (size_t i = 0; i < s->n_nums; i++)
		n += s->nums[i].src == src;
	for (size_t i = 0; i < s->n_ids; i++)
		n += s->ids[i].src == src;
	return n;
}

size_t suppress_size(const struct suppress_set *s)
{
	return s ? s->n_nums + s->n_ids : 0;
}

static void hit(const struct suppress_set *s, uint32_t src, uint32_t line, struct suppress_hit *ret)
{
	if (ret)
		*ret = (struct suppress_hit){ src < s->n_srcs ? s->srcs[src] : "?", (int)line };
}

static bool find_num(const struct suppress_set *s, const char *number, struct suppress_hit *ret)
{
	uint64_t key;
	size_t i;

	if (!num_key(number, &key))
		return false;
	i = num_lower(s, key);
	if (i < s->n_nums && s->nums[i].key == key) {
		hit(s, s->nums[i].src, s->nums[i].line, ret);
		return true;
	}
	return false;
}

static bool find_id(const struct suppress_set *s, const char *id, size_t len, struct suppress_hit *ret)
{
	char buf[SUPPRESS_ID_MAX + 1];
	size_t i;

	if (len == 0 || len > SUPPRESS_ID_MAX)
		return false;
	memcpy(buf, id, len);
	buf[len] = '\0';
	i = id_lower(s, buf);
	if (i < s->n_ids && strcmp(s->ids[i].id, buf) == 0) {
		hit(s, s->ids[i].src, s->ids[i].line, ret);
		return true;
	}
	return false;
}

/* text (n bytes) as "+DIGITS" when it is 8 to 15 digits, with or without
 * its '+': the number a WhatsApp id of that form is. */
static bool as_number(const char *text, size_t n, char out[17])
{
	size_t d = 0;

	if (n > 0 && text[0] == '+')
		text++, n--;
	if (n < 8 || n > 15 || text[0] == '0')
		return false;
	out[d++] = '+';
	for (size_t i = 0; i < n; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		out[d++] = text[i];
	}
	out[d] = '\0';
	return true;
}

bool suppress_find(const struct suppress_set *s, const char *phone_number, const char *whatsapp_user_id,
		   struct suppress_hit *ret)
{
	char num[17];

	if (!s)
		return false;
	if (phone_number) {
		/* the number, and the WhatsApp id that is the same number
		 * (listed as whatsapp:DIGITS or whatsapp:+DIGITS) */
		if (find_num(s, phone_number, ret))
			return true;
		if (phone_number[0] == '+' && (find_id(s, phone_number, strlen(phone_number), ret) ||
					       find_id(s, phone_number + 1, strlen(phone_number) - 1, ret)))
			return true;
	}
	if (whatsapp_user_id) {
		/* compared as the lists keep them: trimmed of blanks; one
		 * made of a number's digits is that number too */
		const char *id = whatsapp_user_id;
		size_t n = strlen(id);
		trim(&id, &n);
		if (find_id(s, id, n, ret))
			return true;
		if (as_number(id, n, num) && (find_num(s, num, ret) || find_id(s, num, strlen(num), ret) ||
					      find_id(s, num + 1, strlen(num) - 1, ret)))
			return true;
	}
	return false;
}

bool suppress_find_key(const struct suppress_set *s, const char *key, struct suppress_hit *ret)
{
	static const char prefix[] = SUPPRESS_WA_PREFIX;

	if (!key)
		return false;
	if (strncmp(key, prefix, sizeof(prefix) - 1) == 0)
		return suppress_find(s, NULL, key + sizeof(prefix) - 1, ret);
	/* A run's key is a number, else a WhatsApp id. */
	return suppress_find(s, key[0] == '+' ? key : NULL, key, ret);
}

void suppress_clear(struct suppress_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_ids; i++)
		free(s->ids[i].id);
	for (size_t i = 0; i < s->n_srcs; i++)
		free(s->srcs[i]);
	free(s->ids);
	free(s->nums);
	free(s->srcs);
	memset(s, 0, sizeof(*s));
}

/* --- parsing ------------------------------------------------------------------ */

/* The next cell of a CSV line p (n bytes) from *pi, unescaped into out
 * (size bytes; a longer cell is cut, *ret_len tells its length). 1 for a
 * cell, 0 after the last, -1 with *why on a malformed quote. */
static int next_cell(const char *p, size_t n, size_t *pi, bool *done, char *out, size_t size, size_t *ret_len,
		     const char **why)
{
	size_t i = *pi, k = 0;

#define PUT(c)                            \
	do {                              \
		if (k + 1 < size)         \
			out[k] = (c);     \
		k++;                      \
	} while (0)
	if (*done)
		return 0;
	while (i < n && blank(p[i]))
		i++;
	if (i < n && p[i] == '"') {
		for (i++;; i++) {
			if (i >= n) {
				*why = "a quoted field does not end on its line";
				return -1;
			}
			if (p[i] == '"') {
				if (i + 1 < n && p[i + 1] == '"') {
					PUT('"');
					i++;
					continue;
				}
				i++;
				break;
			}
			PUT(p[i]);
		}
		while (i < n && blank(p[i]))
			i++;
		if (i < n && p[i] != ',') {
			*why = "text after the closing quote of a field";
			return -1;
		}
	} else {
		for (; i < n && p[i] != ','; i++) {
			if (p[i] == '"') {
				*why = "a quote inside a field that does not start with one";
				return -1;
			}
			PUT(p[i]);
		}
	}
#undef PUT
	out[k < size ? k : size - 1] = '\0';
	*ret_len = k;
	if (i < n)
		i++; /* the comma */
	else
		*done = true;
	*pi = i;
	return 1;
}

struct parser {
	struct suppress_set *s;
	const char *file;
	uint32_t src;
	struct diag *d;
	size_t errors;
	bool decided, csv;
	long col_phone, col_wa; /* -1: none */
};

__attribute__((format(printf, 3, 4)))
static void perr(struct parser *P, int line, const char *fmt, ...)
{
	va_list ap;

	if (P->errors++ >= SUPPRESS_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	diag_vadd(P->d, P->file, line, fmt, ap);
	va_end(ap);
}

/* The first line that is not a comment: a header when a cell names one of
 * the columns. */
static bool header(struct parser *P, const char *p, size_t n, int line)
{
	char cell[64];
	size_t i = 0, len;
	bool done = false;
	const char *why;
	long col = 0;
	int rc;

	P->col_phone = P->col_wa = -1;
	while ((rc = next_cell(p, n, &i, &done, cell, sizeof(cell), &len, &why)) == 1) {
		const char *c = cell;
		size_t cn = len < sizeof(cell) ? len : sizeof(cell) - 1;
		trim(&c, &cn);
		if (cn == 12 && strncmp(c, "phone_number", 12) == 0) {
			if (P->col_phone >= 0)
				perr(P, line, "the header names 'phone_number' twice");
			else
				P->col_phone = col;
		} else if (cn == 16 && strncmp(c, "whatsapp_user_id", 16) == 0) {
			if (P->col_wa >= 0)
				perr(P, line, "the header names 'whatsapp_user_id' twice");
			else
				P->col_wa = col;
		}
		col++;
	}
	return rc == 0 && (P->col_phone >= 0 || P->col_wa >= 0);
}

/* text as it may be shown in an error (err level, so in every journal
 * reader's view): each digit but the last 4 as '*', like the masked
 * numbers of info-level entries, so a malformed line does not echo a
 * whole number. */
void suppress_mask_text(const char *t, size_t n, bool beyond_ascii, char *buf, size_t size)
{
	size_t digits = 0, k = 0, seen = 0;

	for (size_t i = 0; i < n; i++)
		digits += t[i] >= '0' && t[i] <= '9';
	for (size_t i = 0; i < n && k + 1 < size; i++) {
		bool digit = t[i] >= '0' && t[i] <= '9';
		/* (a byte of any other script's digits, whole, as '*') */
		buf[k++] = (digit && seen++ + 4 < digits) || (beyond_ascii && (unsigned char)t[i] >= 0x80) ? '*' : t[i];
	}
	buf[k] = '\0';
}

static void take(struct parser *P, const char *text, size_t len, bool whatsapp, int line)
{
	char normal[SUPPRESS_NORMAL_MAX];
	const char *why;

	const char *trunk = whatsapp ? NULL : memmem(text, len, "(0)", 3);

	if (trunk) {
		/* "+44 (0)20 …" / "+39 (0)6 …": the national trunk 0 is no
		 * digit of a UK number and is one of an Italian one; a list
		 * cannot say which it meant, so both are kept from calls */
		char alt[SUPPRESS_NORMAL_MAX + 8];
		size_t at = (size_t)(trunk - text), k;
		bool ok = len < sizeof(alt);
		for (int keep = 0; ok && keep < 2; keep++) {
			memcpy(alt, text, at);
			k = at;
			if (keep)
				alt[k++] = '0';
			memcpy(alt + k, text + at + 3, len - at - 3);
			k += len - at - 3;
			if (suppress_normalize(alt, k, false, normal, &why) < 0)
				ok = false;
			else
				push(P->s, normal, P->src, (uint32_t)line);
		}
		if (ok)
			return;
	}
	if (suppress_normalize(text, len, whatsapp, normal, &why) < 0) {
		const char *t = text;
		size_t tn = len;
		char shown[44];
		trim(&t, &tn);
		suppress_mask_text(t, tn > 40 ? 40 : tn, true, shown, sizeof(shown));
		perr(P, line, "'%s': %s", shown, why);
		return;
	}
	push(P->s, normal, P->src, (uint32_t)line);
}

/* A row of a CSV list; a comment (a '#' line) may have neither cell. */
static void csv_row(struct parser *P, const char *p, size_t n, int line, bool comment)
{
	char cell[SUPPRESS_NORMAL_MAX + 8];
	size_t i = 0, len;
	bool done = false, any = false, bad = false;
	const char *why;
	long col = 0;
	int rc;

	while ((rc = next_cell(p, n, &i, &done, cell, sizeof(cell), &len, &why)) == 1) {
		bool wa = col == P->col_wa;
		if (col == P->col_phone || wa) {
			const char *c = cell;
			size_t cn = len;
			if (len >= sizeof(cell)) {
				perr(P, line, "the %s field is too long", wa ? "whatsapp_user_id" : "phone_number");
				bad = true;
			} else {
				trim(&c, &cn);
				/* (in a '#' line, a cell that begins with '#' is
				 * the comment's text) */
				if (cn > 0 && !(comment && c[0] == '#')) {
					take(P, c, cn, wa, line);
					any = true;
				}
			}
		}
		col++;
	}
	if (rc < 0 && !(comment && !any))
		perr(P, line, "%s", why);
	else if (!any && !bad && !comment)
		perr(P, line, "no phone_number or whatsapp_user_id on this row");
}

static void plain_line(struct parser *P, const char *p, size_t n, int line)
{
	/* A '#' after a blank ends the target. */
	for (size_t i = 1; i < n; i++)
		if (p[i] == '#' && blank(p[i - 1])) {
			n = i;
			break;
		}
	if (memchr(p, ',', n)) {
		perr(P, line, "a ',' in a plain list (a CSV list needs a header row naming 'phone_number' or "
			      "'whatsapp_user_id')");
		return;
	}
	take(P, p, n, false, line);
}

int suppress_parse(struct suppress_set *s, const char *file, const char *buf, size_t len, struct diag *d)
{
	struct parser P = { .s = s, .file = file, .d = d, .col_phone = -1, .col_wa = -1 };
	size_t pos = 0;
	int line = 0;

	P.src = suppress_source(s, file);
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		const char *p = buf + pos, *nl = memchr(p, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - p) : len - pos;

		pos += n + (nl ? 1 : 0);
		if (line < INT32_MAX)
			line++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (memchr(p, '\0', n)) {
			perr(&P, line, "a NUL byte");
			continue;
		}
		while (n > 0 && blank(*p)) {
			p++;
			n--;
		}
		if (n == 0)
			continue;
		if (p[0] == '#' && !P.csv)
			continue;
		if (p[0] == '#') {
			/* In a CSV a row may begin with '#' (a record id, a
			 * note): a comment only when its number cells are
			 * empty, else a row like any other. */
			csv_row(&P, p, n, line, true);
			continue;
		}
		if (!P.decided) {
			P.decided = true;
			if (header(&P, p, n, line)) {
				P.csv = true;
				continue;
			}
		}
		if (P.csv)
			csv_row(&P, p, n, line, false);
		else
			plain_line(&P, p, n, line);
	}
	if (P.errors > SUPPRESS_MAX_ERRORS)
		diag_add(d, file, 0, "%zu more malformed lines", P.errors - SUPPRESS_MAX_ERRORS);
	return P.errors ? -EINVAL : 0;
}

/* --- decisions ----------------------------------------------------------------- */

enum suppress_verdict suppress_check(const struct suppress_rules *rules, const char *phone_number,
				     const char *whatsapp_user_id, struct suppress_hit *ret)
{
	if (!rules)
		return SUPPRESS_ALLOWED;
	for (size_t i = 0; i < rules->n_sets && i < SUPPRESS_SETS_MAX; i++)
		if (suppress_find(rules->sets[i], phone_number, whatsapp_user_id, ret))
			return SUPPRESS_LISTED;
	return SUPPRESS_ALLOWED;
}

enum suppress_verdict suppress_check_key(const struct suppress_rules *rules, const char *key,
					 struct suppress_hit *ret)
{
	if (!rules)
		return SUPPRESS_ALLOWED;
	for (size_t i = 0; i < rules->n_sets && i < SUPPRESS_SETS_MAX; i++)
		if (suppress_find_key(rules->sets[i], key, ret))
			return SUPPRESS_LISTED;
	return SUPPRESS_ALLOWED;
}

size_t suppress_filter(const struct suppress_rules *rules, const struct recipient *v, size_t n, bool *include,
		       char ***ret_keys)
{
	char **keys = NULL;
	size_t k = 0, cap = 0;

	for (size_t i = 0; rules && i < n; i++) {
		const char *key;
		if (!include[i] || suppress_check(rules, v[i].phone_number, v[i].whatsapp_user_id, NULL) ==
					   SUPPRESS_ALLOWED)
			continue;
		include[i] = false;
		key = recipient_key(v[i].phone_number, v[i].whatsapp_user_id);
		xgrow((void **)&keys, &cap, k + 1, sizeof(*keys));
		keys[k++] = xstrdup(key ? key : "");
	}
	*ret_keys = keys;
	return k;
}

/* Warnings per job beyond which only their number is said. */
#define WARN_PER_JOB 20

size_t suppress_warn_jobs(const struct suppress_rules *rules, const struct jobspec *jobs, size_t n_jobs,
			  struct diag *w)
{
	size_t total = 0;

	for (size_t j = 0; j < n_jobs; j++) {
		const struct jobspec *job = &jobs[j];
		size_t k = 0;
		for (size_t i = 0; i < job->n_recipients; i++) {
			const struct recipient *r = &job->recipients[i];
			struct suppress_hit h;
			if (suppress_check(rules, r->phone_number, r->whatsapp_user_id, &h) == SUPPRESS_ALLOWED)
				continue;
			if (k++ < WARN_PER_JOB)
				diag_add(w, r->file ? r->file : job->file, r->file ? r->line : job->line,
					 "job '%s': recipient '%s' is on the do-not-call list %s:%d; it will not be called",
					 job->name, recipient_key(r->phone_number, r->whatsapp_user_id), h.file, h.line);
		}
		if (k > WARN_PER_JOB)
			diag_add(w, job->file, job->line, "job '%s': %zu more recipients are on a do-not-call list",
				 job->name, k - WARN_PER_JOB);
		total += k;
	}
	return total;
}

void suppress_mask(const char *key, char *buf, size_t size)
{
	size_t n = key ? strlen(key) : 0, total = 0, seen = 0, k = 0;
	bool num = n > 0 && key[0] == '+';

	if (size == 0)
		return;
	/* A number keeps its '+' and last four digits; an id its last four
	 * characters. */
	for (size_t i = 0; i < n; i++)
		total += !num || (key[i] >= '0' && key[i] <= '9');
	for (size_t i = 0; i < n && k + 1 < size; i++) {
		char c = key[i];
		if (num && !(c >= '0' && c <= '9')) {
			buf[k++] = c;
			continue;
		}
		seen++;
		buf[k++] = total - seen < 4 ? c : '*';
	}
	buf[k] = '\0';
}
