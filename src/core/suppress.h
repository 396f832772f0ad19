/*
 * suppress: do-not-call lists. Parsing a list's bytes into targets (E.164
 * numbers and WhatsApp ids), their normal form, the set they make, and the
 * decision of who is left out of a submit or a retry. No I/O: the shell
 * reads the files (the daemon key `suppression`, the daemon's own list in
 * the state folder) and hands the bytes in.
 *
 * A list is either plain text, one target a line, or a CSV whose header
 * row names a `phone_number` and/or a `whatsapp_user_id` column (the
 * columns of a job's recipients CSV, so a CRM export serves as it is;
 * other columns are ignored). A line whose first non-blank character is
 * `#` is a comment, and so is the rest of a plain line from a `#` that
 * follows a blank; blank lines are skipped; a UTF-8 BOM and CRLF are
 * accepted. In a plain list a target is a number starting with `+`, or
 * `whatsapp:ID`.
 *
 * Normal form: a number loses the separators people write into it
 * (spaces, `-`, `.`, `(`, `)`) and must then be E.164 as the job files
 * want it (e164_valid: `+` and 8 to 15 digits), "+1 (555) 010-0001" is
 * "+15550100001"; a WhatsApp id is compared exactly, after trimming the
 * blanks around it, and holds 1 to 128 bytes none of which is a blank, a
 * control character, `,` or `"`. A number is kept as a 64-bit key (its
 * digits and their count: "+10" and "+010" differ), 16 bytes an entry with
 * where it came from, so a million numbers take 16 MB.
 *
 * The set is a sorted array searched by bisection; a runtime addition
 * (`batchcallctl suppress`) is inserted in place.
 */
#ifndef BC_SUPPRESS_H
#define BC_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jobspec.h"
#include "util.h"

/* The longest WhatsApp id a list may hold. */
#define SUPPRESS_ID_MAX 128
/* "whatsapp:" and an id, or a number, with its NUL. */
#define SUPPRESS_NORMAL_MAX (SUPPRESS_ID_MAX + 16)
/* Errors reported per list file; the rest are counted in one more line. */
#define SUPPRESS_MAX_ERRORS 50
/* The prefix that makes a plain list's line (or batchcallctl's argument) a
 * WhatsApp id. */
#define SUPPRESS_WA_PREFIX "whatsapp:"

struct suppress_num {
	uint64_t key;  /* digits << 4 | digit count */
	uint32_t src;  /* index into suppress_set.srcs */
	uint32_t line; /* 1-based line of the list */
};

struct suppress_id {
	char *id;
	uint32_t src;
	uint32_t line;
};

/* One or more lists merged. Zero-initialised is an empty set. */
struct suppress_set {
	struct suppress_num *nums; /* sorted by key once sealed */
	size_t n_nums, cap_nums;
	struct suppress_id *ids;   /* sorted by id once sealed */
	size_t n_ids, cap_ids;
	char **srcs;               /* the lists' names, for messages */
	size_t n_srcs;
	bool sealed;
};

/* Where a target was found. */
struct suppress_hit {
	const char *file;
	int line;
};

/* Every set consulted at a submit (the files of `suppression`, the
 * daemon's own list). A verdict of a recipient: the frequency caps of
 * issue 15 add their own kind beside SUPPRESS_LISTED, checked at the same
 * moment. */
#define SUPPRESS_SETS_MAX 4
struct suppress_rules {
	const struct suppress_set *sets[SUPPRESS_SETS_MAX];
	size_t n_sets;
};

enum suppress_verdict { SUPPRESS_ALLOWED, SUPPRESS_LISTED };

/* The normal form of one target (len bytes of text, trimmed of blanks):
 * "+DIGITS" or "whatsapp:ID" into buf (SUPPRESS_NORMAL_MAX bytes). 0, or
 * -EINVAL with *why (static text). A number needs its `+`; text without
 * one is read as a WhatsApp id only with the prefix "whatsapp:" (or
 * whatsapp set: a whatsapp_user_id cell). */
int suppress_normalize(const char *text, size_t len, bool whatsapp, char *buf, const char **why);

/* Parse one list (file names it in messages) and add its targets to s
 * (which must not be sealed). 0, or -EINVAL with every bad line in d as
 * "FILE:LINE: message" (at most SUPPRESS_MAX_ERRORS of them, and a line
 * counting the rest); the good lines are added either way. */
int suppress_parse(struct suppress_set *s, const char *file, const char *buf, size_t len, struct diag *d);
/* Sort s and drop repeated targets (the first place is kept): it can be
 * searched from now on. */
void suppress_seal(struct suppress_set *s);
/* Add one normal target (suppress_normalize's) to a sealed set at its
 * place: the list src (an index of s->srcs, see suppress_source), line.
 * True when it was not there before. */
bool suppress_add(struct suppress_set *s, const char *normal, uint32_t src, uint32_t line);
/* The index of list file in s->srcs, added when new. */
uint32_t suppress_source(struct suppress_set *s, const char *file);
/* How many targets s holds. */
size_t suppress_size(const struct suppress_set *s);
/* How many of s's targets came from the list named file (0 for a list
 * with none, or one not in s): an empty list is worth a warning. */
size_t suppress_source_size(const struct suppress_set *s, const char *file);
/* Is the recipient with phone_number (E.164, may be NULL) or
 * whatsapp_user_id (may be NULL) in sealed s? Where, in *ret (optional). */
bool suppress_find(const struct suppress_set *s, const char *phone_number, const char *whatsapp_user_id,
		   struct suppress_hit *ret);
/* Is a normal target (or a run's recipient key: a number, else a WhatsApp
 * id) in s? */
bool suppress_find_key(const struct suppress_set *s, const char *key, struct suppress_hit *ret);
void suppress_clear(struct suppress_set *s);

/* The verdict on one recipient (or run key, when phone_number is a key and
 * whatsapp_user_id NULL) under every set of rules (NULL: allowed). */
enum suppress_verdict suppress_check(const struct suppress_rules *rules, const char *phone_number,
				     const char *whatsapp_user_id, struct suppress_hit *ret);
enum suppress_verdict suppress_check_key(const struct suppress_rules *rules, const char *key,
					 struct suppress_hit *ret);

/* Leave out of a submit every recipient of v (n of them) that include[]
 * selects and the rules forbid: include[i] is cleared, and its key
 * (recipient_key: number, else WhatsApp id) appended to *ret_keys, NULL
 * when none (the caller frees each and the array). Returns how many. */
size_t suppress_filter(const struct suppress_rules *rules, const struct recipient *v, size_t n, bool *include,
		       char ***ret_keys);

/* A warning in w for each recipient of the jobs that the rules forbid:
 * "FILE:LINE: job 'x': recipient '+1555…' is on the do-not-call list
 * LIST:LINE; it will not be called". Returns how many. */
size_t suppress_warn_jobs(const struct suppress_rules *rules, const struct jobspec *jobs, size_t n_jobs,
			  struct diag *w);

/* key as it may be logged at info: every digit (every character of a
 * WhatsApp id) but the last four as '*', "+*******0001". */
void suppress_mask(const char *key, char *buf, size_t size);
/* Free text (n bytes) as it may be logged at any level: every ASCII digit
 * but the last 4 of the whole text as '*' ("ticket 991: +1 415-555-0123"
 * -> "ticket ***: +* ***-***-0123"), and with beyond_ascii every byte
 * beyond ASCII too (a malformed number in another script's digits). */
void suppress_mask_text(const char *t, size_t n, bool beyond_ascii, char *buf, size_t size);

#endif
