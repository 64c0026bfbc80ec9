/* testhooks.h - what the test image (tests/image/main.c) does beyond the
 * product, each hook asked for by a test option (testconfig.h); the
 * product image links none of it. */
#ifndef TESTS_IMAGE_TESTHOOKS_H
#define TESTS_IMAGE_TESTHOOKS_H

#include "testconfig.h"

/* The APs started as smp_start_aps starts them, from the same steps, but
 * test_dead_ap= never sent its SIPI and test_late_ap= sent it only after
 * its timeout, when its stack was withdrawn: it must park itself. */
void testhooks_start_aps(const struct test_config *t);
/* panic_test=: raise that fault now, to see the panic report. */
void testhooks_fault(const struct test_config *t);
/* test_speed=PORT: a UDP port where "<limit>" is answered with the plain
 * loop's count and time on the BSP, with no chunks and no scheduler:
 * make bench's single-task throughput baseline, in the same VM as the
 * jobs it is compared with (network up). */
void testhooks_speed(const struct test_config *t);
/* test_udp_echo=PORT: echo datagrams on PORT (network up). */
void testhooks_udp_echo(const struct test_config *t);
/* test_log_jobs=1: every finished job on the console with each core's
 * tasks_done (an observer of the job engine). */
void testhooks_job_logger(const struct test_config *t);

#endif
