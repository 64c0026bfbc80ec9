/* entropy.h - unpredictable bits for secrets drawn at boot (the TCP
 * initial sequence number key). */
#ifndef KERNEL_ENTROPY_H
#define KERNEL_ENTROPY_H

#include <stdint.h>

/* 64 bits from RDSEED where the CPU has it, else RDRAND, else the jitter
 * of the TSC around instructions whose timing varies. Any core; slow
 * (microseconds to a millisecond): for keys, not for a packet path. */
uint64_t entropy_u64(void);

#endif
