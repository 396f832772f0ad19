/*
 * ctl_online: batchcallctl's online commands (status, show, cancel, retry,
 * trigger, pause, resume), which ask the daemon through its control
 * socket. The socket's path comes from the daemon configuration named by
 * -c.
 */
#ifndef BC_CTL_ONLINE_H
#define BC_CTL_ONLINE_H

/* Exit codes (SPEC §7). */
#define CTL_EXIT_OK 0
#define CTL_EXIT_REFUSED 1
#define CTL_EXIT_USAGE 2
#define CTL_EXIT_UNREACHABLE 3

/* The usage lines of the online commands, for batchcallctl's usage text. */
#define CTL_ONLINE_USAGE \
	"       batchcallctl [-c FILE] status [--json]\n" \
	"       batchcallctl [-c FILE] show JOB [--json]\n" \
	"       batchcallctl [-c FILE] cancel|retry|trigger|pause|resume JOB\n" \
	"       batchcallctl [-c FILE] results JOB [--run START] [--json]\n" \
	"       batchcallctl [-c FILE] suppress NUMBER [--reason TEXT]\n" \
	"       batchcallctl [-c FILE] cluster [--json]\n"

/* Run the online command argv[0] with its arguments; returns the exit
 * code. */
int ctl_online(const char *config_path, int argc, char **argv);

#endif
