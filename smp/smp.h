/* smp.h - bringing up the application processors. */
#ifndef SMP_SMP_H
#define SMP_SMP_H

#include <stdbool.h>

/* INIT-SIPI-SIPI every AP of cpus[] in turn; an AP that does not answer
 * within SMP_AP_TIMEOUT_MS is reported and skipped. Prints "cores
 * online: N". dead_ap (test only, 0 for none): that core never gets its
 * SIPI, so the timeout path runs. */
void smp_start_aps(int dead_ap);
/* One small task per online core; passes when every core ran one. */
bool smp_selftest(void);

#define SMP_AP_TIMEOUT_MS 2000

#endif
