/*
 * results: the join of an occurrence's recipients, batch entries,
 * conversations and failures into rows, and the rows as CSV and JSON
 * Lines. See results.h for the rules; docs/results.md for the columns.
 *
 * Every lookup is a binary search in a sorted index, so a 10,000-recipient
 * occurrence joins and formats in milliseconds.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "jsonin.h"
#include "results.h"
#include "sbuf.h"
#include "tz.h"
#include "utf8.h"
#include "util.h"

/* --- sorted indexes -------------------------------------------------- */

/* One entry of an index: up to two keys and the position it came from
 * (ties keep input order). */
struct ix {
	const char *a, *b;
	size_t i;
};

/* strcmp with NULL before every string. */
static int nstrcmp(const char *x, const char *y)
{
	if (!x || !y)
		return (x != NULL) - (y != NULL);
	return strcmp(x, y);
}

static int ix_cmp(const void *p, const void *q)
{
	const struct ix *x = p, *y = q;
	int c = nstrcmp(x->a, y->a);
	if (c == 0)
		c = nstrcmp(x->b, y->b);
	if (c == 0)
		c = x->i < y->i ? -1 : x->i > y->i;
	return c;
}

/* The first entry with keys (a, b), or n when there is none. */
static size_t ix_find(const struct ix *v, size_t n, const char *a, const char *b)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = nstrcmp(v[mid].a, a);
		if (c == 0)
			c = nstrcmp(v[mid].b, b);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && nstrcmp(v[lo].a, a) == 0 && nstrcmp(v[lo].b, b) == 0)
		return lo;
	return n;
}

static bool ix_same(const struct ix *x, const struct ix *y)
{
	return nstrcmp(x->a, y->a) == 0 && nstrcmp(x->b, y->b) == 0;
}

/* --- what is known --------------------------------------------------- */

struct known {
	struct ix *convs;   /* (conversation_id): the best conversation of each id */
	size_t n_convs;
	struct ix *linked;  /* (batch_call_id, batch_call_recipient_id) -> index into in->convs */
	size_t n_linked;
	struct ix *fails;   /* (conversation_id): the last failure of each id */
	size_t n_fails;
	struct ix *links;   /* (batch_id, rcpt_id) -> index into in->links */
	size_t n_links;
};

/* How complete a conversation is: a final status, then an analysis. */
static int completeness(const struct conv *c)
{
	return (c->status == CONV_DONE || c->status == CONV_FAILED) * 2 + c->has_analysis;
}

/* Sort v and keep one entry per key: the last of each, or for
 * conversations the most complete (the later on ties). */
static size_t unique(struct ix *v, size_t n, const struct results_input *in, bool convs)
{
	size_t k = 0;

	qsort(v, n, sizeof(*v), ix_cmp);
	for (size_t i = 0; i < n; i++) {
		if (k > 0 && ix_same(&v[k - 1], &v[i])) {
			if (!convs || completeness(&in->convs[v[i].i]) >= completeness(&in->convs[v[k - 1].i]))
				v[k - 1] = v[i];
			continue;
		}
		v[k++] = v[i];
	}
	return k;
}

static void known_build(const struct results_input *in, struct known *k)
{
	size_t n = 0;

	k->convs = xcalloc(in->n_convs + 1, sizeof(*k->convs));
	for (size_t i = 0; i < in->n_convs; i++)
		if (in->convs[i].conversation_id)
			k->convs[n++] = (struct ix){ in->convs[i].conversation_id, NULL, i };
	k->n_convs = unique(k->convs, n, in, true);

	/* only the conversation each id keeps links to its batch entry */
	k->linked = xcalloc(k->n_convs + 1, sizeof(*k->linked));
	for (size_t i = 0; i < k->n_convs; i++) {
		const struct conv *c = &in->convs[k->convs[i].i];
		if (c->batch_call_id && c->batch_call_recipient_id)
			k->linked[k->n_linked++] = (struct ix){ c->batch_call_id, c->batch_call_recipient_id,
								k->convs[i].i };
	}
	qsort(k->linked, k->n_linked, sizeof(*k->linked), ix_cmp);

	n = 0;
	k->fails = xcalloc(in->n_failures + 1, sizeof(*k->fails));
	for (size_t i = 0; i < in->n_failures; i++)
		if (in->failures[i].conversation_id)
			k->fails[n++] = (struct ix){ in->failures[i].conversation_id, NULL, i };
	k->n_fails = unique(k->fails, n, in, false);

	k->links = xcalloc(in->n_links + 1, sizeof(*k->links));
	for (size_t i = 0; i < in->n_links; i++)
		if (in->links[i].batch_id && in->links[i].rcpt_id && in->links[i].conversation_id)
			k->links[k->n_links++] = (struct ix){ in->links[i].batch_id, in->links[i].rcpt_id, i };
	qsort(k->links, k->n_links, sizeof(*k->links), ix_cmp);
}

static void known_clear(struct known *k)
{
	free(k->convs);
	free(k->linked);
	free(k->fails);
	free(k->links);
}

static const struct conv *find_conv(const struct results_input *in, const struct known *k, const char *id)
{
	size_t j = id ? ix_find(k->convs, k->n_convs, id, NULL) : k->n_convs;
	return j < k->n_convs ? &in->convs[k->convs[j].i] : NULL;
}

