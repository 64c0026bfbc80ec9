/* primes.h - the workload of API.md section 1, the paper's CPU-bound task.
 * One source file (primes.c) is compiled into the image, the host client's
 * self-check and every benchmark baseline. Pure C, no state, no caching. */
#ifndef APPLIANCE_PRIMES_H
#define APPLIANCE_PRIMES_H

#include <stdint.h>

#define PRIMES_LIMIT_MAX (1ULL << 40)

/* How many primes p satisfy 2 <= p < limit, by plain trial division. */
uint64_t count_primes_below(uint64_t limit);

/* Primes p with lo <= p < hi, same method. When keep_going is not NULL it
 * is called with arg after every PRIMES_CHECK_WORK trial divisions (each
 * candidate counts as one), so about every 20 us of work natively at any
 * limit, even inside one large candidate; once it returns 0 the count
 * stops early and the partial result is meaningless. */
uint64_t count_primes_range(uint64_t lo, uint64_t hi, int (*keep_going)(void *arg), void *arg);
#define PRIMES_CHECK_WORK 1024

/* Split mode: bounds[0..tasks] with bounds[0] = 0, bounds[tasks] = limit,
 * non-decreasing, chosen so that each [bounds[i], bounds[i+1]) costs about
 * the same trial-division work (cost up to x grows like x^1.5 / ln x). */
void primes_split(uint64_t limit, uint32_t tasks, uint64_t *bounds);

#endif
