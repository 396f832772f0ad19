/*
 * results: what became of every recipient of one occurrence of a job, as
 * rows, and the rows as the two results files (RFC 4180 CSV and JSON
 * Lines) with their file name. The rows are the recipients of the job
 * file, in file order, each joined to the batch entry that decided it
 * (whole run, zone part or follow-up touch), to its conversation and to a
 * call_initiation_failure; then the batch entries no recipient of the
 * file claims. Values in, text out; no I/O, no clock. docs/results.md
 * describes the columns for operators.
 *
 * Joining a recipient of the file to an entry of a run's batch detail, in
 * this order: by `id` (the API may echo a recipient's id as its own), by
 * position (the k-th recipient the run submitted is the detail's k-th
 * entry) when the entry's phone number or WhatsApp id agrees, then by
 * phone number or WhatsApp id. An entry's conversation is found by its
 * conversation_id; failing that (no id yet), by the conversation whose
 * metadata.batch_call names the batch and the entry.
 *
 * A recipient in several runs (a whole run stopped at the close, then its
 * follow-up) is reported from the last run that dialled it, else from the
 * last run that holds it.
 */
#ifndef BC_RESULTS_H
#define BC_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "conv.h"
#include "jobspec.h"
#include "run.h"

/* One run of the occurrence. */
struct results_run {
	const char *part;        /* NULL: the whole run; else run.part */
	int touch;               /* run.touch: 0 the occurrence's own run, N follow-up N */
	const char *call_name;   /* the run's call_name */
	enum run_state state;    /* why a run without a batch has none */
	const char *batch_id;    /* NULL: no batch (yet) */
	const char *const *keys; /* its recipients (run.rcpts); NULL: all of the job's */
	size_t n_keys;
	bool has_detail;         /* rcpts is the batch's last detail */
	const struct batch_rcpt *rcpts;
	size_t n_rcpts;
	const char *const *suppressed; /* keys its submit left out (run.suppressed) */
	size_t n_suppressed;
	const char *const *over_limit; /* keys its submit left out (run.over_limit) */
	size_t n_over_limit;
};

/* A conversation a batch entry held in an earlier detail (a retry gives
 * the entry a new one): optional, for counting attempts. */
struct results_link {
	const char *batch_id;
	const char *rcpt_id; /* the entry's id */
	const char *conversation_id;
};

struct results_input {
	const struct jobspec *job; /* name, tz (NULL: UTC), recipients in file order */
	int64_t start;             /* the occurrence's instant */
	const char *call_name;     /* the occurrence's call_name (rows no run holds) */
	const struct results_run *runs; /* in the order they were made */
	size_t n_runs;
	const struct conv *convs;  /* every known conversation (webhook or poll);
				    * of one id, the most complete wins (done or
				    * failed, with analysis), then the later */
	size_t n_convs;
	const struct conv_failure *failures; /* call_initiation_failure events (later wins) */
	size_t n_failures;
	const struct results_link *links;
	size_t n_links;
};

/* The status of a row no batch entry decided (the others carry the
 * recipient status of the API: pending, dispatched, initiated,
 * in_progress, completed, failed, cancelled, voicemail, unknown). */
#define RESULTS_NOT_IN_RUN "not_in_run"       /* no run of the occurrence holds the recipient */
#define RESULTS_NOT_SUBMITTED "not_submitted" /* its run has no batch yet */
#define RESULTS_MISSED "missed"               /* its run was missed or skipped: it never will */
#define RESULTS_REFUSED "refused"             /* the API refused its run for good */
#define RESULTS_DISABLED "disabled"           /* its job is disabled */
#define RESULTS_WITHDRAWN "withdrawn"         /* its run was cancelled or removed before a batch existed */
#define RESULTS_SUBMITTED "submitted"         /* its run has a batch whose detail is not known yet */
#define RESULTS_NOT_IN_BATCH "not_in_batch"   /* the batch's detail does not list it */
#define RESULTS_SUPPRESSED "suppressed"       /* a do-not-call list left it out of its run's submit */
#define RESULTS_CONTACT_LIMIT "contact_limit" /* the contact limits left it out of its run's submit */

struct results_row {
	const struct recipient *rcpt;     /* NULL: a batch entry not in the job file */
	const struct results_run *run;    /* the run that decided the row; NULL: none holds it */
	const struct batch_rcpt *entry;   /* its entry in that run's detail, or NULL */
	const char *status;               /* see above */
	int attempts;                     /* distinct conversations known for it; 1 when it
					   * was dialled and none is known; 0 never dialled */
	const char *conversation_id;      /* the latest known, or NULL */
	const struct conv *conv;          /* that conversation, or NULL */
	const struct conv_failure *failure; /* a call_initiation_failure of it, or NULL */
};