static const struct conv_failure *find_failure(const struct results_input *in, const struct known *k,
					       const char *id)
{
	size_t j = id ? ix_find(k->fails, k->n_fails, id, NULL) : k->n_fails;
	return j < k->n_fails ? &in->failures[k->fails[j].i] : NULL;
}

/* --- joining a run's recipients to its detail ------------------------- */

/* entry_of values besides an entry's index. */
#define NOT_HELD (-1)  /* the run does not hold the recipient */
#define UNMATCHED (-2) /* it does, and its detail has no entry for it */

static const char *entry_key(const struct batch_rcpt *e)
{
	return recipient_key(e->phone_number, e->whatsapp_user_id);
}

static const char *rcpt_key(const struct recipient *r)
{
	return recipient_key(r->phone_number, r->whatsapp_user_id);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* For each recipient of the job, its entry in run's detail (or NOT_HELD,
 * UNMATCHED) in entry_of; claimed[e] for each entry taken. */
static void match_run(const struct jobspec *job, const struct results_run *run, long *entry_of, bool *claimed)
{
	size_t n = job->n_recipients, k = 0, m = run->has_detail ? run->n_rcpts : 0;
	const char **keys = NULL;
	struct ix *by;

	if (run->keys) {
		keys = xcalloc(run->n_keys + 1, sizeof(*keys));
		for (size_t i = 0; i < run->n_keys; i++)
			keys[k++] = run->keys[i] ? run->keys[i] : "";
		qsort(keys, k, sizeof(*keys), str_cmp);
	}
	for (size_t i = 0; i < n; i++) {
		const char *key = rcpt_key(&job->recipients[i]);
		bool held = !keys || (key && bsearch(&key, keys, k, sizeof(*keys), str_cmp));
		entry_of[i] = held ? UNMATCHED : NOT_HELD;
	}
	free(keys);
	if (!run->has_detail || m == 0)
		return;

	/* by id: entries sorted by their id. A job file may repeat an id, so
	 * the entry's number (or WhatsApp id) must agree too; otherwise the
	 * position or the number decides below. */
	by = xcalloc(m, sizeof(*by));
	for (size_t e = 0; e < m; e++)
		by[e] = (struct ix){ run->rcpts[e].id, NULL, e };
	qsort(by, m, sizeof(*by), ix_cmp);
	for (size_t i = 0; i < n; i++) {
		const char *id = job->recipients[i].id, *key = rcpt_key(&job->recipients[i]);
		if (entry_of[i] != UNMATCHED || !id)
			continue;
		for (size_t j = ix_find(by, m, id, NULL); j < m && nstrcmp(by[j].a, id) == 0; j++)
			if (!claimed[by[j].i] && nstrcmp(entry_key(&run->rcpts[by[j].i]), key) == 0) {
				claimed[by[j].i] = true;
				entry_of[i] = (long)by[j].i;
				break;
			}
	}

	/* by position, when the entry's key agrees */
	k = 0;
	for (size_t i = 0; i < n; i++) {
		if (entry_of[i] == NOT_HELD)
			continue;
		if (entry_of[i] == UNMATCHED && k < m && !claimed[k] &&
		    nstrcmp(entry_key(&run->rcpts[k]), rcpt_key(&job->recipients[i])) == 0) {
			claimed[k] = true;
			entry_of[i] = (long)k;
		}
		k++;
	}

	/* by phone number or WhatsApp id */
	for (size_t e = 0; e < m; e++)
		by[e] = (struct ix){ entry_key(&run->rcpts[e]), NULL, e };
	qsort(by, m, sizeof(*by), ix_cmp);
	for (size_t i = 0; i < n; i++) {
		const char *key = rcpt_key(&job->recipients[i]);
		if (entry_of[i] != UNMATCHED || !key)
			continue;
		for (size_t j = ix_find(by, m, key, NULL); j < m && nstrcmp(by[j].a, key) == 0; j++)
			if (!claimed[by[j].i]) {
				claimed[by[j].i] = true;
				entry_of[i] = (long)by[j].i;
				break;
			}
	}
	free(by);
}

/* --- one row ------------------------------------------------------------- */

/* An appearance of a recipient: a run that holds it, and its entry. */
struct seen {
	const struct results_run *run;
	const struct batch_rcpt *entry; /* NULL: none in the detail */
	bool suppressed;                /* the run's submit left it out: listed */
	bool over_limit;                /* ... over the contact limits */
};

static bool dialled(const struct batch_rcpt *e)
{
	if (!e)
		return false;
	if (e->conversation_id)
		return true;
	switch (e->status) {
	case BATCH_RCPT_INITIATED:
	case BATCH_RCPT_IN_PROGRESS:
	case BATCH_RCPT_COMPLETED:
	case BATCH_RCPT_FAILED:
	case BATCH_RCPT_VOICEMAIL:
		return true;
	default:
		return false;
	}
}

static const char *status_of(const struct seen *s)
{
	if (!s)
		return RESULTS_NOT_IN_RUN;
	if (s->entry)
		return batch_rcpt_status_name(s->entry->status);
	if (s->suppressed)
		return RESULTS_SUPPRESSED;
	if (s->over_limit)
		return RESULTS_CONTACT_LIMIT;
	if (s->run->has_detail)
		return RESULTS_NOT_IN_BATCH;
	if (s->run->batch_id)
		return RESULTS_SUBMITTED;
	switch (s->run->state) {
	case RUN_MISSED:
		return RESULTS_MISSED;
	case RUN_ERROR:
		return RESULTS_REFUSED;
	case RUN_DISABLED:
		return RESULTS_DISABLED;
	case RUN_CANCELLED:
	case RUN_REMOVED:
		return RESULTS_WITHDRAWN;
	default:
		return RESULTS_NOT_SUBMITTED;
	}
}

