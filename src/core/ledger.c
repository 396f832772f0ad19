/* ledger: the contact ledger of the frequency caps (see ledger.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobspec.h"
#include "ledger.h"

#define WA_BIT (UINT64_C(1) << 63)

uint64_t ledger_key(const char *target)
{
	const char *digits = NULL;
	uint64_t v = 0, h;
	size_t n = 0;

	if (target[0] == '+' && e164_valid(target))
		digits = target + 1;
	else if (target[0] != '+') {
		/* a WhatsApp id of 8 to 15 digits (no leading 0) is that number */
		size_t k = strspn(target, "0123456789");
		if (target[k] == '\0' && k >= 8 && k <= 15 && target[0] != '0')
			digits = target;
	}
	if (digits) {
		for (; *digits; digits++, n++)
			v = v * 10 + (uint64_t)(*digits - '0');
		return v << 4 | n;
	}
	h = fnv1a64(FNV1A64_INIT, target, strlen(target));
	return h | WA_BIT;
}

uint64_t ledger_tag(const char *run, int attempt)
{
	uint64_t h = fnv1a64(FNV1A64_INIT, run, strlen(run) + 1);

	return fnv1a64(h, &(uint32_t){ (uint32_t)attempt }, sizeof(uint32_t));
}

uint32_t ledger_agent(struct ledger *l, const char *agent)
{
	for (size_t i = 0; i < l->n_agents; i++)
		if (strcmp(l->agents[i], agent) == 0)
			return (uint32_t)i;
	l->agents = xrealloc(l->agents, (l->n_agents + 1) * sizeof(*l->agents));
	l->agents[l->n_agents] = xstrdup(agent);
	return (uint32_t)l->n_agents++;
}

uint32_t ledger_agent_find(const struct ledger *l, const char *agent)
{
	for (size_t i = 0; i < l->n_agents; i++)
		if (strcmp(l->agents[i], agent) == 0)
			return (uint32_t)i;
	return UINT32_MAX;
}

static int cmp(const struct contact *a, const struct contact *b)
{
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	if (a->at != b->at)
		return a->at < b->at ? -1 : 1;
	if (a->tag != b->tag)
		return a->tag < b->tag ? -1 : 1;
	return 0;
}

