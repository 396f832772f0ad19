/*
 * conv: conversation bodies, the analysis rule and the conversation list.
 *
 * Everything here is derived from a sim_conv_view (the model's facts at its
 * current time) and the recipient's conversation_initiation_client_data, so
 * the same conversation always reads the same way: a GET, a list item and
 * the webhook's data agree byte for byte. Keys follow the API document
 * (../shared/api/elevenlabs-conversations-and-webhooks.md §3, §4, §5), every
 * one written, null where there is no value.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sim_conv.h"
#include "sim_sign.h"
#include "util.h"

const char *sim_verdict_str(enum sim_verdict v)
{
	static const char *const names[] = {"success", "failure", "unknown"};
	return (unsigned)v < ARRAY_SIZE(names) ? names[v] : "unknown";
}

int sim_verdict_filter_parse(const char *s)
{
	static const char *const names[] = {"success", "failure", "unknown", "error"};

	for (size_t i = 0; s && i < ARRAY_SIZE(names); i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

/* The recipient's client data as a json-c object (a new empty object when
 * absent or not an object). */
static json_object *ccd_parse(const char *ccd_json)
{
	json_object *o = ccd_json ? json_tokener_parse(ccd_json) : NULL;

	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = json_object_new_object();
	}
	return o;
}

/* dynamic_variables.NAME of a parsed client data, or NULL. */
static json_object *dynvar(json_object *ccd, const char *name)
{
	json_object *dv, *v;

	if (!json_object_object_get_ex(ccd, "dynamic_variables", &dv) || !json_object_is_type(dv, json_type_object))
		return NULL;
	return json_object_object_get_ex(dv, name, &v) ? v : NULL;
}

static const char *dynvar_str(json_object *ccd, const char *name)
{
	json_object *v = dynvar(ccd, name);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static enum sim_verdict verdict_of(const char *number, json_object *ccd, bool voicemail)
{
	const char *o = dynvar_str(ccd, "sim_call_successful");
	int last = -1, tens = -1;

	if (o && sim_verdict_filter_parse(o) >= 0 && sim_verdict_filter_parse(o) <= SIM_VERDICT_UNKNOWN)
		return (enum sim_verdict)sim_verdict_filter_parse(o);
	if (voicemail)
		return SIM_VERDICT_FAILURE;
	for (const char *p = number ? number : ""; *p; p++)
		if (*p >= '0' && *p <= '9') {
			tens = last;
			last = *p - '0';
		}
	if (tens < 0)
		tens = 0;
	return tens <= 5 ? SIM_VERDICT_SUCCESS : tens <= 7 ? SIM_VERDICT_FAILURE : SIM_VERDICT_UNKNOWN;
}

enum sim_verdict sim_conv_verdict(const char *number, const char *ccd_json, bool voicemail)
{
	json_object *ccd = ccd_parse(ccd_json);
	enum sim_verdict v = verdict_of(number, ccd, voicemail);

	json_object_put(ccd);
	return v;
}

/* --- derived values ----------------------------------------------------- */

static const char *number_of(const struct sim_conv_view *v)
{
	return v->phone_number ? v->phone_number : v->whatsapp_user_id;
}

static uint64_t conv_hash(const struct sim_conv_view *v, const char *salt)
{
	uint64_t h = fnv1a64(1469598103934665603ULL, v->conversation_id, strlen(v->conversation_id));

	return fnv1a64(h, salt, strlen(salt));
}

static void hex_of(char *out, uint64_t a, uint64_t b, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		uint64_t w = i < 16 ? a : b;
		out[i] = hex[(w >> (4 * (15 - i % 16))) & 15];
	}
	out[n] = '\0';
}

/* Our caller number: +1555 and seven digits from the phone number id (or
 * the agent id when the batch has none), the same for every call of it. */
