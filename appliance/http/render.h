/* render.h - the JSON and Prometheus texts of API.md section 3, rendered
 * from plain snapshots (snapshot.h) and job objects. Pure: no hardware,
 * no allocation; the host unit tests parse what it writes. */
#ifndef APPLIANCE_RENDER_H
#define APPLIANCE_RENDER_H

#include "../jobs/jobs.h"
#include "outbuf.h"
#include "snapshot.h"

void render_status(struct outbuf *o, const struct status_snap *s);
void render_metrics(struct outbuf *o, const struct status_snap *s);
void render_job(struct outbuf *o, const struct job_info *j);

#endif
