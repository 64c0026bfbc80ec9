/* primes.h - the workload of API.md section 1, the paper's CPU-bound task.
 * One source file (primes.c) is compiled into the image, the host client's
 * self-check and every benchmark baseline. Pure C, no state, no caching. */
#ifndef APPLIANCE_PRIMES_H
#define APPLIANCE_PRIMES_H

#include <stdint.h>

#define PRIMES_LIMIT_MAX (1ULL << 40)

/* How many primes p satisfy 2 <= p < limit, by plain trial division. */
uint64_t count_primes_below(uint64_t limit);

/* Primes p with lo <= p < hi: the plain loop of section 1, nothing else
 * inside it (a chunk's cancel check is the caller's, between chunks). */
uint64_t count_primes_range(uint64_t lo, uint64_t hi);

/* A chunk's work, in trial divisions (each candidate counts one too):
 * about PRIMES_CHUNK_WORK on average (about a millisecond under TCG on
 * the development machine), never more than PRIMES_CHUNK_MAX or one
 * candidate's, whichever is more: near 2^40, where a candidate costs up to
 * 5.2 x 10^5, a chunk is one candidate. */
#define PRIMES_CHUNK_WORK (1ULL << 17)
#define PRIMES_CHUNK_MAX  (1ULL << 20)
/* Candidates per chunk for candidates below top: as many as cost
 * PRIMES_CHUNK_WORK on average near top (where they cost the most), cut
 * to as many as stay within PRIMES_CHUNK_MAX even if every one is prime,
 * and at least one. */
uint64_t primes_chunk_len(uint64_t top);

/* Trial divisions to count the primes below limit (each candidate
 * counts one too), estimated from the cost model: within about 15 % from
 * 10^5 up (tests/unit/test_primes.c). At most about 1.7 x 10^16. */
uint64_t primes_work(uint64_t limit);

/* Split mode: bounds[0..tasks] with bounds[0] = 0, bounds[tasks] = limit,
 * non-decreasing, chosen so that each [bounds[i], bounds[i+1]) costs about
 * the same trial-division work (cost up to x grows like x^1.5 / ln x). */
void primes_split(uint64_t limit, uint32_t tasks, uint64_t *bounds);

#endif
