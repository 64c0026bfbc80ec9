/* spec.c - the limits of API.md section 1, checked in one place for both
 * endpoints. Pure. */
#include "jobs.h"

enum job_spec_err job_spec_check(const struct job_spec *s)
{
	if (s->limit > JOBS_LIMIT_MAX)
		return JOB_SPEC_LIMIT_RANGE;
	if (s->tasks == 0)
		return JOB_SPEC_TASKS_ZERO;
	if (s->tasks > JOBS_TASKS_MAX)
		return JOB_SPEC_TASKS_RANGE;
	if (s->mode != JOB_REPEAT && s->mode != JOB_SPLIT)
		return JOB_SPEC_MODE;
	return JOB_SPEC_OK;
}
