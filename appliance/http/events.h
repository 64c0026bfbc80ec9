/* events.h - GET /api/events (API.md section 3): Server-Sent Events
 * streams of `status` (the /api/status document, at once and then when
 * it changed, at most EVENTS_PER_S a second) and `job` (a job object at
 * each state change), with a `:` comment after EVENTS_QUIET_S seconds
 * without an event. While nothing changes nothing else is sent and no
 * timer runs but that comment's, so an open dashboard leaves an idle
 * appliance halted. BSP only. */
#ifndef APPLIANCE_EVENTS_H
#define APPLIANCE_EVENTS_H

#include "../jobs/jobs.h"
#include "http.h"

#define EVENTS_MAX_STREAMS 8    /* API.md: the 9th gets 503 */
#define EVENTS_PER_S       4
#define EVENTS_QUIET_S     15

/* A GET /api/events: turns the connection into a stream and sends the
 * first status event, or answers 503 when EVENTS_MAX_STREAMS are open. */
void events_open(struct http_conn_ref ref);
/* A job changed state (the job engine's on_change). */
void events_job(const struct job_info *info);
/* Once per pass of the BSP loop: sends a status event when the status
 * changed (or when work is under way, as the cores' busy time moves),
 * and arms the one timer the streams need. Cheap without streams. */
void events_poll(void);
/* Streams open now. */
int events_streams(void);

#endif
