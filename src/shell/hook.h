/*
 * hook: the post-call webhook receiver (webhook_listen); see hook.c.
 */
#ifndef BC_HOOK_H
#define BC_HOOK_H

struct control;
struct engine;
struct event_base;
struct hook;

/* Listen on addr ("HOST:PORT") for post-call webhooks signed with secret
 * (copied), served as a further server of control c (its connection cap,
 * lifetime and accept backoff). 0 and *ret, or a negative errno with
 * *cause (caller frees). */
int hook_new(struct event_base *base, struct engine *e, struct control *c, const char *addr, const char *secret,
	     struct hook **ret, char **cause);
/* Stop listening and free (NULL accepted); before control_free. */
void hook_free(struct hook *h);

#endif
