/*
 * resfiles: reading the campaign results files back (docs/results.md):
 * which file set below results_dir is an occurrence's, and its text or
 * its document. `batchcallctl results` reads them while the daemon is
 * down, and the daemon for an occurrence it no longer holds (an earlier
 * run, a job gone from the files), so that both answer alike: the same
 * document (core results_document), the same CSV, the same refusals.
 */
#ifndef BC_RESFILES_H
#define BC_RESFILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why there is nothing to show, as the daemon and batchcallctl say it
 * ("job 'NAME': ...", exit status 1): without a start, and with one. */
#define RESFILES_NONE "no run of this job has results yet"
#define RESFILES_NO_START "no run of this job has that start"

/* The folder of job's files below dir (caller frees). */
char *resfiles_folder(const char *dir, const char *job);

/* The file set of job's occurrence that starts at start (0: the newest)
 * below dir: 0 with *ret_name, its CSV file's name "JOB/STAMP_NAME.csv"
 * as results_file_name makes it (caller frees), and *ret_start; -ENOENT
 * when there is none; another negative errno when the folder cannot be
 * read. Of two names with one STAMP (the call_name changed between two
 * writes), the greater. */
int resfiles_find(const char *dir, const char *job, int64_t start, char **ret_name, int64_t *ret_start);

/* What `batchcallctl results` prints of that file set: the CSV file's
 * text, or with json the results document (results_document, no LF). 0 and
 * *ret (caller frees) with *ret_len; or a negative errno and *cause
 * (caller frees): RESFILES_NONE or RESFILES_NO_START for -ENOENT when no
 * file set is there, else the file that cannot be read and why. Only
 * regular files, named directly (no link, no FIFO); flags adds
 * FILE_READ_OWN for the daemon (files it wrote itself). */
int resfiles_load(const char *dir, const char *job, int64_t start, bool json, unsigned flags, char **ret,
		  size_t *ret_len, char **cause);

#endif
