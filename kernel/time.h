/* time.h - time from the TSC, calibrated once at boot. No tick exists. */
#ifndef KERNEL_TIME_H
#define KERNEL_TIME_H

#include <stdint.h>

extern uint64_t tsc_hz;

void time_init(void);           /* silences PIT and PICs, calibrates the TSC */
uint64_t time_ns(void);         /* since boot */
uint64_t time_us(void);
uint64_t tsc_to_ns(uint64_t cycles);
void time_delay_us(uint64_t us);
/* x * num / den without overflow while num * den < 2^64. */
uint64_t time_scale(uint64_t x, uint64_t num, uint64_t den);

#endif