static void agent_number(const struct sim_conv_view *v, char out[16])
{
	const char *src = v->phone_number_id ? v->phone_number_id : v->agent_id;
	uint64_t h = fnv1a64(1469598103934665603ULL, src, strlen(src));

	snprintf(out, 16, "+1555%07" PRIu64, h % 10000000);
}

/* Twilio-style call SID: CA + 32 hex digits (SIP: a UUID). */
static void call_sid(const struct sim_conv_view *v, char out[40])
{
	char hex[33];

	hex_of(hex, conv_hash(v, "sid"), conv_hash(v, "sid2"), 32);
	if (v->phone_provider && strcmp(v->phone_provider, "sip_trunk") == 0)
		snprintf(out, 40, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	else
		snprintf(out, 40, "CA%s", hex);
}

static const char *source_of(const struct sim_conv_view *v)
{
	if (v->phone_provider)
		return v->phone_provider; /* twilio, sip_trunk, exotel: the same spelling */
	if (v->whatsapp_params_json)
		return "whatsapp";
	return "unknown";
}

static const char *termination_reason(const struct sim_conv_view *v)
{
	if (!v->ended)
		return "";
	if (v->cancelled)
		return "Call cancelled";
	if (!v->answered)
		return v->call_result == SIM_CALL_BUSY ? "Busy" : "No answer";
	if (v->call_result == SIM_CALL_VOICEMAIL)
		return "Voicemail detected";
	return "Call ended by remote party";
}

static const char *main_language(const struct sim_conv_view *v, json_object *ccd)
{
	json_object *o = ccd;

	if (!v->answered)
		return NULL;
	if (json_object_object_get_ex(o, "conversation_config_override", &o) &&
	    json_object_object_get_ex(o, "agent", &o) && json_object_object_get_ex(o, "language", &o) &&
	    json_object_is_type(o, json_type_string))
		return json_object_get_string(o);
	return "en";
}

/* --- transcript --------------------------------------------------------- */

struct turn {
	const char *role;
	int secs;
	char *message;
};

/* The turns of the call up to now (all of them once it ended, those
 * before the cut for a cancelled one); returns how many (at most 5). */
static size_t turns(const struct sim_conv_view *v, json_object *ccd, enum sim_verdict verdict, struct turn out[5])
{
	static const char *const yes[] = {"Yes, that works for me.", "No, thank you.",
					  "I am not sure, please call me later."};
	static const char *const bye[] = {"Great, thank you. Goodbye!", "I understand. Goodbye!",
					  "Of course, we will call you back. Goodbye!"};
	const char *name = dynvar_str(ccd, "user_name");
	struct turn all[5];
	size_t n = 0, k = 0;

	if (!v->answered)
		return 0;
	if (v->call_result == SIM_CALL_VOICEMAIL) {
		all[n++] = (struct turn){"agent", 0,
					 xasprintf("Hello %s, this is %s calling. Sorry we missed you; please call us back.",
						   name ? name : "there", v->agent_name)};
	} else {
		all[n++] = (struct turn){"agent", 0,
					 xasprintf("Hello %s, this is %s calling.", name ? name : "there", v->agent_name)};
		if (v->long_talk) {
			all[n++] = (struct turn){"user", 3, xstrdup("Can you tell me more about it first?")};
			all[n++] = (struct turn){"agent", 6, xstrdup("Of course. Here are the details.")};
			all[n++] = (struct turn){"user", 10, xstrdup(yes[verdict])};
			all[n++] = (struct turn){"agent", 13, xstrdup(bye[verdict])};
		} else {
			all[n++] = (struct turn){"user", 2, xstrdup(yes[verdict])};
			all[n++] = (struct turn){"agent", 4, xstrdup(bye[verdict])};
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (all[i].secs <= v->talk_elapsed_secs + 1e-9)
			out[k++] = all[i];
		else
			free(all[i].message);
	}
	return k;
}

static void render_turns(struct sbuf *out, const struct turn *t, size_t n)
{
	sbuf_adds(out, "[");
	for (size_t i = 0; i < n; i++) {
		bool user = strcmp(t[i].role, "user") == 0;
		sbuf_addf(out, "%s{\"role\":\"%s\",\"message\":", i ? "," : "", t[i].role);
		sbuf_add_json_str(out, t[i].message);
		sbuf_addf(out,
			  ",\"time_in_call_secs\":%d,\"tool_calls\":[],\"tool_results\":[],\"interrupted\":false,"
			  "\"source_medium\":%s,\"original_message\":null,\"feedback\":null,\"llm_usage\":null,"
			  "\"conversation_turn_metrics\":null,\"agent_metadata\":null,\"rag_retrieval_info\":null}",
			  t[i].secs, user ? "\"audio\"" : "null");
	}
	sbuf_adds(out, "]");
}

static void free_turns(struct turn *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].message);
}

