/* smp.h - bringing up the application processors, in steps: the product
 * takes them in order (smp_start_aps); a test image combines them
 * otherwise (a core never started, a core started after its timeout). */
#ifndef SMP_SMP_H
#define SMP_SMP_H

#include <stdbool.h>

/* Step 1, once: the real-mode trampoline, and for every AP of cpus[] a
 * stack behind a guard page, published in a slot by APIC ID (a core left
 * without one for want of memory is reported and never started). */
void smp_prepare(void);
/* Step 2: INIT-SIPI-SIPI the cores first..end-1 that have a stack and are
 * not online, all at once (SDM 8.4.4.1); does not wait for them. A core
 * whose stack was withdrawn (step 4) is sent its SIPI too: it finds no
 * stack and parks itself in the trampoline (smp_trampoline_parked). */
void smp_start(int first, int end);
/* Step 3: until every core sent a SIPI is online, or SMP_AP_TIMEOUT_MS
 * pass without one more coming up (missing cores cost one timeout in all). */
void smp_wait_online(void);
/* Step 4: withdraws the stack of every core that has one and is not
 * online (one that claimed it meanwhile gets the time to come up), INITs
 * it so it waits for a SIPI that never comes, and reports it parked. */
void smp_withdraw_missing(void);
/* Step 5: the "smp: ..." summary and "cores online: N". */
void smp_report(void);

/* The boot's composition: steps 1 to 5 for every AP. */
void smp_start_aps(void);

/* APs that ran the trampoline, found no stack and halted there. */
unsigned smp_trampoline_parked(void);

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