/* The first entry of v (n) whose key is not below key. */
static size_t lower(const struct contact *v, size_t n, uint64_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The entry of key and tag in v (n), or NULL. */
static struct contact *find(struct contact *v, size_t n, uint64_t key, uint64_t tag)
{
	for (size_t i = lower(v, n, key); i < n && v[i].key == key; i++)
		if (v[i].tag == tag)
			return &v[i];
	return NULL;
}

/* The tail joins the array: one merge from the back, in place. */
static void merge(struct ledger *l)
{
	size_t i = l->n, j = l->nt, k;

	if (l->nt == 0)
		return;
	xgrow((void **)&l->v, &l->cap, l->n + l->nt, sizeof(*l->v));
	k = l->n + l->nt;
	while (j > 0) {
		if (i > 0 && cmp(&l->v[i - 1], &l->t[j - 1]) > 0)
			l->v[--k] = l->v[--i];
		else
			l->v[--k] = l->t[--j];
	}
	l->n += l->nt;
	l->nt = 0;
}

bool ledger_add(struct ledger *l, uint64_t key, uint32_t agent, int64_t at, uint64_t tag, int64_t *ret_was)
{
	struct contact c = { .key = key, .tag = tag, .at = at < 0 ? 0 : at > UINT32_MAX ? UINT32_MAX : (uint32_t)at,
			     .agent = agent };
	struct contact *old = find(l->v, l->n, key, tag);
	size_t i;

	if (!old)
		old = find(l->t, l->nt, key, tag);
	if (ret_was)
		*ret_was = old ? (int64_t)old->at : -1;
	if (old) {
		/* The same attempt made again later (its request held back,
		 * a restart): the call is as late as its last making. (Only
		 * the key orders the entries; a person's are scanned whole.) */
		if (c.at <= old->at)
			return false;
		old->at = c.at;
		return true;
	}
	xgrow((void **)&l->t, &l->cap_t, l->nt + 1, sizeof(*l->t));
	for (i = l->nt; i > 0 && cmp(&l->t[i - 1], &c) > 0; i--)
		;
	memmove(l->t + i + 1, l->t + i, (l->nt - i) * sizeof(*l->t));
	l->t[i] = c;
	if (++l->nt == LEDGER_TAIL)
		merge(l);
	return true;
}

size_t ledger_size(const struct ledger *l)
{
	return l->n + l->nt;
}

size_t ledger_expire(struct ledger *l, int64_t before)
{
	size_t k = 0, was;

	merge(l);
	was = l->n;
	for (size_t i = 0; i < l->n; i++)
		if ((int64_t)l->v[i].at > before)
			l->v[k++] = l->v[i];
	l->n = k;
	return was - k;
}

int64_t ledger_horizon(const struct contact_limits *lim)
{
	int64_t w = lim->max_calls > 0 ? lim->window_s : 0;

	return w > lim->min_gap_s ? w : lim->min_gap_s;
}

/* The instants (ascending) of key's contacts that count against a call
 * by agent as tag, from v (n), appended to out. */
static void collect(const struct contact *v, size_t n, const struct contact_limits *lim, uint64_t key,
		    uint32_t agent, uint64_t tag, int64_t since, int64_t **out, size_t *n_out, size_t *cap)
{
	for (size_t i = lower(v, n, key); i < n && v[i].key == key; i++) {
		if (v[i].tag == tag || (int64_t)v[i].at <= since || (lim->per_agent && v[i].agent != agent))
			continue;
		xgrow((void **)out, cap, *n_out + 1, sizeof(**out));
		(*out)[(*n_out)++] = v[i].at;
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

enum ledger_verdict ledger_check(const struct ledger *l, const struct contact_limits *lim, uint64_t key,
				 uint32_t agent, int64_t now, uint64_t tag, int64_t *ret_allowed)
{
	int64_t *at = NULL, allowed = now, since;
	size_t n = 0, cap = 0;
	enum ledger_verdict v = LEDGER_ALLOWED;

	if (!lim || (lim->max_calls <= 0 && lim->min_gap_s <= 0))
		return LEDGER_ALLOWED;
	since = now - ledger_horizon(lim);
	collect(l->v, l->n, lim, key, agent, tag, since, &at, &n, &cap);
	collect(l->t, l->nt, lim, key, agent, tag, since, &at, &n, &cap);
	if (n == 0) {
		free(at);
		return LEDGER_ALLOWED;
	}
	qsort(at, n, sizeof(*at), cmp_i64);
	if (lim->min_gap_s > 0 && now - at[n - 1] < lim->min_gap_s) {
		v = LEDGER_OVER;
		if (at[n - 1] + lim->min_gap_s > allowed)
			allowed = at[n - 1] + lim->min_gap_s;
	}
	if (lim->max_calls > 0) {
		/* the calls inside the window ending at now */
		size_t first = 0;
		while (first < n && at[first] <= now - lim->window_s)
			first++;
		if (n - first >= (size_t)lim->max_calls) {
			/* allowed once all but max_calls - 1 of them left it */
			int64_t t = at[n - (size_t)lim->max_calls] + lim->window_s;
			v = LEDGER_OVER;
			if (t > allowed)
				allowed = t;
		}
	}
	free(at);
	if (v == LEDGER_OVER && ret_allowed)
		*ret_allowed = allowed;
	return v;
}

/* --- the file ------------------------------------------------------------ */

static bool plain_byte(unsigned char c)
{
	return c > 0x20 && c != 0x7f && c != ',' && c != '"' && c != '%';
}

size_t ledger_format(char *buf, size_t size, int64_t at, const char *target, const char *agent, uint64_t tag)
{
	size_t n;
	int k;

	/* (past size, only counted) */
#define PUT(c)                         \
	do {                           \
		if (n + 1 < size)      \
			buf[n] = (c);  \
		n++;                   \
	} while (0)
	k = snprintf(buf, size, "%" PRId64 ",", at);
	n = k > 0 ? (size_t)k : 0;
	for (int f = 0; f < 2; f++) {
		for (const unsigned char *a = (const unsigned char *)(f ? agent : target); *a; a++) {
			if (plain_byte(*a)) {
				PUT((char)*a);
			} else {
				static const char hex[] = "0123456789ABCDEF";
				PUT('%');
				PUT(hex[*a >> 4]);
				PUT(hex[*a & 15]);
			}
		}
		PUT(',');
	}
	for (int i = 60; i >= 0; i -= 4)
		PUT("0123456789abcdef"[(tag >> i) & 15]);
	PUT('\n');
#undef PUT
	if (size > 0)
		buf[n < size ? n : size - 1] = '\0';
	return n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A field of a line (p up to end), its %XX undone, into out (size bytes);
 * NULL, or why it is malformed (what names it). */
static const char *field(const char *p, const char *end, char *out, size_t size, const char *what, bool may_be_empty)
{
	static char why[96];
	size_t k = 0;

	if (p == end && !may_be_empty) {
		snprintf(why, sizeof(why), "the %s is empty", what);
		return why;
	}
	for (; p < end; p++) {
		char ch = *p;
		if (ch == '%') {
			int hi = p + 2 < end ? hexval(p[1]) : -1, lo = hi >= 0 ? hexval(p[2]) : -1;
			if (lo < 0) {
				snprintf(why, sizeof(why), "a '%%' in the %s not followed by two hex digits", what);
				return why;
			}
			ch = (char)(hi << 4 | lo);
			p += 2;
		} else if (!plain_byte((unsigned char)ch)) {
			snprintf(why, sizeof(why), "a byte in the %s that must be written %%XX", what);
			return why;
		}
		if (ch == '\0' || k + 1 >= size) {
			snprintf(why, sizeof(why), "the %s is too long or holds a NUL", what);
			return why;
		}
		out[k++] = ch;
	}
	out[k] = '\0';
	return NULL;
}

/* One line (n bytes, no newline) appended to *out (unsorted, agents
 * interned in l); NULL, or why it is malformed. */
static const char *parse_line(struct ledger *l, const char *p, size_t n, struct contact **out, size_t *n_out,
			      size_t *cap)
{
	const char *c1 = memchr(p, ',', n), *c2, *c3, *why;
	char num[24], target[LEDGER_FIELD_MAX], agent[LEDGER_FIELD_MAX];
	int64_t at;
	uint64_t tag = 0;

	if (!c1 || !(c2 = memchr(c1 + 1, ',', n - (size_t)(c1 + 1 - p))) ||
	    !(c3 = memchr(c2 + 1, ',', n - (size_t)(c2 + 1 - p))))
		return "not four fields AT,TARGET,AGENT,TAG";
	if ((size_t)(c1 - p) >= sizeof(num) || c1 == p)
		return "the time is not a number of seconds";
	memcpy(num, p, (size_t)(c1 - p));
	num[c1 - p] = '\0';
	if (strspn(num, "0123456789") != (size_t)(c1 - p) || parse_int64(num, 0, UINT32_MAX, &at) < 0)
		return "the time is not a number of seconds";
	if ((why = field(c1 + 1, c2, target, sizeof(target), "target", false)) ||
	    (why = field(c2 + 1, c3, agent, sizeof(agent), "agent", true)))
		return why;
	if (p + n - (c3 + 1) != 16)
		return "the tag is not 16 hex digits";
	for (const char *h = c3 + 1; h < p + n; h++) {
		int v = hexval(*h);
		if (v < 0)
			return "the tag is not 16 hex digits";
		tag = tag << 4 | (uint64_t)v;
	}
	xgrow((void **)out, cap, *n_out + 1, sizeof(**out));
	(*out)[(*n_out)++] = (struct contact){ .key = ledger_key(target), .tag = tag, .at = (uint32_t)at,
					       .agent = ledger_agent(l, agent) };
	return NULL;
}

static int cmp_qsort(const void *a, const void *b)
{
	return cmp(a, b);
}

/* The contacts v (n, unsorted, taken) join l in one sort: a start reads a
 * million lines without a merge every LEDGER_TAIL of them. The same key
 * and tag twice is one contact (at its latest instant). */
static void bulk_add(struct ledger *l, struct contact *v, size_t n)
{
	size_t k = 0;

	merge(l);
	if (n == 0) {
		free(v);
		return;
	}
	v = xrealloc(v, (n + l->n) * sizeof(*v));
	if (l->n > 0) /* (l->v is NULL while empty) */
		memcpy(v + n, l->v, l->n * sizeof(*v));
	n += l->n;
	qsort(v, n, sizeof(*v), cmp_qsort);
	for (size_t i = 0; i < n; i++) {
		struct contact *dup = NULL;
		/* (a person's contacts are few: their run is searched whole;
		 * a later line of the same attempt is its later making) */
		for (size_t j = k; j > 0 && v[j - 1].key == v[i].key && !dup; j--)
			if (v[j - 1].tag == v[i].tag)
				dup = &v[j - 1];
		if (!dup)
			v[k++] = v[i];
		else if (v[i].at > dup->at)
			dup->at = v[i].at;
	}
	free(l->v);
	l->v = xrealloc(v, (k ? k : 1) * sizeof(*v));
	l->n = l->cap = k;
}

int ledger_parse(struct ledger *l, const char *file, const char *buf, size_t len, struct diag *d, size_t *ret_torn)
{
	size_t off = 0, errors = 0, n_new = 0, cap_new = 0;
	struct contact *fresh = NULL;
	int line = 0;

	*ret_torn = len;
	while (off < len) {
		const char *p = buf + off, *nl = memchr(p, '\n', len - off);
		const char *why;
		size_t n;
		line++;
		if (!nl) {
			*ret_torn = off;
			break;
		}
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > 0 && (why = parse_line(l, p, n, &fresh, &n_new, &cap_new))) {
			if (errors++ < 20)
				diag_add(d, file, line, "%s", why);
		}
		off = (size_t)(nl - buf) + 1;
	}
	if (errors > 20)
		diag_add(d, file, 0, "%zu more malformed lines", errors - 20);
	bulk_add(l, fresh, n_new);
	return errors ? -EINVAL : 0;
}

void ledger_clear(struct ledger *l)
{
	free(l->v);
	free(l->t);
	for (size_t i = 0; i < l->n_agents; i++)
		free(l->agents[i]);
	free(l->agents);
	*l = (struct ledger){ 0 };
}