/* Distinct conversation ids, few per recipient. */
struct idset {
	const char **v;
	size_t n, cap;
};

static void idset_add(struct idset *s, const char *id)
{
	if (!id || !*id)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], id) == 0)
			return;
	xgrow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v));
	s->v[s->n++] = id;
}

/* Fill row from the appearances of one recipient (or one entry no
 * recipient claims). */
static void make_row(const struct results_input *in, const struct known *k, const struct seen *seen, size_t n,
		     struct idset *ids, struct results_row *row)
{
	const struct seen *chosen = NULL, *last = NULL;
	const struct conv *best = NULL;

	ids->n = 0;
	for (size_t i = 0; i < n; i++) {
		const struct seen *s = &seen[i];
		last = s;
		if (dialled(s->entry))
			chosen = s;
		if (!s->entry)
			continue;
		idset_add(ids, s->entry->conversation_id);
		if (!s->run->batch_id || !s->entry->id)
			continue;
		/* conversations that name this entry, and earlier links */
		for (size_t j = ix_find(k->linked, k->n_linked, s->run->batch_id, s->entry->id);
		     j < k->n_linked && nstrcmp(k->linked[j].a, s->run->batch_id) == 0 &&
		     nstrcmp(k->linked[j].b, s->entry->id) == 0;
		     j++) {
			const struct conv *c = &in->convs[k->linked[j].i];
			idset_add(ids, c->conversation_id);
			if (!best || c->start_time_unix_secs >= best->start_time_unix_secs)
				best = c;
		}
		for (size_t j = ix_find(k->links, k->n_links, s->run->batch_id, s->entry->id);
		     j < k->n_links && nstrcmp(k->links[j].a, s->run->batch_id) == 0 &&
		     nstrcmp(k->links[j].b, s->entry->id) == 0;
		     j++)
			idset_add(ids, in->links[k->links[j].i].conversation_id);
	}
	if (!chosen)
		chosen = last;
	row->run = chosen ? chosen->run : NULL;
	row->entry = chosen ? chosen->entry : NULL;
	row->status = status_of(chosen);
	row->attempts = (int)ids->n;
	if (row->attempts == 0 && dialled(row->entry))
		row->attempts = 1;
	/* the entry's own conversation; before the detail shows one, the
	 * latest that names the entry */
	row->conversation_id = row->entry && row->entry->conversation_id ? row->entry->conversation_id
				: best ? best->conversation_id : NULL;
	row->conv = find_conv(in, k, row->conversation_id);
	row->failure = find_failure(in, k, row->conversation_id);
}

/* t in the job's zone, ISO 8601 with its offset (UTC: "+00:00"). */
static void format_local(const struct results_input *in, int64_t t, char *buf, size_t size)
{
	if (in->job->tz) {
		tz_format_local(in->job->tz, t, buf, size);
	} else {
		format_utc(t, buf, size);
		if (strlen(buf) + 6 <= size) /* "Z" -> "+00:00" */
			strcpy(buf + strlen(buf) - 1, "+00:00");
	}
}

/* --- building ------------------------------------------------------------ */

/* An entry no recipient of the file claims. */
struct extra {
	const char *key; /* its phone number or WhatsApp id, or NULL */
	size_t seq;      /* its place in run, then entry order */
	struct seen seen;
};

/* By key (NULL first), then place. */
static int extra_cmp(const void *p, const void *q)
{
	const struct extra *x = p, *y = q;
	int c = nstrcmp(x->key, y->key);
	return c ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The sorted, distinct ids of one kind over the rows' conversations. */
static void collect_ids(struct results *r, bool data)
{
	const char **v = NULL;
	size_t n = 0, cap = 0, k = 0;

	for (size_t i = 0; i < r->n_rows; i++) {
		const struct conv *c = r->rows[i].conv;
		size_t m = !c ? 0 : data ? c->n_data : c->n_evals;
		xgrow((void **)&v, &cap, n + m + 1, sizeof(*v));
		for (size_t j = 0; j < m; j++)
			v[n++] = data ? c->data[j].id : c->evals[j].id;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), str_cmp);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || strcmp(v[k - 1], v[i]) != 0)
			v[k++] = v[i];
	if (data) {
		r->data_ids = v;
		r->n_data_ids = k;
	} else {
		r->eval_ids = v;
		r->n_eval_ids = k;
	}
}