/* --- analysis ----------------------------------------------------------- */

/* The summary and its title. */
static char *summary(const struct sim_conv_view *v, json_object *ccd, enum sim_verdict verdict,
		     const char **ret_title)
{
	const char *name = dynvar_str(ccd, "user_name");
	const char *cut = v->cancelled ? " The call was cut off by a cancel." : "";

	if (v->call_result == SIM_CALL_VOICEMAIL) {
		*ret_title = "Voicemail";
		return xasprintf("The call reached voicemail; the agent left a message for %s.%s",
				 name ? name : "the customer", cut);
	}
	switch (verdict) {
	case SIM_VERDICT_SUCCESS:
		*ret_title = "Proposal accepted";
		return xasprintf("%s agreed to the proposal.%s", name ? name : "The customer", cut);
	case SIM_VERDICT_FAILURE:
		*ret_title = "Proposal declined";
		return xasprintf("%s declined the proposal.%s", name ? name : "The customer", cut);
	default:
		*ret_title = "Call back later";
		return xasprintf("%s was undecided and asked to be called back.%s", name ? name : "The customer", cut);
	}
}

static void eval_item(struct sbuf *out, const char *id, enum sim_verdict result, const char *rationale)
{
	sbuf_addf(out, "{\"criteria_id\":\"%s\",\"result\":\"%s\",\"rationale\":", id, sim_verdict_str(result));
	sbuf_add_json_str(out, rationale);
	sbuf_adds(out, ",\"scoring_mode\":\"binary\",\"score\":null,\"max_score\":null}");
}

static void data_item(struct sbuf *out, const char *id, const char *value_json, const char *rationale,
		      const char *schema_json)
{
	sbuf_addf(out, "{\"data_collection_id\":\"%s\",\"name\":null,\"value\":%s,\"rationale\":", id, value_json);
	sbuf_add_json_str(out, rationale);
	sbuf_addf(out, ",\"json_schema\":%s}", schema_json);
}

static void render_analysis(struct sbuf *out, const struct sim_conv_view *v, json_object *ccd,
			    enum sim_verdict verdict)
{
	static const char *const goal_why[] = {"The customer agreed.", "The customer declined.",
					       "The customer did not decide."};
	static const char *const decisions[] = {"\"accept\"", "\"decline\"", "\"undecided\""};
	static const char *const ids[4] = {"goal_achieved", "customer_reached", "customer_name", "decision"};
	bool vm = v->call_result == SIM_CALL_VOICEMAIL;
	json_object *name = dynvar(ccd, "user_name");
	const char *title;
	char *text = summary(v, ccd, verdict, &title);
	struct sbuf it[4] = {{0}};
	char *name_json = xstrdup(name ? json_object_to_json_string_ext(name, JSON_C_TO_STRING_PLAIN |
										      JSON_C_TO_STRING_NOSLASHESCAPE)
				       : "null");

