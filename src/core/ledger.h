/*
 * ledger: the contact ledger of the frequency caps (daemon key
 * `contact_limits`, issue 15). Who was called when, by which agent and by
 * which attempt of which run, across every job; and the verdict on a new
 * call under the limits ("at most 3 calls in 7 days, at least 1 day
 * apart, per number or per number and agent"). No I/O: the shell appends
 * the lines to STATE_DIR/contacts.csv and hands the bytes in at a start.
 *
 * A contact is counted from its intent (the moment the submit or retry
 * that makes it is recorded, before it is sent): a crash after the send
 * cannot lose it, and a request that never left counts all the same,
 * which errs on the side of calling less. Each contact carries the tag of
 * its attempt (the run's identity and "submit" or "retry N"): the same
 * attempt made again (a submit withdrawn and remade, a lookup after a
 * crash that finds nothing) is not a second call, and its own contacts do
 * not count against it.
 *
 * People are 64-bit keys: a number's digits and their count (as the
 * do-not-call lists', so a WhatsApp id made of a number's digits is that
 * number), any other WhatsApp id hashed with the top bit set. A contact
 * takes 24 bytes in memory; the entries are a sorted array and a sorted
 * tail merged into it every LEDGER_TAIL additions, so a verdict is two
 * bisections.
 */
#ifndef BC_LEDGER_H
#define BC_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define LEDGER_TAIL 4096
/* The longest target or agent a ledger line holds (as read back; the
 * daemon writes only what its configuration accepts, far less). */
#define LEDGER_FIELD_MAX 4096

/* The limits of `contact_limits`; max_calls 0 means no count limit,
 * min_gap_s 0 no spacing. */
struct contact_limits {
	int max_calls;      /* at most this many calls ... */
	int64_t window_s;   /* ... in any window of this many seconds */
	int64_t min_gap_s;  /* and at least this far apart */
	bool per_agent;     /* counted per number and agent, not per number */
	bool defer;         /* over_limit = "defer": those over the limits go to
			     * a deferred follow-up (else they are dropped) */
};

struct contact {
	uint64_t key;   /* the person (ledger_key) */
	uint64_t tag;   /* the attempt (ledger_tag) */
	uint32_t at;    /* unix seconds of the intent */
	uint32_t agent; /* index into ledger.agents */
};

struct ledger {
	struct contact *v;  /* sorted by key (a person's contacts in no order: they are scanned whole) */
	size_t n, cap;
	struct contact *t;  /* the tail, sorted by key too, at most LEDGER_TAIL */
	size_t nt, cap_t;
	char **agents;      /* interned agent ids */
	size_t n_agents;
};

enum ledger_verdict { LEDGER_ALLOWED, LEDGER_OVER };

/* The key of a run's recipient key (an E.164 number, else a WhatsApp
 * id). */
uint64_t ledger_key(const char *target);
/* The tag of one attempt: run (its identity in the state: job, instant,
 * part) and attempt (0: the submit; N: retry N). */
uint64_t ledger_tag(const char *run, int attempt);
/* The index of agent in l->agents, added when new. */
uint32_t ledger_agent(struct ledger *l, const char *agent);

/* The index of agent in l->agents, or UINT32_MAX when l has none of its
 * contacts. */
uint32_t ledger_agent_find(const struct ledger *l, const char *agent);
/* Record a contact; the same key and tag again is the same contact, at
 * the later of the two instants. True when it was new or moved later;
 * *ret_was (optional) gets the instant it had before (-1: new). */
bool ledger_add(struct ledger *l, uint64_t key, uint32_t agent, int64_t at, uint64_t tag, int64_t *ret_was);
/* How many contacts l holds. */
size_t ledger_size(const struct ledger *l);
/* Forget every contact at or before `before` (unix seconds): none of
 * them can count in a window again. Returns how many were dropped. */
size_t ledger_expire(struct ledger *l, int64_t before);
/* The longest span a contact may count for under lim (seconds). */
int64_t ledger_horizon(const struct contact_limits *lim);

/* The verdict on a call to key by agent at now, as attempt tag (whose own
 * contacts do not count): LEDGER_OVER when it would be one call too many
 * in a window or too close to the last; then *ret_allowed (optional) is
 * the first instant from which it would be allowed, if nothing else is
 * recorded meanwhile. */
enum ledger_verdict ledger_check(const struct ledger *l, const struct contact_limits *lim, uint64_t key,
				 uint32_t agent, int64_t now, uint64_t tag, int64_t *ret_allowed);

/* One line of the ledger's file: "AT,TARGET,AGENT,TAG\n" (TAG 16 hex
 * digits; an agent's ',', '"', '%' and control bytes as %XX). Returns its
 * length (it is cut short at size). */
size_t ledger_format(char *buf, size_t size, int64_t at, const char *target, const char *agent, uint64_t tag);
/* Add the lines of a ledger file (file names it in messages) to l. A
 * contact in several lines counts once, at its latest instant. A
 * malformed line is an error "FILE:LINE: message" in d (the rest are
 * read); a last line without its newline (a write cut short by a crash)
 * is skipped and its offset left in *ret_torn (else len). 0, or -EINVAL
 * when d got an error. */
int ledger_parse(struct ledger *l, const char *file, const char *buf, size_t len, struct diag *d, size_t *ret_torn);

void ledger_clear(struct ledger *l);

#endif
