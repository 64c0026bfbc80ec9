/* primes.c - count_primes_below exactly as API.md section 1 defines it:
 *   n = 2          -> prime
 *   n even, n > 2  -> not prime
 *   n odd          -> prime iff no odd d with 3 <= d and d*d <= n divides n
 * Unsigned 64-bit throughout; limit <= 2^40 keeps d*d far from overflow.
 * This file is the one workload source: the image, tools/primectl and the
 * benchmark baselines all compile it. */
#include "primes.h"

static int is_prime(uint64_t n)
{
	if (n < 2)
		return 0;
	if (n == 2)
		return 1;
	if (n % 2 == 0)
		return 0;
	for (uint64_t d = 3; d * d <= n; d += 2)
		if (n % d == 0)
			return 0;
	return 1;
}

uint64_t count_primes_range(uint64_t lo, uint64_t hi)
{
	uint64_t count = 0;
	for (uint64_t n = lo; n < hi; n++)
		count += (uint64_t)is_prime(n);
	return count;
}

uint64_t count_primes_below(uint64_t limit)
{
	return count_primes_range(0, limit);
}

static uint64_t isqrt(uint64_t x)
{
	uint64_t r = 0;
	for (uint64_t bit = 1ULL << 62; bit; bit >>= 2) {
		if (x >= r + bit) {
			x -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
	}
	return r;
}

/* log2(x) in 1/16 steps, from the bit length and the next four bits. */
static uint64_t log2_16(uint64_t x)
{
	if (x < 2)
		return 16;
	int bits = 63 - __builtin_clzll(x);
	uint64_t frac = bits >= 4 ? (x >> (bits - 4)) & 15 : (x << (4 - bits)) & 15;
	return (uint64_t)bits * 16 + frac;
}

/* Work of testing every candidate below x, up to a constant factor:
 * primes dominate, each costs sqrt(n)/2 divisions, density 1/ln n. Kept
 * below 2^60 for x <= 2^40: x * sqrt(x) / 2^4. */
static uint64_t cost(uint64_t x)
{
	return (x >> 4) * isqrt(x) / log2_16(x) * 16;
}

uint64_t primes_work(uint64_t limit)
{
	/* About the integral of avg_work: 0.87 sqrt(x) / log2 x per candidate
	 * integrates to about 0.6 x^1.5 / log2 x, 9.9 cost(x) as fitted to
	 * real counts from 10^5 to 10^7 (a few % less further up), plus
	 * about 4 a candidate for the evens and small factors. */
	return cost(limit) / 10 * 99 + 4 * limit;
}

void primes_split(uint64_t limit, uint32_t tasks, uint64_t *bounds)
{
	uint64_t total = cost(limit);
	bounds[0] = 0;
	for (uint32_t i = 1; i < tasks; i++) {
		uint64_t target = total / tasks * i + total % tasks * i / tasks;
		uint64_t lo = bounds[i - 1], hi = limit;
		while (lo < hi) {               /* smallest x with cost(x) >= target */
			uint64_t mid = lo + (hi - lo) / 2;
			if (cost(mid) < target)
				lo = mid + 1;
			else
				hi = mid;
		}
		bounds[i] = lo;
	}
	bounds[tasks] = limit;
}

/* Divisions a candidate near x costs on average (each candidate counts
 * one): the primes' share of cost(x)'s slope, sqrt(x) / (2 ln x), times
 * 1.2 for the odd composites with large factors, plus a few for the
 * rest. Within 10 % of a count of every candidate from 10^5 to 10^12
 * (tests/unit/test_primes.c). */
static uint64_t avg_work(uint64_t x)
{
	return isqrt(x) * 14 / log2_16(x) + 8;
}

/* Divisions of the costliest candidate below x: a prime, plus its own. */
static uint64_t worst_work(uint64_t x)
{
	return isqrt(x) / 2 + 2;
}

uint64_t primes_chunk_len(uint64_t top)
{
	uint64_t n = PRIMES_CHUNK_WORK / avg_work(top);
	uint64_t cap = PRIMES_CHUNK_MAX / worst_work(top);
	if (n > cap)
		n = cap;
	return n ? n : 1;
}