void results_build(const struct results_input *in, struct results *ret)
{
	const struct jobspec *job = in->job;
	size_t n = job->n_recipients, n_extra = 0, cap_extra = 0;
	struct results r = { .in = in };
	struct known k = { 0 };
	struct idset ids = { 0 };
	struct seen *seen = xcalloc(in->n_runs + 1, sizeof(*seen));
	struct extra *extra = NULL; /* the entries no recipient claims, in run then entry order */
	long **entry_of = xcalloc(in->n_runs + 1, sizeof(*entry_of));
	const char ***left_out = xcalloc(in->n_runs + 1, sizeof(*left_out)); /* each run's, sorted */
	const char ***over = xcalloc(in->n_runs + 1, sizeof(*over));

	known_build(in, &k);
	for (size_t ri = 0; ri < in->n_runs; ri++) {
		const struct results_run *run = &in->runs[ri];
		size_t m = run->has_detail ? run->n_rcpts : 0;
		bool *claimed = xcalloc(m + 1, sizeof(*claimed));

		entry_of[ri] = xcalloc(n + 1, sizeof(**entry_of));
		match_run(job, run, entry_of[ri], claimed);
		for (size_t e = 0; e < m; e++) {
			if (claimed[e])
				continue;
			xgrow((void **)&extra, &cap_extra, n_extra + 1, sizeof(*extra));
			extra[n_extra] = (struct extra){ entry_key(&run->rcpts[e]), n_extra,
							 { run, &run->rcpts[e], false, false } };
			n_extra++;
		}
		free(claimed);
	}

	r.rows = xcalloc(n + n_extra + 1, sizeof(*r.rows));
	for (size_t ri = 0; ri < in->n_runs; ri++) {
		const struct results_run *run = &in->runs[ri];
		/* (no list is NULL: memcpy must not see it, even for 0 bytes) */
		left_out[ri] = xcalloc(run->n_suppressed + 1, sizeof(**left_out));
		if (run->n_suppressed > 0)
			memcpy(left_out[ri], run->suppressed, run->n_suppressed * sizeof(**left_out));
		qsort(left_out[ri], run->n_suppressed, sizeof(**left_out), str_cmp);
		over[ri] = xcalloc(run->n_over_limit + 1, sizeof(**over));
		if (run->n_over_limit > 0)
			memcpy(over[ri], run->over_limit, run->n_over_limit * sizeof(**over));
		qsort(over[ri], run->n_over_limit, sizeof(**over), str_cmp);
	}
	for (size_t i = 0; i < n; i++) {
		const char *key = rcpt_key(&job->recipients[i]);
		size_t m = 0;
		for (size_t ri = 0; ri < in->n_runs; ri++) {
			long e = entry_of[ri][i];
			if (e == NOT_HELD)
				continue;
			seen[m++] = (struct seen){ &in->runs[ri], e >= 0 ? &in->runs[ri].rcpts[e] : NULL,
						   e < 0 && key && in->runs[ri].n_suppressed > 0 &&
						   bsearch(&key, left_out[ri], in->runs[ri].n_suppressed,
							   sizeof(*left_out[ri]), str_cmp),
						   e < 0 && key && in->runs[ri].n_over_limit > 0 &&
						   bsearch(&key, over[ri], in->runs[ri].n_over_limit, sizeof(*over[ri]),
							   str_cmp) };
		}
		r.rows[r.n_rows].rcpt = &job->recipients[i];
		make_row(in, &k, seen, m, &ids, &r.rows[r.n_rows]);
		r.n_rows++;
	}

	/* the entries no recipient claims: one row per phone number or
	 * WhatsApp id (a recipient left the file after it was called, and
	 * its follow-up), in the order of their first entry */
	if (n_extra > 0) {
		struct extra *byk = xcalloc(n_extra, sizeof(*byk));
		struct seen *grp = xcalloc(n_extra, sizeof(*grp));
		memcpy(byk, extra, n_extra * sizeof(*byk));
		qsort(byk, n_extra, sizeof(*byk), extra_cmp);
		/* a group: the entries of one key (an entry without one is its
		 * own), reported where its first entry stands */
		for (size_t x = 0, j; x < n_extra; x = j) {
			size_t m = 0;
			for (j = x; j < n_extra && (j == x || (byk[x].key && nstrcmp(byk[j].key, byk[x].key) == 0)); j++)
				grp[m++] = byk[j].seen;
			make_row(in, &k, grp, m, &ids, &r.rows[n + byk[x].seq]);
		}
		/* close the gaps the groups' later entries left, keeping order */
		r.n_rows = n;
		for (size_t x = 0; x < n_extra; x++)
			if (r.rows[n + x].status)
				r.rows[r.n_rows++] = r.rows[n + x];
		free(byk);
		free(grp);
	}

	collect_ids(&r, true);
	collect_ids(&r, false);
	format_local(in, in->start, r.run_start, sizeof(r.run_start));
	format_utc(in->start, r.run_start_utc, sizeof(r.run_start_utc));
	for (size_t ri = 0; ri < in->n_runs; ri++) {
		free(entry_of[ri]);
		free(left_out[ri]);
		free(over[ri]);
	}
	free(entry_of);
	free(left_out);
	free(over);
	free(extra);
	free(seen);
	free(ids.v);
	known_clear(&k);
	*ret = r;
}

void results_clear(struct results *r)
{
	if (!r)
		return;
	free(r->rows);
	free(r->data_ids);
	free(r->eval_ids);
	*r = (struct results){ 0 };
}

/* --- columns ------------------------------------------------------------- */

/* A cell: nothing, text, or a number. */
struct cell {
	enum { CELL_NULL, CELL_TEXT, CELL_INT } kind;
	const char *s;
	int64_t i;
	char buf[48];
};

static void text(struct cell *c, const char *s)
{
	c->kind = s ? CELL_TEXT : CELL_NULL;
	c->s = s;
}

static void local_time(const struct results_input *in, int64_t t, struct cell *c)
{
	format_local(in, t, c->buf, sizeof(c->buf));
	c->kind = CELL_TEXT;
	c->s = c->buf;
}

typedef void (*col_fn)(const struct results *r, const struct results_row *w, struct cell *c);

