/*
 * batch: the statuses' wire names and the destructors of what the API says
 * about a batch. See batch.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "batch.h"

/* --- status names ------------------------------------------------------ */

static const char *const batch_status_names[BATCH__MAX] = {
	[BATCH_PENDING] = "pending",     [BATCH_IN_PROGRESS] = "in_progress",
	[BATCH_COMPLETED] = "completed", [BATCH_FAILED] = "failed",
	[BATCH_CANCELLED] = "cancelled", [BATCH_UNKNOWN] = "unknown",
};

static const char *const batch_rcpt_status_names[BATCH_RCPT__MAX] = {
	[BATCH_RCPT_PENDING] = "pending",     [BATCH_RCPT_DISPATCHED] = "dispatched",
	[BATCH_RCPT_INITIATED] = "initiated", [BATCH_RCPT_IN_PROGRESS] = "in_progress",
	[BATCH_RCPT_COMPLETED] = "completed", [BATCH_RCPT_FAILED] = "failed",
	[BATCH_RCPT_CANCELLED] = "cancelled", [BATCH_RCPT_VOICEMAIL] = "voicemail",
	[BATCH_RCPT_UNKNOWN] = "unknown",
};

const char *batch_status_name(enum batch_status s)
{
	if ((unsigned)s >= BATCH__MAX)
		s = BATCH_UNKNOWN;
	return batch_status_names[s];
}

enum batch_status batch_status_from_name(const char *s)
{
	/* "unknown" is our placeholder, not a wire value: it maps to
	 * BATCH_UNKNOWN like any other string we do not know. */
	for (int i = 0; s && i < BATCH_UNKNOWN; i++)
		if (strcmp(s, batch_status_names[i]) == 0)
			return (enum batch_status)i;
	return BATCH_UNKNOWN;
}

const char *batch_rcpt_status_name(enum batch_rcpt_status s)
{
	if ((unsigned)s >= BATCH_RCPT__MAX)
		s = BATCH_RCPT_UNKNOWN;
	return batch_rcpt_status_names[s];
}

enum batch_rcpt_status batch_rcpt_status_from_name(const char *s)
{
	for (int i = 0; s && i < BATCH_RCPT_UNKNOWN; i++)
		if (strcmp(s, batch_rcpt_status_names[i]) == 0)
			return (enum batch_rcpt_status)i;
	return BATCH_RCPT_UNKNOWN;
}

bool batch_status_terminal(enum batch_status s)
{
	return s == BATCH_COMPLETED || s == BATCH_FAILED || s == BATCH_CANCELLED;
}

/* --- destructors ------------------------------------------------------- */

void batch_clear(struct batch *b)
{
	if (!b)
		return;
	free(b->id);
	free(b->name);
	free(b->agent_id);
	free(b->timezone);
	*b = (struct batch){ 0 };
}

void batch_rcpt_clear(struct batch_rcpt *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->phone_number);
	free(r->whatsapp_user_id);
	free(r->conversation_id);
	*r = (struct batch_rcpt){ 0 };
}

void batch_detail_clear(struct batch_detail *d)
{
	if (!d)
		return;
	batch_clear(&d->batch);
	for (size_t i = 0; d->rcpts && i < d->n_rcpts; i++)
		batch_rcpt_clear(&d->rcpts[i]);
	free(d->rcpts);
	*d = (struct batch_detail){ 0 };
}

void batch_page_clear(struct batch_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; p->batches && i < p->n_batches; i++)
		batch_clear(&p->batches[i]);
	free(p->batches);
	free(p->next_doc);
	*p = (struct batch_page){ 0 };
}