	/* two evaluation criteria and two data collection fields */
	eval_item(&it[0], ids[0], verdict, vm ? "Nobody answered in person; a voicemail was left." : goal_why[verdict]);
	eval_item(&it[1], ids[1], vm ? SIM_VERDICT_FAILURE : SIM_VERDICT_SUCCESS,
		  vm ? "The call reached voicemail." : "A person answered the call.");
	data_item(&it[2], ids[2], name_json,
		  name ? "From the user_name dynamic variable." : "No user_name dynamic variable was given.",
		  "{\"type\":\"string\",\"description\":\"The customer's name\"}");
	data_item(&it[3], ids[3], vm ? "null" : decisions[verdict], vm ? "Nobody answered in person." : goal_why[verdict],
		  "{\"type\":\"string\",\"description\":\"accept, decline or undecided\","
		  "\"enum\":[\"accept\",\"decline\",\"undecided\"]}");

	sbuf_addf(out, "{\"call_successful\":\"%s\",\"transcript_summary\":", sim_verdict_str(verdict));
	sbuf_add_json_str(out, text);
	sbuf_adds(out, ",\"call_summary_title\":");
	sbuf_add_json_str(out, title);
	/* the maps keyed by id, then the same items as lists */
	sbuf_addf(out, ",\"call_success_score\":null,\"evaluation_criteria_results\":{\"%s\":%s,\"%s\":%s}", ids[0],
		  it[0].s, ids[1], it[1].s);
	sbuf_addf(out, ",\"data_collection_results\":{\"%s\":%s,\"%s\":%s}", ids[2], it[2].s, ids[3], it[3].s);
	sbuf_addf(out, ",\"evaluation_criteria_results_list\":[%s,%s]", it[0].s, it[1].s);
	sbuf_addf(out, ",\"data_collection_results_list\":[%s,%s]}", it[2].s, it[3].s);
	for (int i = 0; i < 4; i++)
		sbuf_free(&it[i]);
	free(name_json);
	free(text);
}

/* --- the GET body ------------------------------------------------------- */