static void col_job(const struct results *r, const struct results_row *w, struct cell *c)
{
	text(c, r->in->job->name);
}

static void col_run_start(const struct results *r, const struct results_row *w, struct cell *c)
{
	text(c, r->run_start);
}

static void col_run_start_utc(const struct results *r, const struct results_row *w, struct cell *c)
{
	text(c, r->run_start_utc);
}

static void col_call_name(const struct results *r, const struct results_row *w, struct cell *c)
{
	text(c, w->run ? w->run->call_name : r->in->call_name);
}

static void col_part(const struct results *r, const struct results_row *w, struct cell *c)
{
	text(c, w->run ? w->run->part : NULL);
}

static void col_touch(const struct results *r, const struct results_row *w, struct cell *c)
{
	(void)r;
	c->kind = w->run ? CELL_INT : CELL_NULL;
	c->i = w->run ? w->run->touch : 0;
}

static void col_batch_id(const struct results *r, const struct results_row *w, struct cell *c)
{
	text(c, w->run ? w->run->batch_id : NULL);
}

static void col_recipient_id(const struct results *r, const struct results_row *w, struct cell *c)
{
	text(c, w->rcpt ? w->rcpt->id : w->entry->id);
}

static void col_phone_number(const struct results *r, const struct results_row *w, struct cell *c)
{
	text(c, w->rcpt ? w->rcpt->phone_number : w->entry->phone_number);
}

static void col_whatsapp_user_id(const struct results *r, const struct results_row *w, struct cell *c)
{
	text(c, w->rcpt ? w->rcpt->whatsapp_user_id : w->entry->whatsapp_user_id);
}

static void col_status(const struct results *r, const struct results_row *w, struct cell *c)
{
	text(c, w->status);
}

static void col_attempts(const struct results *r, const struct results_row *w, struct cell *c)
{
	c->kind = CELL_INT;
	c->i = w->attempts;
}

static void col_conversation_id(const struct results *r, const struct results_row *w, struct cell *c)
{
	text(c, w->conversation_id);
}

static void col_conversation_status(const struct results *r, const struct results_row *w, struct cell *c)
{
	text(c, w->conv ? conv_status_name(w->conv->status) : NULL);
}

static void col_conversation_start(const struct results *r, const struct results_row *w, struct cell *c)
{
	if (w->conv)
		local_time(r->in, w->conv->start_time_unix_secs, c);
	else
		text(c, NULL);
}

static void col_duration_secs(const struct results *r, const struct results_row *w, struct cell *c)
{
	c->kind = w->conv ? CELL_INT : CELL_NULL;
	c->i = w->conv ? w->conv->call_duration_secs : 0;
}

static void col_termination_reason(const struct results *r, const struct results_row *w, struct cell *c)
{
	text(c, w->conv ? w->conv->termination_reason : NULL);
}

static void col_call_result(const struct results *r, const struct results_row *w, struct cell *c)
{
	text(c, w->conv ? conv_call_result_name(w->conv->call_result) : NULL);
}

static void col_call_successful(const struct results *r, const struct results_row *w, struct cell *c)
{
	/* null until the analysis is there: "unknown" is a verdict */
	text(c, w->conv && w->conv->has_analysis ? conv_verdict_name(w->conv->call_successful) : NULL);
}

static void col_transcript_summary(const struct results *r, const struct results_row *w, struct cell *c)
{
	text(c, w->conv ? w->conv->transcript_summary : NULL);
}

static void col_failure_reason(const struct results *r, const struct results_row *w, struct cell *c)
{
	text(c, w->failure ? conv_failure_reason_name(w->failure->reason) : NULL);
}

/* One list of the fixed columns: names and getters from the same line. */
#define COLUMNS(X)                                                                                                  \
	X(job) X(run_start) X(run_start_utc) X(call_name) X(part) X(touch) X(batch_id) X(recipient_id) X(phone_number)       \
	X(whatsapp_user_id) X(status) X(attempts) X(conversation_id) X(conversation_status) X(conversation_start)  \
	X(duration_secs) X(termination_reason) X(call_result) X(call_successful) X(transcript_summary)             \
	X(failure_reason)

#define NAME(c) #c,
#define GETTER(c) col_##c,
static const char *const columns[] = { COLUMNS(NAME) NULL };

const char *results_column(size_t i)
{
	return i < sizeof(columns) / sizeof(*columns) ? columns[i] : NULL;
}
static const col_fn getters[] = { COLUMNS(GETTER) };

