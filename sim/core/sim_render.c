/*
 * render: JSON and CSV bodies of the simulator, written by hand.
 *
 * Every key of the API document is always written, with null where there
 * is no value: the real server (FastAPI, serialization mode) does the same,
 * and clients must cope with it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "sim_render.h"
#include "util.h"

static void raw_or_null(struct sbuf *b, const char *json)
{
	sbuf_adds(b, json ? json : "null");
}

static void render_recipient(struct sbuf *out, const struct sim_model *m, const struct sim_batch *b,
			     size_t i)
{
	struct sim_rcp_view v;

	sim_recipient_view(m, b, i, &v);
	sbuf_adds(out, "{\"id\":");
	sbuf_add_json_str(out, v.id);
	sbuf_adds(out, ",\"phone_number\":");
	sbuf_add_json_str(out, v.phone_number);
	sbuf_adds(out, ",\"whatsapp_user_id\":");
	sbuf_add_json_str(out, v.whatsapp_user_id);
	sbuf_addf(out, ",\"status\":\"%s\",\"created_at_unix\":%lld,\"updated_at_unix\":%lld,",
		  sim_rcp_status_str(v.status), (long long)(v.created_us / 1000000),
		  (long long)(v.updated_us / 1000000));
	sbuf_adds(out, "\"conversation_id\":");
	sbuf_add_json_str(out, v.has_conversation ? v.conversation_id : NULL);
	sbuf_adds(out, ",\"conversation_initiation_client_data\":");
	raw_or_null(out, v.ccd_json);
	sbuf_adds(out, "}");
}

void sim_render_batch(struct sbuf *out, const struct sim_model *m, const struct sim_batch *b,
		      bool with_recipients)
{
	struct sim_batch_view v;

	sim_batch_view(m, b, &v);
	sbuf_adds(out, "{\"id\":");
	sbuf_add_json_str(out, v.id);
	sbuf_adds(out, ",\"phone_number_id\":");
	sbuf_add_json_str(out, v.phone_number_id);
	sbuf_adds(out, ",\"phone_provider\":");
	sbuf_add_json_str(out, v.phone_provider);
	sbuf_adds(out, ",\"whatsapp_params\":");
	raw_or_null(out, v.whatsapp_params_json);
	sbuf_adds(out, ",\"name\":");
	sbuf_add_json_str(out, v.name);
	sbuf_adds(out, ",\"agent_id\":");
	sbuf_add_json_str(out, v.agent_id);
	sbuf_adds(out, ",\"branch_id\":");
	sbuf_add_json_str(out, v.branch_id);
	sbuf_adds(out, ",\"environment\":");
	sbuf_add_json_str(out, v.environment);
	sbuf_addf(out, ",\"created_at_unix\":%lld,\"scheduled_time_unix\":%lld,",
		  (long long)(v.created_us / 1000000), (long long)v.scheduled_time_unix);
	sbuf_adds(out, "\"timezone\":");
	sbuf_add_json_str(out, v.timezone);
	sbuf_addf(out,
		  ",\"total_calls_dispatched\":%zu,\"total_calls_scheduled\":%zu,"
		  "\"total_calls_finished\":%zu,\"last_updated_at_unix\":%lld,\"status\":\"%s\","
		  "\"retry_count\":%d,\"telephony_call_config\":{\"ringing_timeout_secs\":%d,"
		  "\"twilio_call_recording_enabled\":%s",
		  v.total_dispatched, v.total_scheduled, v.total_finished,
		  (long long)(v.last_updated_us / 1000000), sim_batch_status_str(v.status),
		  v.retry_count, v.ringing_timeout_secs,
		  v.twilio_call_recording_enabled ? "true" : "false");
	/* not in the server's 2026-08 schema, only in the SDK: echo it when
	 * the caller sent it, never invent a null for it */
	if (v.twilio_machine_detection_json) {
		sbuf_adds(out, ",\"twilio_machine_detection\":");
		sbuf_adds(out, v.twilio_machine_detection_json);
	}
	sbuf_adds(out, "},\"target_concurrency_limit\":");
	if (v.has_target_concurrency_limit)
		sbuf_addf(out, "%lld", (long long)v.target_concurrency_limit);
	else
		sbuf_adds(out, "null");
	sbuf_adds(out, ",\"agent_name\":");
	sbuf_add_json_str(out, v.agent_name);
	sbuf_adds(out, ",\"branch_name\":");
	sbuf_add_json_str(out, v.branch_name);
	if (with_recipients) {
		sbuf_adds(out, ",\"recipients\":[");
		for (size_t i = 0; i < v.n_recipients; i++) {
			if (i)
				sbuf_adds(out, ",");
			render_recipient(out, m, b, i);
		}
		sbuf_adds(out, "]");
	}
	sbuf_adds(out, "}");
}

void sim_render_list(struct sbuf *out, const struct sim_model *m, struct sim_batch *const *v,
		     size_t n, bool has_more)
{
	struct sim_batch_view last;

	sbuf_adds(out, "{\"batch_calls\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			sbuf_adds(out, ",");
		sim_render_batch(out, m, v[i], false);
	}
	sbuf_adds(out, "],\"next_doc\":");
	if (has_more && n > 0) {
		sim_batch_view(m, v[n - 1], &last);
		sbuf_add_json_str(out, last.id);
	} else {
		sbuf_adds(out, "null");
	}
	sbuf_addf(out, ",\"has_more\":%s}", has_more ? "true" : "false");
}

/* RFC 4180 field: quoted only when it must be. */
static void csv_field(struct sbuf *out, const char *s)
{
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		sbuf_adds(out, s);
		return;
	}
	sbuf_adds(out, "\"");
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			sbuf_adds(out, "\"");
		sbuf_add(out, p, 1);
	}
	sbuf_adds(out, "\"");
}

void sim_render_csv(struct sbuf *out, const struct sim_model *m, const struct sim_batch *b,
		    size_t limit)
{
	struct sim_batch_view bv;

	sim_batch_view(m, b, &bv);
	sbuf_adds(out, "id,phone_number,whatsapp_user_id,status,conversation_id,created_at_unix,"
		       "updated_at_unix,conversation_initiation_client_data\r\n");
	for (size_t i = 0; i < bv.n_recipients && i < limit; i++) {
		struct sim_rcp_view v;
		sim_recipient_view(m, b, i, &v);
		csv_field(out, v.id);
		sbuf_adds(out, ",");
		csv_field(out, v.phone_number);
		sbuf_adds(out, ",");
		csv_field(out, v.whatsapp_user_id);
		sbuf_addf(out, ",%s,", sim_rcp_status_str(v.status));
		csv_field(out, v.has_conversation ? v.conversation_id : NULL);
		sbuf_addf(out, ",%lld,%lld,", (long long)(v.created_us / 1000000),
			  (long long)(v.updated_us / 1000000));
		csv_field(out, v.ccd_json);
		sbuf_adds(out, "\r\n");
	}
}

void sim_render_error(struct sbuf *out, const char *type, const char *code, const char *message,
		      const char *status, const char *request_id)
{
	sbuf_adds(out, "{\"detail\":{\"type\":");
	sbuf_add_json_str(out, type);
	sbuf_adds(out, ",\"code\":");
	sbuf_add_json_str(out, code);
	sbuf_adds(out, ",\"message\":");
	sbuf_add_json_str(out, message);
	sbuf_adds(out, ",\"status\":");
	sbuf_add_json_str(out, status);
	sbuf_adds(out, ",\"request_id\":");
	sbuf_add_json_str(out, request_id);
	sbuf_adds(out, ",\"param\":null}}");
}
