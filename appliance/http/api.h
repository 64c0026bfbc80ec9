/* api.h - the control plane: the routes of API.md section 3 on top of the
 * HTTP connection layer (http.c), and the bearer-token policy of section
 * 4. Calls http.c, never the other way round. BSP only. */
#ifndef APPLIANCE_API_H
#define APPLIANCE_API_H

#include <stdint.h>

#include "../jobs/jobs.h"
#include "status.h"

#define API_TOKEN_MAX 256       /* longest token= accepted at boot */

struct api_config {
	uint16_t port;
	const char *token;              /* POST and DELETE need it; NULL: open */
	/* Where /api/status, /metrics and the status events read their
	 * figures: the owners' stats calls (status.h). */
	struct status_sources status;
};

void api_init(const struct api_config *cfg);
/* A job changed state: pushed to the event streams (a jobs_observer). */
void api_job_changed(const struct job_info *info);
/* Once per pass of the BSP loop, after the finished jobs are delivered:
 * the event streams look for changes there. */
void api_poll(void);

#endif