/* The data value of id in c (compact JSON), or NULL. */
static const char *data_value(const struct conv *c, const char *id)
{
	size_t lo = 0, hi = c ? c->n_data : 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int k = strcmp(c->data[mid].id, id);
		if (k == 0)
			return c->data[mid].value;
		if (k < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const char *eval_value(const struct conv *c, const char *id)
{
	size_t lo = 0, hi = c ? c->n_evals : 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int k = strcmp(c->evals[mid].id, id);
		if (k == 0)
			return conv_verdict_name(c->evals[mid].result);
		if (k < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* --- CSV -------------------------------------------------------------- */

/* Would a spreadsheet run the cell as a formula? Its first byte is one of
 * = + - @ TAB CR, or its first character after blanks (spaces, TAB, CR,
 * LF) is one of = + - @: Excel and LibreOffice skip leading blanks. */
static bool csv_formula(const char *s, size_t n)
{
	size_t i = 0;

	if (n > 0 && strchr("=+-@\t\r", s[0]))
		return true;
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return i < n && s[i] != '\0' && strchr("=+-@", s[i]);
}

/* One field: neutralised for spreadsheets, quoted when it must be,
 * invalid UTF-8 replaced. */
static void csv_field(struct sbuf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	bool quote = false;
	size_t i, k, from;

	for (i = 0; i < n && !quote; i++)
		quote = p[i] == ',' || p[i] == '"' || p[i] == '\r' || p[i] == '\n';
	if (quote)
		sbuf_add(b, "\"", 1);
	if (csv_formula(s, n))
		sbuf_add(b, "'", 1);
	for (i = from = 0; i < n; i += k) {
		if (p[i] < 0x80 && p[i] != '"') {
			k = 1;
			continue;
		}
		k = utf8_decode(p + i, n - i, NULL);
		if (k == 0 || p[i] == '"') {
			sbuf_add(b, s + from, i - from);
			sbuf_adds(b, k == 0 ? "\xef\xbf\xbd" : "\"\"");
			k = k ? k : 1;
			from = i + k;
		}
	}
	sbuf_add(b, s + from, n - from);
	if (quote)
		sbuf_add(b, "\"", 1);
}

static void csv_cell(struct sbuf *b, const struct cell *c)
{
	if (c->kind == CELL_TEXT)
		csv_field(b, c->s, strlen(c->s));
	else if (c->kind == CELL_INT)
		sbuf_add_int(b, c->i);
}

/* A "prefix<id>" header field. */
static void csv_header(struct sbuf *b, const char *prefix, const char *id)
{
	char *h = xasprintf("%s%s", prefix, id);
	sbuf_add(b, ",", 1);
	csv_field(b, h, strlen(h));
	free(h);
}

char *results_csv(const struct results *r, size_t *ret_len)
{
	struct sbuf b = { 0 };
	struct cell c;

	for (size_t i = 0; columns[i]; i++) {
		if (i > 0)
			sbuf_add(&b, ",", 1);
		csv_field(&b, columns[i], strlen(columns[i]));
	}
	for (size_t i = 0; i < r->n_data_ids; i++)
		csv_header(&b, "data.", r->data_ids[i]);
	for (size_t i = 0; i < r->n_eval_ids; i++)
		csv_header(&b, "eval.", r->eval_ids[i]);
	sbuf_add(&b, "\r\n", 2);

	for (size_t w = 0; w < r->n_rows; w++) {
		const struct results_row *row = &r->rows[w];
		for (size_t i = 0; i < ARRAY_SIZE(getters); i++) {
			if (i > 0)
				sbuf_add(&b, ",", 1);
			getters[i](r, row, &c);
			csv_cell(&b, &c);
		}
		for (size_t i = 0; i < r->n_data_ids; i++) {
			const char *v = data_value(row->conv, r->data_ids[i]);
			sbuf_add(&b, ",", 1);
			if (!v || strcmp(v, "null") == 0)
				continue;
			/* a string is its text; anything else its JSON */
			char *s = jsonin_unquote(v, strlen(v));
			csv_field(&b, s ? s : v, strlen(s ? s : v));
			free(s);
		}
		for (size_t i = 0; i < r->n_eval_ids; i++) {
			const char *v = eval_value(row->conv, r->eval_ids[i]);
			sbuf_add(&b, ",", 1);
			if (v)
				csv_field(&b, v, strlen(v));
		}
		sbuf_add(&b, "\r\n", 2);
	}
	return sbuf_steal(&b, ret_len);
}

/* --- JSON Lines ---------------------------------------------------------- */

/* A JSON string of n bytes: escaped as RFC 8259 wants (a NUL too),
 * invalid UTF-8 replaced. */
static void json_string_n(struct sbuf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, k, from;
	char esc[8];

	sbuf_add(b, "\"", 1);
	for (i = from = 0; i < n; i += k) {
		k = 1;
		if (p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' && p[i] != '\\')
			continue;
		if (p[i] >= 0x80 && (k = utf8_decode(p + i, n - i, NULL)) > 0)
			continue;
		sbuf_add(b, s + from, i - from);
		k = 1;
		from = i + 1;
		switch (p[i]) {
		case '"': sbuf_add(b, "\\\"", 2); break;
		case '\\': sbuf_add(b, "\\\\", 2); break;
		case '\n': sbuf_add(b, "\\n", 2); break;
		case '\r': sbuf_add(b, "\\r", 2); break;
		case '\t': sbuf_add(b, "\\t", 2); break;
		default:
			if (p[i] < 0x20) {
				esc[0] = '\\', esc[1] = 'u', esc[2] = '0', esc[3] = '0';
				esc[4] = "0123456789abcdef"[p[i] >> 4];
				esc[5] = "0123456789abcdef"[p[i] & 15];
				sbuf_add(b, esc, 6);
			} else {
				sbuf_adds(b, "\xef\xbf\xbd"); /* not UTF-8 */
			}
		}
	}
	sbuf_add(b, s + from, n - from);
	sbuf_add(b, "\"", 1);
}

static void json_string(struct sbuf *b, const char *s)
{
	json_string_n(b, s, strlen(s));
}

static void json_cell(struct sbuf *b, const struct cell *c)
{
	if (c->kind == CELL_TEXT)
		json_string(b, c->s);
	else if (c->kind == CELL_INT)
		sbuf_add_int(b, c->i);
	else
		sbuf_add(b, "null", 4);
}

char *results_jsonl(const struct results *r, size_t *ret_len)
{
	struct sbuf b = { 0 };
	struct cell c;

	for (size_t w = 0; w < r->n_rows; w++) {
		const struct results_row *row = &r->rows[w];
		const struct conv *cv = row->conv;
		for (size_t i = 0; i < ARRAY_SIZE(getters); i++) {
			/* the names are plain ASCII: no escaping needed */
			sbuf_add(&b, i == 0 ? "{\"" : ",\"", 2);
			sbuf_adds(&b, columns[i]);
			sbuf_add(&b, "\":", 2);
			getters[i](r, row, &c);
			json_cell(&b, &c);
		}
		sbuf_adds(&b, ",\"data\":");
		if (cv) {
			for (size_t i = 0; i < cv->n_data; i++) {
				sbuf_add(&b, i == 0 ? "{" : ",", 1);
				json_string(&b, cv->data[i].id);
				sbuf_add(&b, ":", 1);
				sbuf_adds(&b, cv->data[i].value);
			}
			sbuf_adds(&b, cv->n_data ? "}" : "{}");
		} else {
			sbuf_adds(&b, "null");
		}
		sbuf_adds(&b, ",\"eval\":");
		if (cv) {
			for (size_t i = 0; i < cv->n_evals; i++) {
				sbuf_add(&b, i == 0 ? "{" : ",", 1);
				json_string(&b, cv->evals[i].id);
				sbuf_add(&b, ":", 1);
				json_string(&b, conv_verdict_name(cv->evals[i].result));
			}
			sbuf_adds(&b, cv->n_evals ? "}" : "{}");
		} else {
			sbuf_adds(&b, "null");
		}
		sbuf_adds(&b, "}\n");
	}
	return sbuf_steal(&b, ret_len);
}

/* --- the file name ------------------------------------------------------- */

char *results_file_name(const char *job, int64_t start, const char *call_name, enum results_format f)
{
	struct sbuf b = { 0 };
	struct civil t;
	size_t mark;
	char hex[4];

	for (const unsigned char *p = (const unsigned char *)(job ? job : ""); *p; p++) {
		bool keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			    *p == '_' || *p == '-' || (*p == '.' && p != (const unsigned char *)job);
		if (keep) {
			sbuf_add(&b, (const char *)p, 1);
		} else {
			hex[0] = '%', hex[1] = "0123456789ABCDEF"[*p >> 4], hex[2] = "0123456789ABCDEF"[*p & 15];
			sbuf_add(&b, hex, 3);
		}
	}
	if (b.len == 0)
		sbuf_add(&b, "%", 1); /* no job name: a folder no job name can have */
	unix_to_civil_utc(start, &t);
	sbuf_addf(&b, "/%04d-%02d-%02dT%02d-%02d-%02dZ", t.year, t.month, t.day, t.hour, t.min, t.sec);
	mark = b.len;
	sbuf_add(&b, "_", 1);
	for (const unsigned char *p = (const unsigned char *)(call_name ? call_name : ""); *p; p++) {
		bool keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			    *p == '.' || *p == '-';
		if (b.len - mark - 1 >= 100)
			break;
		if (keep)
			sbuf_add(&b, (const char *)p, 1);
		else if (b.s[b.len - 1] != '_')
			sbuf_add(&b, "_", 1);
	}
	/* a leading run merged into the '_' after the stamp; none at the
	 * end, nor a '.'; nothing left: no '_' either */
	while (b.len > mark && (b.s[b.len - 1] == '_' || b.s[b.len - 1] == '.'))
		b.s[--b.len] = '\0';
	sbuf_adds(&b, f == RESULTS_JSONL ? ".jsonl" : ".csv");
	return sbuf_steal(&b, NULL);
}

/* The decimal number in s[0..n). */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int results_file_start(const char *name, int64_t *ret)
{
	static const char shape[] = "dddd-dd-ddTdd-dd-ddZ";
	const char *p = name;
	struct civil c, back;
	int64_t t;

	for (const char *q = name; *q; q++) /* the base name */
		if (*q == '/')
			p = q + 1;
	/* "2026-12-01T14-00-00Z", then '_' and the NAME, or the extension */
	if (strlen(p) < 21 || (p[20] != '_' && p[20] != '.'))
		return -EINVAL;
	for (int i = 0; i < 20; i++)
		if (shape[i] == 'd' ? p[i] < '0' || p[i] > '9' : p[i] != shape[i])
			return -EINVAL;
	c = (struct civil){ .year = digits(p, 4), .month = digits(p + 5, 2), .day = digits(p + 8, 2),
			    .hour = digits(p + 11, 2), .min = digits(p + 14, 2), .sec = digits(p + 17, 2) };
	if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > 31 || c.hour > 23 || c.min > 59 || c.sec > 59)
		return -EINVAL;
	t = civil_to_unix_utc(&c);
	unix_to_civil_utc(t, &back);
	if (back.day != c.day || back.month != c.month)
		return -EINVAL; /* "02-30" */
	if (t <= 0)
		return -EINVAL; /* no occurrence starts there */
	*ret = t;
	return 0;
}

/* --- the document -------------------------------------------------------- */

/* Every value below the row's own keys is checked, never built. */
static enum jsonin_take row_rule(const struct jsonin_path *p, unsigned char first, int *ret_tag, void *arg)
{
	(void)ret_tag;
	(void)arg;
	return p->depth >= 1 && (first == '{' || first == '[' || first == '"') ? JSONIN_SET_ASIDE : JSONIN_BUILD;
}

int results_document(const char *job, int64_t start, const char *csv_file, const char *csv, size_t csv_len,
		     const char *jsonl, size_t jsonl_len, bool check, char **ret, size_t *ret_len, char **cause)
{
	struct sbuf b = { 0 };
	char utc[24];
	size_t line = 0, first = 1;

	format_utc(start, utc, sizeof(utc));
	sbuf_adds(&b, "{\"job\":");
	json_string(&b, job);
	sbuf_adds(&b, ",\"run_start\":");
	sbuf_add_int(&b, start);
	sbuf_adds(&b, ",\"run_start_utc\":");
	json_string(&b, utc);
	sbuf_adds(&b, ",\"csv_file\":");
	json_string(&b, csv_file);
	sbuf_adds(&b, ",\"csv\":");
	json_string_n(&b, csv ? csv : "", csv ? csv_len : 0);
	/* the JSON Lines rows as one array: each line is one JSON object,
	 * copied as it is (checked when read from a file, so that the
	 * document stays one) */
	sbuf_adds(&b, ",\"rows\":[");
	for (size_t i = 0; jsonl && i < jsonl_len;) {
		const char *nl = memchr(jsonl + i, '\n', jsonl_len - i);
		size_t end = nl ? (size_t)(nl - jsonl) : jsonl_len;
		line++;
		if (end > i && !(end == i + 1 && jsonl[i] == '\r')) {
			struct jsonin_opts o = { .max_body = end - i, .max_cost = SIZE_MAX, .rule = row_rule };
			struct jsonin_doc d;
			char *why = NULL;
			if (check && jsonin_parse(jsonl + i, end - i, &o, &d, &why) < 0) {
				if (cause)
					*cause = xasprintf("line %zu of the JSON Lines text is not one JSON object: %s",
							   line, why);
				free(why);
				sbuf_free(&b);
				return -EBADMSG;
			}
			if (check)
				jsonin_doc_clear(&d);
			if (!first)
				sbuf_add(&b, ",", 1);
			sbuf_add(&b, jsonl + i, end - i);
			first = 0;
		}
		i = end + 1;
	}
	sbuf_adds(&b, "]}");
	*ret = sbuf_steal(&b, ret_len);
	return 0;
}

/* Does the compact JSON value have equal the wanted one (a string: the
 * same text, escapes decoded)? */
static bool data_equal(const char *have, const char *want)
{
	json_object *a, *b;
	bool eq;

	if (want[0] != '"' || have[0] != '"')
		return strcmp(have, want) == 0;
	a = json_tokener_parse(have);
	b = json_tokener_parse(want);
	eq = a && b && json_object_is_type(a, json_type_string) && json_object_is_type(b, json_type_string) &&
	     json_object_get_string_len(a) == json_object_get_string_len(b) &&
	     memcmp(json_object_get_string(a), json_object_get_string(b), (size_t)json_object_get_string_len(a)) == 0;
	json_object_put(a);
	json_object_put(b);
	return eq;
}

/* Was the row's recipient in a batch of touch prev? Not one added to the
 * file later (a whole run's row names every recipient of the file), nor
 * one its submit left out. */
static bool in_touch(const struct results_row *w, int prev)
{
	return w->rcpt && w->run && w->entry && w->run->touch == prev;
}

static bool touch_takes(const struct results_row *w, const struct touch *t)
{
	const struct conv *c = w->conv;

	if (t->status) {
		bool ok = (t->status & TOUCH_NOT_DIALLED) && w->attempts == 0;
		for (unsigned k = 0; touch_status_name(k) && !ok; k++)
			ok = (1u << k) != TOUCH_NOT_DIALLED && (t->status & (1u << k)) &&
			     strcmp(w->status, touch_status_name(k)) == 0;
		if (!ok)
			return false;
	}
	if (t->verdicts) {
		enum conv_verdict v = c && c->has_analysis ? c->call_successful : CONV_UNKNOWN;
		if (!(t->verdicts & (1u << v)))
			return false;
	}
	for (size_t i = 0; i < t->n_data; i++) {
		const char *v = data_value(c, t->data[i].id);
		if (!v || !data_equal(v, t->data[i].value))
			return false;
	}
	return true;
}

size_t results_touch_select(const struct results *r, int prev, const struct touch *t, char ***ret)
{
	char **v = xcalloc(r->n_rows + 1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < r->n_rows; i++) {
		const struct results_row *w = &r->rows[i];
		const char *key;
		if (!in_touch(w, prev) || !touch_takes(w, t))
			continue;
		key = recipient_key(w->rcpt->phone_number, w->rcpt->whatsapp_user_id);
		if (key)
			v[n++] = xstrdup(key);
	}
	*ret = v;
	return n;
}

size_t results_touch_waiting(const struct results *r, int prev, const struct touch *t)
{
	size_t n = 0;

	if (!t->verdicts && t->n_data == 0)
		return 0;
	for (size_t i = 0; i < r->n_rows; i++) {
		const struct results_row *w = &r->rows[i];
		/* (a call with no conversation id has nothing to wait for) */
		if (!in_touch(w, prev) || w->attempts == 0 || !w->conversation_id)
			continue;
		if (!w->conv || (w->conv->status != CONV_DONE && w->conv->status != CONV_FAILED))
			n++;
	}
	return n;
}
