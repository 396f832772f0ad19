/*
 * render: the simulator's wire formats. Batches, recipients, pages, error
 * bodies and the CSV export are written by hand into a growable buffer
 * because a GET of a 10,000-recipient batch must be cheap and the key order
 * should match the API document; every string goes through one escaper.
 */
#ifndef BC_SIM_RENDER_H
#define BC_SIM_RENDER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"
#include "sim_model.h"

/* BatchCallResponse, plus "recipients" when with_recipients. */
void sim_render_batch(struct sbuf *out, const struct sim_model *m, const struct sim_batch *b,
		      bool with_recipients);
/* WorkspaceBatchCallsResponse. */
void sim_render_list(struct sbuf *out, const struct sim_model *m, struct sim_batch *const *v,
		     size_t n, bool has_more);
/* The export: a header row and one row per recipient (at most limit). */
void sim_render_csv(struct sbuf *out, const struct sim_model *m, const struct sim_batch *b,
		    size_t limit);
/* The ElevenLabs error object {"detail": {type, code, message, status,
 * request_id, param}}. */
void sim_render_error(struct sbuf *out, const char *type, const char *code, const char *message,
		      const char *status, const char *request_id);

#endif
