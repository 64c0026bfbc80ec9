/* smp.h - bringing up the application processors. */
#ifndef SMP_SMP_H
#define SMP_SMP_H

#include <stdbool.h>

/* Test only (0: none): core dead_ap never gets its SIPI; core late_ap gets
 * it only after its timeout, when its stack was withdrawn. */
struct smp_test {
	int dead_ap;
	int late_ap;
};

/* INIT-SIPI-SIPI every AP of cpus[] at once, each finding its own stack
 * by APIC ID; waits until all are up or SMP_AP_TIMEOUT_MS pass without
 * one more coming up (so missing cores cost one timeout in all). A core
 * that did not answer is parked and reported. Prints "cores online: N". */
void smp_start_aps(const struct smp_test *t);

struct smp_stats {
	int discovered;         /* cores in the MADT that the kernel took */
	int online;             /* cores that started */
	int parked;             /* cores that did not answer in time, parked */
};
void smp_stats(struct smp_stats *s);
/* One small task per online core; passes when every core ran one. */
bool smp_selftest(void);

#define SMP_AP_TIMEOUT_MS 2000

#endif
