/* entropy.h - 64 unpredictable bits from the CPU: RDSEED, else RDRAND,
 * where CPUID offers them, else the jitter of the TSC. For seeds and keys
 * drawn now and then (the stack canary, a TCP ISN key), not for bulk use. */
#ifndef KERNEL_ENTROPY_H
#define KERNEL_ENTROPY_H

#include <stdint.h>

/* Any core, any time after boot.S; never fails (the TSC is always there). */
uint64_t entropy_u64(void);
/* The best source this CPU offers, the one entropy_u64 tries first:
 * "rdseed", "rdrand" or "tsc-jitter". */
const char *entropy_source(void);

#endif
