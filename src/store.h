/*
 * store: crash-safe state on disk. One file per run under STATE_DIR/runs/,
 * written as temp file + fsync + rename + fsync of the folder, so that after
 * a crash or a power cut every file is either its old or its new version.
 * A lock file refuses a second daemon on the same state folder.
 *
 * Runs written together (a burst coming due in the same instant) go into
 * one journal file runs/journal-N.jsonl (one record a line, written the
 * same crash-safe way), so that a hundred intents cost one sync instead of
 * a hundred; the engine later writes each run's own file and clears the
 * journals. Every record carries a generation: on load the newest record
 * of each run wins, wherever it was.
 */
#ifndef BC_STORE_H
#define BC_STORE_H

#include "job.h"

struct store;

/* Open (creating if needed) the state folder and take its lock.
 * -EBUSY when another process holds it; *cause says why on failure. */
int store_open(const char *dir, struct store **ret, char **cause);
void store_close(struct store *s);

/* Called for each run file found: a run, or NULL with the damage described
 * in cause (file names the file). */
typedef void (*store_load_cb)(const char *file, struct run *r, const char *cause, void *arg);
struct store_load_info {
	size_t journals;     /* journal files found */
	bool journal_damaged; /* a journal line could not be read: some run's newest record is lost */
};

/* Read every run file and journal; cb gets the newest record of each run
 * (or its damage). 0, or a negative errno when the folder is unreadable. */
int store_load(struct store *s, store_load_cb cb, void *arg, struct store_load_info *info);

/* Write runs durably into one new journal file (one sync for all). */
int store_journal(struct store *s, const struct run *const *runs, size_t n);
/* Remove every journal written so far (their runs must have been written
 * to their own files since). */
int store_journal_clear(struct store *s);

/* Write a run durably. 0, or a negative errno (nothing was replaced). */
int store_put(struct store *s, const struct run *r);
/* Write several runs durably with one sync for all (group commit). 0, or a
 * negative errno: then any of them may still hold its old version. */
int store_put_many(struct store *s, const struct run *const *runs, size_t n);
/* Remove a run's file durably. */
int store_remove(struct store *s, const struct run *r);
/* The state folder. */
const char *store_dir(const struct store *s);

#endif
