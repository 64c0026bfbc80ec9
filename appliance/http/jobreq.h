/* jobreq.h - the body of POST /api/jobs (API.md section 3):
 *   {"limit":N,"tasks":T,"mode":"repeat"|"split"}
 * limit required, tasks default 1, mode default repeat; an unknown or
 * repeated field, a non-integer, a sign, a fraction or an out-of-range
 * value is an error, and so is anything that is not exactly one JSON
 * object: every byte between the tokens is checked. Parsed with jsmn.
 * Pure. */
#ifndef APPLIANCE_JOBREQ_H
#define APPLIANCE_JOBREQ_H

#include <stddef.h>

#include "../jobs/jobs.h"

/* NULL when valid, else the message for {"error": ...}. */
const char *jobreq_parse(const char *body, size_t len, struct job_spec *out);

#endif
