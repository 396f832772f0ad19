/*
 * slot: the runs the engine holds, one slot each. The slots are sorted by
 * job, then by the run's instant and part, so a job's runs sit together and
 * are found by binary search. Slots with a due instant also sit in a
 * min-heap, and the one timerfd (CLOCK_REALTIME, absolute) is armed at the
 * heap's top. A slot that is let go is only marked forgotten: it is freed
 * once no request, scan or group commit points at it any more.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>

#include "engine_int.h"
#include "http.h"
#include "log.h"
#include "run.h"
#include "store.h"
#include "util.h"

/* --- heap of due slots ----------------------------------------------------- */

static bool heap_less(struct engine *e, size_t a, size_t b)
{
	return e->heap[a]->run->due_ms < e->heap[b]->run->due_ms;
}

static void heap_swap(struct engine *e, size_t a, size_t b)
{
	struct slot *t = e->heap[a];
	e->heap[a] = e->heap[b];
	e->heap[b] = t;
	e->heap[a]->hidx = a;
	e->heap[b]->hidx = b;
}

static void heap_up(struct engine *e, size_t i)
{
	while (i > 0 && heap_less(e, i, (i - 1) / 2)) {
		heap_swap(e, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct engine *e, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < e->n_heap && heap_less(e, l, m))
			m = l;
		if (r < e->n_heap && heap_less(e, r, m))
			m = r;
		if (m == i)
			return;
		heap_swap(e, i, m);
		i = m;
	}
}

void slot_heap_remove(struct engine *e, struct slot *s)
{
	size_t i = s->hidx;

	if (i == SIZE_MAX)
		return;
	s->hidx = SIZE_MAX;
	e->n_heap--;
	if (i == e->n_heap)
		return;
	e->heap[i] = e->heap[e->n_heap];
	e->heap[i]->hidx = i;
	heap_up(e, i);
	heap_down(e, e->heap[i]->hidx);
}

/* Put s where its due time says (or out of the heap when nothing is due). */
void slot_heap_place(struct engine *e, struct slot *s)
{
	bool want = s->run->due_ms > 0 && s->run->op == OP_NONE && !s->forgotten &&
		    !s->want_lookup && !s->in_scan && !s->in_group;

	if (!want) {
		slot_heap_remove(e, s);
		return;
	}
	if (s->hidx == SIZE_MAX) {
		xgrow((void **)&e->heap, &e->cap_heap, e->n_heap + 1, sizeof(*e->heap));
		s->hidx = e->n_heap;
		e->heap[e->n_heap++] = s;
		heap_up(e, s->hidx);
	} else {
		heap_up(e, s->hidx);
		heap_down(e, s->hidx);
	}
}

