/* testhooks.h - what exists only for the test suite and the benchmarks,
 * in one place: nothing here runs unless a test_*, panic_test= or
 * bench_floor= option asked for it (config.h, struct test_config). */
#ifndef APPLIANCE_TESTHOOKS_H
#define APPLIANCE_TESTHOOKS_H

#include "config.h"
#include "jobs/jobs.h"

/* panic_test=: raise that fault now, to see the panic report. */
void testhooks_fault(const struct test_config *t);
/* bench_floor=: bring up nothing more and halt for good (QEMU's own idle
 * cost); 2 also drives the NIC with its RX ring filled. Returns when the
 * option is absent. */
void testhooks_bench_floor(const struct test_config *t);
/* test_speed=1: count the primes below 20000 on the BSP and print how long
 * it took (tools/accel.sh tells a usable KVM from a pathologically slow one). */
void testhooks_speed(const struct test_config *t);
/* test_udp_echo=PORT: echo datagrams on PORT (network up). */
void testhooks_udp_echo(const struct test_config *t);
/* test_log_jobs=1: every finished job on the console with each core's
 * tasks_done (an observer of the job engine). */
void testhooks_job_logger(const struct test_config *t);

#endif
