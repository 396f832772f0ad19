/*
 * conv: what the simulator says about a conversation. The analysis rule
 * (a verdict, a summary, data collection and evaluation results that tests
 * can predict from the phone number and the dynamic variables), the
 * transcript, the GET body, the list's summary items and page, and the data
 * of the post-call webhook events. Pure: views of sim_model in, text out.
 */
#ifndef BC_SIM_CONV_H
#define BC_SIM_CONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_model.h"
#include "sim_render.h"

/* EvaluationSuccessResult, as on the wire. */
enum sim_verdict {
	SIM_VERDICT_SUCCESS,
	SIM_VERDICT_FAILURE,
	SIM_VERDICT_UNKNOWN,
};

const char *sim_verdict_str(enum sim_verdict v);
/* The list filter's values (success, failure, unknown, error): the index,
 * or -1 for anything else. "error" (3) matches no conversation. */
int sim_verdict_filter_parse(const char *s);

/* The verdict of an answered conversation (the documented rule):
 * 1. the dynamic variable sim_call_successful, when it is "success",
 *    "failure" or "unknown";
 * 2. failure when the call reached voicemail;
 * 3. the second-to-last digit of the number (phone, else WhatsApp id; a
 *    missing digit counts as 0): 0-5 success, 6-7 failure, 8-9 unknown.
 * ccd_json is the recipient's conversation_initiation_client_data. */
enum sim_verdict sim_conv_verdict(const char *number, const char *ccd_json, bool voicemail);

/* The GET /v1/convai/conversations/{id} body (GetConversationResponseModel),
 * every key of the API document; otlp: format=opentelemetry. */
void sim_render_conv(struct sbuf *out, const struct sim_conv_view *v, bool otlp);

/* GET /v1/convai/conversations: filters and the page. */
struct sim_conv_query {
	const char *agent_id;  /* NULL: every agent */
	int verdict;           /* -1: any; else sim_verdict_filter_parse() */
	const char *cursor;    /* NULL or "": from the newest */
	size_t page_size;
	bool with_summary;     /* summary_mode=include */
};

/* The page as JSON (GetConversationsPageResponseModel): conversations
 * newest first (by start time, then id), after the cursor. An undecodable
 * cursor gives an empty last page. */
void sim_render_conv_page(struct sbuf *out, const struct sim_model *m, const struct sim_conv_query *q);

/* The data of a post_call_transcription event: the GET body. */
void sim_render_transcription_data(struct sbuf *out, const struct sim_conv_view *v);
/* The data of a call_initiation_failure event (failure_reason, metadata
 * of type sip for SIP-trunk batches, twilio otherwise). */
void sim_render_failure_data(struct sbuf *out, const struct sim_conv_view *v);
/* The data of a post_call_audio event (a small base64 "MP3"). */
void sim_render_audio_data(struct sbuf *out, const struct sim_conv_view *v);

#endif
