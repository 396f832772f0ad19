/*
 * validate: turn a submit body into a struct sim_submit, or into the
 * FastAPI/pydantic v2 422 body the real server would send. Pure: bytes in,
 * structs or text out. Written on json-c independently of the daemon's codec
 * so that conformance tests compare two implementations, not one.
 */
#ifndef BC_SIM_VALIDATE_H
#define BC_SIM_VALIDATE_H

#include <stddef.h>

#include "sim_model.h"

/* Hard cap on recipients, as the API's schema (maxItems). */
#define SIM_MAX_RECIPIENTS 10000

struct sim_parsed;

/* Parse and validate body (len bytes, need not be NUL-terminated). On
 * success 0 and *ret (free with sim_parsed_free); on a validation failure
 * -EINVAL and *ret_detail, the whole 422 body (caller frees). */
int sim_validate_submit(const char *body, size_t len, struct sim_parsed **ret, char **ret_detail);
/* The submission inside a parsed body (valid while the parsed body lives). */
const struct sim_submit *sim_parsed_submit(const struct sim_parsed *p);
void sim_parsed_free(struct sim_parsed *p);

/* The 422 body for a query parameter that is not an integer, or out of
 * [min, max] (max < 0: no upper bound). NULL when value is fine (then
 * *ret_value holds it). */
char *sim_validate_query_int(const char *name, const char *value, long long min, long long max,
			     long long *ret_value);

/* The 422 body for a query parameter that is not one of allowed (n
 * strings): pydantic's "enum" item. NULL when value is one of them. */
char *sim_validate_query_enum(const char *name, const char *value, const char *const *allowed, size_t n);
/* Join the items of two 422 bodies into one (either may be NULL; both
 * are freed). */
char *sim_validate_join(char *a, char *b);

#endif