/* The rows; they point into the input, which must outlive them. */
struct results {
	const struct results_input *in;
	struct results_row *rows;
	size_t n_rows;
	const char **data_ids; /* every data collection id of the rows' conversations, sorted (bytes) */
	size_t n_data_ids;
	const char **eval_ids; /* every evaluation criterion id of them, sorted */
	size_t n_eval_ids;
	char run_start[40];     /* the occurrence's start, local ISO 8601 with offset */
	char run_start_utc[24]; /* ... and UTC */
};

/* The recipients (keys of the job file's recipients, in row order; the
 * caller frees the array and the strings) whom follow-up touch t takes:
 * of the rows a batch of touch prev decided (the row has its batch
 * entry: a recipient added to the file later, or left out of the submit,
 * was never in that touch), those whose status is one of t->status
 * (not_dialled: attempts 0, e.g. cancelled at the close), whose
 * conversation's call_successful is one of t->verdicts (no analysis:
 * unknown) and whose conversation collected every t->data value (a
 * string compared as its text, anything else as its compact JSON).
 * Returns how many. */
size_t results_touch_select(const struct results *r, int prev, const struct touch *t, char ***ret);

/* How many of those rows touch t would judge by their conversation (t
 * selects by call_successful or data) have no final conversation yet:
 * dialled in touch prev with a conversation id, that conversation not
 * known yet or not done or failed (its analysis may still come). 0 when
 * t selects by status only. */
size_t results_touch_waiting(const struct results *r, int prev, const struct touch *t);

/* Join in into rows. */
void results_build(const struct results_input *in, struct results *ret);
/* Free what r holds (NULL accepted). */
void results_clear(struct results *r);

/* The fixed column i, in order (NULL past the last); then come one
 * "data.<id>" per data_ids and one "eval.<id>" per eval_ids. */
const char *results_column(size_t i);

/* The CSV file: RFC 4180, UTF-8 without a BOM, CRLF line ends, a header
 * row; a field is quoted when it holds a comma, a quote, CR or LF. A
 * cell (header included) whose first character is '=', '+', '-', '@',
 * TAB or CR is prefixed with a single quote so that a spreadsheet shows
 * it as text instead of running it as a formula ("+14155550101" is
 * written "'+14155550101"; the JSON Lines file keeps every value as it
 * is). Invalid UTF-8 becomes U+FFFD. Returns the text (caller frees), its
 * length in *ret_len (may be NULL). */
char *results_csv(const struct results *r, size_t *ret_len);
/* The JSON Lines file: one object per row, LF after each, keys in column
 * order; attempts and duration_secs are numbers, absent values null,
 * "data" and "eval" objects of the conversation's own results (data
 * values as the exact JSON sent), null without a conversation. */
char *results_jsonl(const struct results *r, size_t *ret_len);

enum results_format { RESULTS_CSV, RESULTS_JSONL };

/* The path of a results file below results_dir: "JOB/STAMP_NAME.csv" or
 * ".jsonl", where JOB is the job's name with every byte outside
 * [A-Za-z0-9_-] (and a '.' in first place: "." and ".." are job names)
 * written %XX, STAMP the occurrence's UTC start "2026-12-01T14-00-00Z"
 * (sortable, no ':'), and NAME the call_name with each run of bytes
 * outside [A-Za-z0-9.-] written '_', at most 100 bytes, none at either
 * end (left out with its '_' when nothing remains). One occurrence is
 * one STAMP: the NAME is for people. Caller frees. */
char *results_file_name(const char *job, int64_t start, const char *call_name, enum results_format f);
/* The start of the occurrence a results file is of, read from its name
 * ("JOB/STAMP_NAME.csv", or the base name alone): 0 and *ret, or -EINVAL
 * when the name does not begin with a STAMP results_file_name writes. */
int results_file_start(const char *name, int64_t *ret);

/* The results document of one occurrence: what the control socket's
 * GET /v1/jobs/NAME/results answers and what `batchcallctl results --json`
 * prints, whether the daemon or the files give it (docs/results.md):
 *   {"job":JOB,"run_start":START,"run_start_utc":"2026-12-01T14:00:00Z",
 *    "csv_file":CSV_FILE,"csv":CSV,"rows":[ROW,...]}
 * (one line, no LF: the answer and batchcallctl add one), where START is unix seconds, CSV_FILE the CSV file's name
 * below results_dir (results_file_name), CSV the CSV text (csv_len bytes;
 * NULL: "") and the rows the lines of the JSON Lines text, each copied as
 * it is (empty lines skipped). With check (text read from a file; the
 * core's own results_jsonl needs none, and 10,000 rows cost ~0.1 s), each
 * line must be one JSON object (RFC 8259, jsonin), so that the answer is
 * one JSON document or none. 0 and *ret (caller frees; *ret_len may be
 * NULL), or -EBADMSG with *cause (caller frees; may be NULL) naming the
 * line. */
int results_document(const char *job, int64_t start, const char *csv_file, const char *csv, size_t csv_len,
		     const char *jsonl, size_t jsonl_len, bool check, char **ret, size_t *ret_len, char **cause);

#endif
