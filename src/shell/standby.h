/*
 * standby: what a cluster's standby serves on its control socket until it
 * leads (control_new_src). The runs are read from etcd when asked (at most
 * once a second), so `batchcallctl status` and `show` on a standby show the
 * leader's runs, read-only (a job's next run, which the leader holds in
 * memory until its intent, planned here as the leader plans it); every
 * operation is refused with the leader's name, and the results are the
 * leader's to give.
 */
#ifndef BC_STANDBY_H
#define BC_STANDBY_H

#include "control.h"

struct cluster;
struct standby;

/* A standby view of cluster cl with configuration conf (the caller's,
 * standby_set_conf replaces it). */
struct standby *standby_new(struct cluster *cl, const struct daemonconf *conf);
void standby_set_conf(struct standby *sb, const struct daemonconf *conf);
/* Its control source. */
void standby_source(struct standby *sb, struct control_source *ret);
void standby_free(struct standby *sb);

#endif