void slot_heap_arm(struct engine *e)
{
	struct itimerspec its = { 0 };
	int64_t due = 0, held = e->stopping ? 0 : http_held_until_us(e->http);

	if (!e->stopping && e->n_heap > 0) {
		due = e->heap[0]->run->due_ms;
		/* a first submit is stepped ahead (timer_cb) */
		if (engine_steps_early(e->heap[0]))
			due -= RUN_LEAD_MS;
		if (e->paused_until_ms > due)
			due = e->paused_until_ms;
		if (due <= 0)
			due = 1;
		its.it_value.tv_sec = due / 1000;
		its.it_value.tv_nsec = (due % 1000) * 1000000;
	}
	/* and the instant a held submit leaves (http_release) */
	if (held > 0 && (due == 0 || held < due * 1000)) {
		its.it_value.tv_sec = held / 1000000;
		its.it_value.tv_nsec = (held % 1000000) * 1000;
	}
	/* CANCEL_ON_SET: a clock step wakes us to look again. */
	if (timerfd_settime(e->tfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
		log_event(LOG_ERR, EV_INTERNAL, NULL, "cannot arm the timer: %s", strerror(errno));
}

/* --- slots ----------------------------------------------------------------- */

/* Slots are sorted by job name, then by the run's instant: a job's runs
 * (one, or one per occurrence of a recurring job) sit together. */
static int slot_key_cmp(const char *job, int64_t start, const struct slot *s)
{
	int c = strcmp(job, s->run->job);

	if (c)
		return c;
	return start < s->run->start ? -1 : start > s->run->start ? 1 : 0;
}

/* Then by part: the whole run (no part) first, then its parts by name. */
static int slot_cmp(const void *a, const void *b)
{
	const struct slot *x = *(struct slot *const *)a, *y = *(struct slot *const *)b;
	int c = slot_key_cmp(x->run->job, x->run->start, y);

	if (c || x->run->part == y->run->part)
		return c;
	if (!x->run->part || !y->run->part)
		return x->run->part ? 1 : -1;
	return strcmp(x->run->part, y->run->part);
}

/* Index of the first slot at or after (job, start). */
size_t slot_lower(const struct engine *e, const char *job, int64_t start)
{
	size_t lo = 0, hi = e->n_slots;

	/* past the last: the jobs of a load come in order, each after the one
	 * before (one compare instead of a search) */
	if (hi > 0 && slot_key_cmp(job, start, e->slots[hi - 1]) > 0)
		return hi;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (slot_key_cmp(job, start, e->slots[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool slot_of_job(const struct engine *e, size_t i, const char *job)
{
	return i < e->n_slots && strcmp(e->slots[i]->run->job, job) == 0;
}

/* The job's runs the engine holds (not forgotten), in order; the slots too
 * when ret_slots is not NULL. Caller frees both. */
size_t slot_job_runs(const struct engine *e, const char *job, const struct run ***ret, struct slot ***ret_slots)
{
	size_t lo = slot_lower(e, job, INT64_MIN), n = 0;
	const struct run **v;
	struct slot **sv = NULL;

	for (size_t i = lo; slot_of_job(e, i, job); i++)
		n++;
	v = xcalloc(n ? n : 1, sizeof(*v));
	if (ret_slots)
		sv = xcalloc(n ? n : 1, sizeof(*sv));
	n = 0;
	for (size_t i = lo; slot_of_job(e, i, job); i++) {
		if (e->slots[i]->forgotten)
			continue;
		if (sv)
			sv[n] = e->slots[i];
		v[n++] = e->slots[i]->run;
	}
	*ret = v;
	if (ret_slots)
		*ret_slots = sv;
	return n;
}

/* A record of a job that left the files, kept so that its runs are never
 * made again (state_retention): nothing is done with it, nobody sees it. */
bool slot_detached(const struct slot *s)
{
	return !s->spec && run_at_rest(s->run);
}

/* The run of a job an operator means: the one being submitted or active,
 * else the next scheduled one, else the newest. */
struct slot *slot_find(const struct engine *e, const char *job)
{
	struct slot *active = NULL, *next = NULL, *newest = NULL;

	for (size_t i = slot_lower(e, job, INT64_MIN); slot_of_job(e, i, job); i++) {
		struct slot *s = e->slots[i];
		enum run_state st = s->run->state;
		if (s->forgotten || slot_detached(s))
			continue;
		if (st == RUN_SUBMITTING || run_state_active(st) || st == RUN_RETRY_WAIT)
			active = s;
		else if ((st == RUN_SCHEDULED || st == RUN_DISABLED || st == RUN_PAUSED) && !next)
			next = s;
		newest = s;
	}
	return active ? active : next ? next : newest;
}

struct slot *slot_add(struct engine *e, struct run *r, const struct jobspec *spec)
{
	struct slot *s = xcalloc(1, sizeof(*s));

	s->e = e;
	s->run = r;
	s->spec = spec;
	s->hidx = SIZE_MAX;
	xgrow((void **)&e->slots, &e->cap_slots, e->n_slots + 1, sizeof(*e->slots));
	e->slots[e->n_slots++] = s;
	return s;
}

/* Add a slot at its sorted place (slot_add + slot_sort for many at once). */
struct slot *slot_insert(struct engine *e, struct run *r, const struct jobspec *spec)
{
	size_t at = slot_lower(e, r->job, r->start);
	struct slot *s;

	while (at < e->n_slots && slot_key_cmp(r->job, r->start, e->slots[at]) == 0 &&
	       slot_cmp(&(struct slot *){ &(struct slot){ .run = r } }, &e->slots[at]) > 0)
		at++;
	s = slot_add(e, r, spec);

	memmove(e->slots + at + 1, e->slots + at, (e->n_slots - 1 - at) * sizeof(*e->slots));
	e->slots[at] = s;
	return s;
}

void slot_sort(struct engine *e)
{
	if (e->n_slots > 1) /* slots is NULL before the first job: qsort's arguments are nonnull */
		qsort(e->slots, e->n_slots, sizeof(*e->slots), slot_cmp);
}

/* One slot per run identity: of two records of one run (only an old
 * state folder can hold them), the newer stays. */
void slot_dedupe(struct engine *e)
{
	for (size_t i = 1; i < e->n_slots; i++) {
		struct slot *a = e->slots[i - 1], *b = e->slots[i];
		if (slot_cmp(&a, &b) != 0)
			continue;
		if (a->run->gen > b->run->gen) {
			e->slots[i - 1] = b;
			e->slots[i] = a;
			b = a;
			a = e->slots[i - 1];
		}
		engine_log_run(LOG_WARNING, EV_STATE_ERROR, a->run, 0, 0,
			"job '%s': two records of run '%s' in the state; the newer one (gen %" PRIu64 ") is kept",
			a->run->job, a->run->call_name, b->run->gen);
		a->forgotten = true;
		e->reap_needed = true;
	}
}

/* Free forgotten slots that nothing points at any more. */
void slot_reap(struct engine *e)
{
	size_t j = 0;

	/* O(jobs): only when something was forgotten. */
	if (!e->reap_needed)
		return;
	e->reap_needed = false;

	for (size_t i = 0; i < e->n_slots; i++) {
		struct slot *s = e->slots[i];
		if (s->forgotten && s->busy == 0 && !s->in_scan && !s->in_group) {
			slot_heap_remove(e, s);
			run_free(s->run);
			free(s->body);
			free(s->rest);
			carry_drop_body_keys(s);
			free(s);
			continue;
		}
		if (s->forgotten)
			e->reap_needed = true; /* still referenced: next time */
		e->slots[j++] = s;
	}
	e->n_slots = j;
}

/* --- records let go -------------------------------------------------------- */

/* Delete a run that was never submitted, and its record: it can be made
 * again from the configuration. */
void slot_drop(struct engine *e, struct slot *s)
{
	const struct run *r = s->run;
	int rc;

	if (s->in_group)
		carry_group_flush(e);
	rc = store_remove(e->store, &r, 1);
	if (rc < 0)
		engine_log_run(LOG_ERR, EV_STATE_ERROR, s->run, 0, 0, "cannot remove the state of job '%s': %s", r->job,
			strerror(-rc));
	slot_heap_remove(e, s);
	s->forgotten = true;
	e->reap_needed = true;
}

void slot_remove_record(struct engine *e, struct slot *s)
{
	const struct run *r = s->run;
	int rc = store_remove(e->store, &r, 1);

	if (rc < 0) {
		engine_log_run(LOG_ERR, EV_STATE_ERROR, s->run, 0, 0, "cannot remove the state of job '%s': %s", r->job,
			strerror(-rc));
		return;
	}
	slot_heap_remove(e, s);
	s->forgotten = true;
	e->reap_needed = true;
}
