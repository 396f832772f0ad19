/*
 * cfg: loads batchcalld.conf and every job file (the *.conf of jobs_dir) with
 * libconfig, applies the defaults, reads recipients CSV files, and validates
 * everything into a daemonconf. Every problem is reported as "FILE:LINE:
 * message" (CSV: "FILE:ROW: message"); all of them, not only the first.
 */
#ifndef BC_CFG_H
#define BC_CFG_H

#include "jobspec.h"
#include "util.h"

#define CFG_DEFAULT_PATH SYSCONFDIR "/batchcalld/batchcalld.conf"
/* control_socket when the daemon file does not set it (batchcallctl's
 * online commands look for the daemon there too). */
#define CFG_DEFAULT_CONTROL_SOCKET "/run/batchcalld/control.sock"

/* Load the daemon configuration at path and every job file it names.
 * 0 and *ret on success; -EINVAL with every error in d otherwise. Warnings
 * that do not stop the load are not errors and are not added to d. */
int cfg_load(const char *path, struct daemonconf **ret, struct diag *d);

/* The do-not-call lists of a load (a set and the files it was read from,
 * taken by the caller). */
struct cfg_lists {
	struct suppress_set *set;
	char **files;
	size_t n_files;
};
/* cfg_load; and when the load fails but its key `suppression` was read
 * and each of its lists loaded without an error, *ret_lists (when not
 * NULL) gets them: a reload refused for a job file's mistake still takes
 * a number added to a list (the lists stand apart from the jobs, and
 * each of them is whole). Left zeroed otherwise. */
int cfg_load_ex(const char *path, struct daemonconf **ret, struct diag *d, struct cfg_lists *ret_lists);

/* control_socket of the daemon configuration at path (its @includes
 * too, never a job file: an operator must reach the daemon while a job
 * file is broken), checked and resolved as cfg_load does. 0 and *ret (the
 * caller frees); -EINVAL with the errors in d. */
int cfg_control_socket(const char *path, char **ret, struct diag *d);

/* results_dir of the daemon configuration at path (default: state_dir's
 * results folder), resolved as cfg_load does; for batchcallctl results
 * while the daemon is down. 0 and *ret (the caller frees); -EINVAL with
 * the errors in d. */
int cfg_results_dir(const char *path, char **ret, struct diag *d);

/* Read a recipients CSV again (a recurring job reads it for each run):
 * 0 and the recipients, or -EINVAL with every problem in d. */
int cfg_read_csv(struct daemonconf *c, const char *path, struct recipient **ret, size_t *ret_n, struct diag *d);

#endif
