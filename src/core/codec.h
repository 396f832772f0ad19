/*
 * codec: JSON <-> structs for the ElevenLabs batch-calling API. Builds the
 * submit body from a job definition and parses every response the daemon
 * reads. Parsers are tolerant of what the API document says may drift
 * (unknown keys, unknown enum strings, absent-or-null optional keys) and
 * strict about the rest: a response that is not the documented JSON is
 * refused with -EBADMSG and a cause, never a crash. No I/O.
 */
#ifndef BC_CODEC_H
#define BC_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "jobspec.h"

/* The submit body for job j with the recipients i for which include[i] is
 * true (include NULL: all; some: a zone group, or a follow-up batch):
 * call_name as given (NULL: the job's call_name, else its name),
 * scheduled_time_unix only when scheduled_time_unix > 0. Keys in a fixed
 * order, no spaces, so equal jobs give equal text. Returns a
 * NUL-terminated JSON text the caller frees. */
char *codec_submit_body_only(const struct jobspec *j, const char *call_name, int64_t scheduled_time_unix,
			     const bool *include);

/* Bounds on the integers of a response. What the daemon keeps of a batch
 * goes into its state records and into arithmetic (retry_count + 1, seconds
 * times 1000), so an integer outside what the API can mean is not the
 * documented JSON: refused like a wrong type, never clamped.
 * - timestamps (created_at_unix, scheduled_time_unix, last_updated_at_unix,
 *   recipients' created_at_unix and updated_at_unix): 0 .. 9999-12-31T23:59:59Z,
 *   the last instant a calendar date (and a job's scheduled_time_unix) can name;
 * - total_calls_dispatched/scheduled/finished: 0 .. 10,000,000, a thousand
 *   times the API's 10,000 recipients a batch;
 * - retry_count: 0 .. 1,000,000 (a retry re-dials at least one call: a
 *   million is decades of retries, and retry_count + 1 cannot overflow). */
#define CODEC_TIME_MAX INT64_C(253402300799)
#define CODEC_COUNT_MAX INT64_C(10000000)
#define CODEC_RETRY_COUNT_MAX INT64_C(1000000)

/* Parsers: 0 and *ret filled, or -EBADMSG with *cause (caller frees; cause
 * may be NULL) naming the key path ("batch_calls[3].status: expected a
 * string"). On failure *ret is untouched; on success it is overwritten, not
 * freed. Required: id (non-empty), name, agent_id, status,
 * created_at_unix, scheduled_time_unix, last_updated_at_unix; recipients:
 * id, status, created_at_unix, updated_at_unix. Counters absent -> 0.
 * Integers within the bounds above.
 * Memory: before a body is built, its structure is priced at what
 * json-c would spend on it (about 800 bytes for an empty object, 100 for a
 * number), and a body over 64 MiB of that is refused: 16 MiB of
 * "[{},{},...]" would otherwise take 4 GB. codec_parse_detail sets each
 * recipient's conversation_initiation_client_data aside (checked to be
 * JSON and an object or null, never built): it echoes whatever the submit
 * sent and is most of a large detail, so a 10,000-recipient detail costs
 * json-c about 25 MB whatever its recipients carry. */
int codec_parse_batch(const char *body, size_t len, struct batch *ret, char **cause);
int codec_parse_detail(const char *body, size_t len, struct batch_detail *ret, char **cause);
int codec_parse_page(const char *body, size_t len, struct batch_page *ret, char **cause);

/* A one-line human message from an API error body: FastAPI 422 detail lists
 * ("recipients.0.phone_number: Field required; ..."), the documented
 * detail object ("Invalid API key (invalid_api_key)"), a plain detail
 * string, or, when the body is none of these, "HTTP <status>: " and at most
 * 200 characters of the body. Never NULL, never a control character.
 * Caller frees. */
char *codec_error_message(long http_status, const char *body, size_t len);

/* Whether body is an error body the API documents (§7): a JSON object
 * whose "detail" is a string (FastAPI's own errors), a list (422
 * validation) or an object with a string "message" or "status" (the
 * ElevenLabs error object). A proxy's HTML page, or anything else, is not. */
bool codec_is_error_body(const char *body, size_t len);

#endif