static void render_ccd(struct sbuf *out, const struct sim_conv_view *v, json_object *ccd, const char *caller,
		       const char *sid)
{
	json_object *copy = NULL, *dv;
	const char *number = number_of(v);

	/* a deep copy: the caller's parsed data stays as it was */
	if (json_object_deep_copy(ccd, &copy, NULL) < 0 || !copy)
		copy = json_object_new_object();
	if (!json_object_object_get_ex(copy, "dynamic_variables", &dv)) {
		dv = json_object_new_object();
		json_object_object_add(copy, "dynamic_variables", dv);
	}
	if (json_object_is_type(dv, json_type_object)) {
		/* what the platform adds (observed: system__* keys) */
		json_object_object_add(dv, "system__agent_id", json_object_new_string(v->agent_id));
		json_object_object_add(dv, "system__conversation_id", json_object_new_string(v->conversation_id));
		if (caller)
			json_object_object_add(dv, "system__caller_id", json_object_new_string(caller));
		if (number)
			json_object_object_add(dv, "system__called_number", json_object_new_string(number));
		if (sid)
			json_object_object_add(dv, "system__call_sid", json_object_new_string(sid));
	}
	sbuf_adds(out, json_object_to_json_string_ext(copy, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(copy);
}

static void render_phone_call(struct sbuf *out, const struct sim_conv_view *v, const char *caller, const char *sid)
{
	bool sip = strcmp(v->phone_provider, "sip_trunk") == 0;
	char stream[40], hex[33];

	sbuf_addf(out, "{\"type\":\"%s\",\"direction\":\"outbound\",\"phone_number_id\":",
		  sip ? "sip_trunking" : v->phone_provider);
	sbuf_add_json_str(out, v->phone_number_id);
	sbuf_adds(out, ",\"agent_number\":");
	sbuf_add_json_str(out, caller);
	sbuf_adds(out, ",\"external_number\":");
	sbuf_add_json_str(out, number_of(v) ? number_of(v) : "");
	sbuf_adds(out, ",\"call_result\":");
	if (v->ended)
		sbuf_addf(out, "\"%s\"", sim_call_result_str(v->call_result));
	else
		sbuf_adds(out, "null");
	sbuf_adds(out, ",\"call_sid\":");
	sbuf_add_json_str(out, sid);
	if (sip) {
		sbuf_adds(out, ",\"call_id\":");
		sbuf_add_json_str(out, sid);
		sbuf_adds(out, ",\"sip_header_dynamic_variables\":null}");
	} else {
		hex_of(hex, conv_hash(v, "stream"), conv_hash(v, "stream2"), 32);
		snprintf(stream, sizeof(stream), "MZ%s", hex);
		sbuf_adds(out, ",\"stream_sid\":");
		sbuf_add_json_str(out, stream);
		sbuf_adds(out, "}");
	}
}

static void render_error(struct sbuf *out, const struct sim_conv_view *v)
{
	if (!v->ended || v->answered)
		sbuf_adds(out, "null");
	else if (v->cancelled)
		sbuf_adds(out, "{\"code\":487,\"reason\":\"cancelled\"}");
	else if (v->call_result == SIM_CALL_BUSY)
		sbuf_adds(out, "{\"code\":486,\"reason\":\"busy\"}");
	else
		sbuf_adds(out, "{\"code\":480,\"reason\":\"no-answer\"}");
}

static void render_conv(struct sbuf *out, const struct sim_conv_view *v, bool otlp)
{
	json_object *ccd = ccd_parse(v->ccd_json);
	enum sim_verdict verdict = verdict_of(number_of(v), ccd, v->call_result == SIM_CALL_VOICEMAIL);
	const char *user_id = NULL, *lang = main_language(v, ccd);
	struct turn t[5];
	size_t nt = turns(v, ccd, verdict, t);
	char caller[16], sid[40];
	json_object *o;
	bool audio = v->answered && v->ended;

	agent_number(v, caller);
	call_sid(v, sid);
	if (json_object_object_get_ex(ccd, "user_id", &o) && json_object_is_type(o, json_type_string))
		user_id = json_object_get_string(o);
	sbuf_adds(out, "{\"agent_id\":");
	sbuf_add_json_str(out, v->agent_id);
	sbuf_adds(out, ",\"agent_name\":");
	sbuf_add_json_str(out, v->agent_name);
	sbuf_adds(out, ",\"conversation_id\":");
	sbuf_add_json_str(out, v->conversation_id);
	sbuf_addf(out, ",\"status\":\"%s\",\"user_id\":", sim_conv_status_str(v->status));
	sbuf_add_json_str(out, user_id);
	sbuf_adds(out, ",\"branch_id\":");
	sbuf_add_json_str(out, v->branch_id);
	sbuf_adds(out, ",\"version_id\":null,\"environment\":");
	sbuf_add_json_str(out, v->environment);
	sbuf_adds(out, ",\"transcript\":");
	render_turns(out, t, nt);
	free_turns(t, nt);

	sbuf_addf(out, ",\"metadata\":{\"start_time_unix_secs\":%" PRId64 ",\"accepted_time_unix_secs\":",
		  v->start_us / 1000000);
	if (v->accepted_us >= 0)
		sbuf_addf(out, "%" PRId64, v->accepted_us / 1000000);
	else
		sbuf_adds(out, "null");
	sbuf_addf(out, ",\"call_duration_secs\":%" PRId64 ",\"queue_wait_secs\":null,\"cost\":", v->duration_secs);
	if (v->ended)
		sbuf_addf(out, "%" PRId64, v->answered ? v->duration_secs * 10 : 0);
	else
		sbuf_adds(out, "null");
	sbuf_adds(out, ",\"cost_fiat\":null,\"termination_reason\":");
	sbuf_add_json_str(out, termination_reason(v));
	sbuf_adds(out, ",\"error\":");
	render_error(out, v);
	sbuf_adds(out, ",\"warnings\":[],\"main_language\":");
	sbuf_add_json_str(out, lang);
	sbuf_addf(out, ",\"conversation_initiation_source\":\"%s\",\"timezone\":", source_of(v));
	sbuf_add_json_str(out, v->timezone);
	sbuf_adds(out, ",\"phone_call\":");
	if (v->phone_provider)
		render_phone_call(out, v, caller, sid);
	else
		sbuf_adds(out, "null");
	sbuf_adds(out, ",\"batch_call\":{\"batch_call_id\":");
	sbuf_add_json_str(out, v->batch_id);
	sbuf_adds(out, ",\"batch_call_recipient_id\":");
	sbuf_add_json_str(out, v->recipient_id);
	sbuf_adds(out, ",\"campaign\":null}}");

	sbuf_adds(out, ",\"analysis\":");
	if (v->status == SIM_CONV_DONE)
		render_analysis(out, v, ccd, verdict);
	else
		sbuf_adds(out, "null");
	sbuf_adds(out, ",\"conversation_initiation_client_data\":");
	render_ccd(out, v, ccd, v->phone_provider ? caller : NULL, v->phone_provider ? sid : NULL);
	sbuf_addf(out,
		  ",\"has_audio\":%s,\"has_user_audio\":%s,\"has_response_audio\":%s,\"has_auxiliary_audio\":false,"
		  "\"visited_agents\":null,\"tag_ids\":null,\"conversation_product\":null,\"otlp_traces\":%s}",
		  audio ? "true" : "false", audio ? "true" : "false", audio ? "true" : "false",
		  otlp ? "{\"resourceSpans\":[]}" : "null");
	json_object_put(ccd);
}

void sim_render_conv(struct sbuf *out, const struct sim_conv_view *v, bool otlp)
{
	render_conv(out, v, otlp);
}

void sim_render_transcription_data(struct sbuf *out, const struct sim_conv_view *v)
{
	render_conv(out, v, false);
}

/* --- the list ----------------------------------------------------------- */

struct item {
	struct sim_conv_ref ref;
	int64_t start_us;
};

/* Newest first: start time, then batch, recipient and attempt, descending. */
static int item_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;

	if (a->start_us != b->start_us)
		return a->start_us > b->start_us ? -1 : 1;
	if (a->ref.batch_key != b->ref.batch_key)
		return a->ref.batch_key > b->ref.batch_key ? -1 : 1;
	if (a->ref.idx != b->ref.idx)
		return a->ref.idx > b->ref.idx ? -1 : 1;
	if (a->ref.attempt != b->ref.attempt)
		return a->ref.attempt > b->ref.attempt ? -1 : 1;
	return 0;
}

/* The cursor names the last item of a page: "cur" + 16 hex of the start
 * time, 16 of the batch key, 8 of the index and 2 of the attempt. */
static void cursor_of(const struct item *it, char out[48])
{
	snprintf(out, 48, "cur%016" PRIx64 "%016" PRIx64 "%08" PRIx32 "%02x", (uint64_t)it->start_us,
		 it->ref.batch_key, it->ref.idx, it->ref.attempt);
}

static bool cursor_parse(const char *s, struct item *ret)
{
	char buf[48];
	uint64_t start, key;
	uint32_t idx;
	unsigned attempt;

	if (!s || strlen(s) != 45 || strncmp(s, "cur", 3) != 0 || strspn(s + 3, "0123456789abcdef") != 42)
		return false;
	memcpy(buf, s + 3, 16);
	buf[16] = '\0';
	start = strtoull(buf, NULL, 16);
	memcpy(buf, s + 19, 16);
	key = strtoull(buf, NULL, 16);
	memcpy(buf, s + 35, 8);
	buf[8] = '\0';
	idx = (uint32_t)strtoul(buf, NULL, 16);
	memcpy(buf, s + 43, 2);
	buf[2] = '\0';
	attempt = (unsigned)strtoul(buf, NULL, 16);
	if (start > INT64_MAX)
		return false;
	ret->start_us = (int64_t)start;
	ret->ref.batch_key = key;
	ret->ref.idx = idx;
	ret->ref.attempt = (uint8_t)attempt;
	return true;
}

static void render_summary_item(struct sbuf *out, const struct sim_conv_view *v, bool with_summary)
{
	json_object *ccd = ccd_parse(v->ccd_json);
	enum sim_verdict verdict = verdict_of(number_of(v), ccd, v->call_result == SIM_CALL_VOICEMAIL);
	bool done = v->status == SIM_CONV_DONE;
	struct turn t[5];
	size_t nt = turns(v, ccd, verdict, t);
	const char *title = NULL, *lang = main_language(v, ccd);
	char *text = done ? summary(v, ccd, verdict, &title) : NULL;

	free_turns(t, nt);
	sbuf_adds(out, "{\"agent_id\":");
	sbuf_add_json_str(out, v->agent_id);
	sbuf_adds(out, ",\"agent_name\":");
	sbuf_add_json_str(out, v->agent_name);
	sbuf_adds(out, ",\"branch_id\":");
	sbuf_add_json_str(out, v->branch_id);
	sbuf_adds(out, ",\"version_id\":null,\"conversation_id\":");
	sbuf_add_json_str(out, v->conversation_id);
	sbuf_addf(out,
		  ",\"start_time_unix_secs\":%" PRId64 ",\"call_duration_secs\":%" PRId64
		  ",\"message_count\":%zu,\"status\":\"%s\",\"call_successful\":\"%s\",\"termination_reason\":",
		  v->start_us / 1000000, v->duration_secs, nt, sim_conv_status_str(v->status),
		  done ? sim_verdict_str(verdict) : "unknown");
	sbuf_add_json_str(out, termination_reason(v));
	sbuf_adds(out, ",\"transcript_summary\":");
	sbuf_add_json_str(out, with_summary ? text : NULL);
	sbuf_adds(out, ",\"call_summary_title\":");
	sbuf_add_json_str(out, title);
	sbuf_adds(out, ",\"call_success_score\":null,\"main_language\":");
	sbuf_add_json_str(out, lang);
	sbuf_addf(out,
		  ",\"conversation_initiation_source\":\"%s\",\"direction\":\"outbound\",\"tool_names\":null,"
		  "\"rating\":null,\"sentiment_analysis\":null,\"tag_ids\":null}",
		  source_of(v));
	free(text);
	json_object_put(ccd);
}

void sim_render_conv_page(struct sbuf *out, const struct sim_model *m, const struct sim_conv_query *q)
{
	struct sim_conv_ref *refs = NULL;
	size_t n = sim_model_convs(m, &refs), kept = 0, from = 0, got = 0;
	struct item *items = xcalloc(n ? n : 1, sizeof(*items)), after;
	struct sim_conv_view v;
	bool has_cursor = q->cursor && *q->cursor, bad_cursor = false;

	if (has_cursor && !cursor_parse(q->cursor, &after))
		bad_cursor = true;
	for (size_t i = 0; i < n && !bad_cursor; i++) {
		sim_conv_view(m, &refs[i], &v);
		if (q->agent_id && strcmp(v.agent_id, q->agent_id) != 0)
			continue;
		if (q->verdict >= 0) {
			/* only analysed conversations have a verdict to match */
			if (v.status != SIM_CONV_DONE || q->verdict > SIM_VERDICT_UNKNOWN ||
			    sim_conv_verdict(number_of(&v), v.ccd_json, v.call_result == SIM_CALL_VOICEMAIL) !=
				    (enum sim_verdict)q->verdict)
				continue;
		}
		items[kept].ref = refs[i];
		items[kept].start_us = v.start_us;
		kept++;
	}
	qsort(items, kept, sizeof(*items), item_cmp);
	if (has_cursor && !bad_cursor)
		while (from < kept && item_cmp(&items[from], &after) <= 0)
			from++;
	sbuf_adds(out, "{\"conversations\":[");
	for (size_t i = from; i < kept && got < q->page_size; i++, got++) {
		sim_conv_view(m, &items[i].ref, &v);
		if (got)
			sbuf_adds(out, ",");
		render_summary_item(out, &v, q->with_summary);
	}
	sbuf_adds(out, "],\"next_cursor\":");
	if (from + got < kept && got > 0) {
		char cur[48];
		cursor_of(&items[from + got - 1], cur);
		sbuf_addf(out, "\"%s\",\"has_more\":true}", cur);
	} else {
		sbuf_adds(out, "null,\"has_more\":false}");
	}
	free(items);
	free(refs);
}

/* --- the other webhook events ------------------------------------------- */

void sim_render_failure_data(struct sbuf *out, const struct sim_conv_view *v)
{
	bool busy = v->call_result == SIM_CALL_BUSY, sip = v->phone_provider && strcmp(v->phone_provider, "sip_trunk") == 0;
	const char *reason = v->cancelled ? "unknown" : busy ? "busy" : "no-answer";
	const char *number = number_of(v) ? number_of(v) : "";
	int code = v->cancelled ? 487 : busy ? 486 : 480;
	char caller[16], sid[40];

	agent_number(v, caller);
	call_sid(v, sid);
	sbuf_adds(out, "{\"agent_id\":");
	sbuf_add_json_str(out, v->agent_id);
	sbuf_adds(out, ",\"conversation_id\":");
	sbuf_add_json_str(out, v->conversation_id);
	sbuf_addf(out, ",\"failure_reason\":\"%s\",\"metadata\":", reason);
	if (sip) {
		static const char *const texts[] = {"Temporarily Unavailable", "Busy Here", "Request Terminated"};
		const char *text = texts[code == 480 ? 0 : code == 486 ? 1 : 2];
		char *why = xasprintf("INVITE failed: sip status: %d: %s (SIP %d)", code, text, code);
		sbuf_adds(out, "{\"type\":\"sip\",\"body\":{\"from_number\":");
		sbuf_add_json_str(out, caller);
		sbuf_adds(out, ",\"to_number\":");
		sbuf_add_json_str(out, number);
		sbuf_addf(out, ",\"sip_status_code\":%d,\"error_reason\":", code);
		sbuf_add_json_str(out, why);
		sbuf_adds(out, ",\"call_sid\":");
		sbuf_add_json_str(out, sid);
		sbuf_adds(out, "}}}");
		free(why);
		return;
	}
	/* Twilio's StatusCallback form, as JSON strings */
	sbuf_adds(out, "{\"type\":\"twilio\",\"body\":{\"CallSid\":");
	sbuf_add_json_str(out, sid);
	sbuf_addf(out, ",\"CallStatus\":\"%s\",\"To\":", v->cancelled ? "canceled" : busy ? "busy" : "no-answer");
	sbuf_add_json_str(out, number);
	sbuf_adds(out, ",\"From\":");
	sbuf_add_json_str(out, caller);
	sbuf_addf(out,
		  ",\"Direction\":\"outbound-api\",\"SipResponseCode\":\"%d\",\"Duration\":\"0\","
		  "\"CallDuration\":\"0\",\"ApiVersion\":\"2010-04-01\"}}}",
		  code);
}

void sim_render_audio_data(struct sbuf *out, const struct sim_conv_view *v)
{
	/* an ID3 header and a line of text: small, and base64 like the real
	 * full_audio (an MP3 of the call) */
	char raw[96], b64[132];
	int n = snprintf(raw, sizeof(raw), "ID3%c%c%c%c%c%c%cbatchcall-sim audio of %s", 4, 0, 0, 0, 0, 0, 0,
			 v->conversation_id);

	sim_base64(raw, (size_t)n, b64);
	sbuf_adds(out, "{\"agent_id\":");
	sbuf_add_json_str(out, v->agent_id);
	sbuf_adds(out, ",\"conversation_id\":");
	sbuf_add_json_str(out, v->conversation_id);
	sbuf_adds(out, ",\"full_audio\":");
	sbuf_add_json_str(out, b64);
	sbuf_adds(out, "}");
}
