/* test_primes.c - the workload against the spec's reference values and a
 * sieve written here, and the split into equal-work ranges. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../appliance/jobs/primes.h"
#include "check.h"

static uint64_t sieve_count(uint64_t limit)
{
	if (limit < 3)
		return 0;
	char *composite = calloc(limit, 1);
	uint64_t n = 0;
	for (uint64_t i = 2; i < limit; i++) {
		if (composite[i])
			continue;
		n++;
		for (uint64_t j = i * i; j < limit; j += i)
			composite[j] = 1;
	}
	free(composite);
	return n;
}

/* Trial divisions the plain loop does for n (each candidate counts one). */
static uint64_t divisions(uint64_t n)
{
	uint64_t w = 1;
	if (n > 2 && n % 2)
		for (uint64_t d = 3; d * d <= n; d += 2) {
			w++;
			if (n % d == 0)
				break;
		}
	return w;
}

int main(void)
{
	/* API.md section 1 reference values. */
	CHECK(count_primes_below(0) == 0);
	CHECK(count_primes_below(1) == 0);
	CHECK(count_primes_below(2) == 0);
	CHECK(count_primes_below(3) == 1);
	CHECK(count_primes_below(10) == 4);
	CHECK(count_primes_below(100) == 25);
	CHECK(count_primes_below(100000) == 9592);
	CHECK(count_primes_below(1000000) == 78498);
	for (uint64_t l = 0; l < 2000; l++)
		CHECK(count_primes_below(l) == sieve_count(l));

	/* Ranges add up, whatever the cut. */
	CHECK(count_primes_range(0, 50000) + count_primes_range(50000, 100000) == 9592);
	CHECK(count_primes_range(7, 7) == 0 && count_primes_range(7, 8) == 1);

	/* Chunks: at least one candidate; never more than PRIMES_CHUNK_MAX
	 * divisions even if every candidate were prime, unless one candidate
	 * alone costs more. */
	uint64_t chunk_limits[] = { 0, 2, 100, 1000000, 1000000000, 1ULL << 32, 1ULL << 36, 1ULL << 40 };
	for (unsigned i = 0; i < sizeof(chunk_limits) / sizeof(chunk_limits[0]); i++) {
		uint64_t l = chunk_limits[i], len = primes_chunk_len(l);
		uint64_t r = 0;
		while ((r + 1) * (r + 1) <= l)
			r++;
		CHECK(len >= 1);
		CHECK(len == 1 || len * (r / 2 + 2) <= PRIMES_CHUNK_MAX);
	}
	CHECK(primes_chunk_len(1ULL << 40) == 1);      /* one candidate: up to 5.2e5 divisions */
	/* On average a chunk near its top costs about PRIMES_CHUNK_WORK:
	 * measured over real candidates (the cost model's error is what
	 * this bounds), from 10^5 to 10^12; and the costliest of 400 chunks
	 * near 10^9 stays within PRIMES_CHUNK_MAX. */
	uint64_t tops[] = { 100000, 1000000, 10000000, 100000000, 1000000000, 100000000000ULL,
			    1000000000000ULL };
	for (unsigned i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
		uint64_t top = tops[i], len = primes_chunk_len(top), work = 0, worst = 0;
		int chunks = top > 1000000000 ? 40 : 400;
		if ((uint64_t)chunks > top / len / 2)
			chunks = (int)(top / len / 2);          /* the upper half only */
		for (int k = 1; k <= chunks; k++) {
			uint64_t w = 0;
			for (uint64_t n = top - k * len; n < top - (k - 1) * len; n++)
				w += divisions(n);
			work += w;
			worst = w > worst ? w : worst;
		}
		double mean = (double)work / chunks / PRIMES_CHUNK_WORK;
		uint64_t r = 0;
		while ((r + 1) * (r + 1) <= top)
			r++;
		int capped = len == PRIMES_CHUNK_MAX / (r / 2 + 2);     /* the hard bound decided */
		printf("  chunk below %llu: %lu candidates, mean %.2f x PRIMES_CHUNK_WORK, "
		       "costliest %.2f\n", (unsigned long long)top, (unsigned long)len, mean,
		       (double)worst / PRIMES_CHUNK_WORK);
		CHECK(capped ? mean <= 1.3 : mean >= 0.7 && mean <= 1.3);
		CHECK(worst <= PRIMES_CHUNK_MAX);
	}

	/* The work estimate of max_job_s against real counts. */
	uint64_t wl[] = { 100000, 1000000, 3000000 };
	for (unsigned i = 0; i < sizeof(wl) / sizeof(wl[0]); i++) {
		uint64_t real = 0;
		for (uint64_t n = 0; n < wl[i]; n++)
			real += divisions(n);
		double ratio = (double)primes_work(wl[i]) / (double)real;
		printf("  work below %lu: %lu divisions, estimated %.3fx\n", (unsigned long)wl[i],
		       (unsigned long)real, ratio);
		CHECK(ratio > 0.85 && ratio < 1.15);
	}
	CHECK(primes_work(PRIMES_LIMIT_MAX) < 20000000000000000ULL);
	CHECK(primes_work(0) == 0 && primes_work(1000) < primes_work(1001));

	/* Split: covers [0, limit) exactly, in order, and balances work. */
	uint64_t b[1025];
	uint64_t limits[] = { 0, 1, 2, 3, 10, 100, 100000, 1000000, 1ULL << 40 };
	uint32_t tasks[] = { 1, 2, 3, 7, 16, 1024 };
	for (unsigned i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		for (unsigned k = 0; k < sizeof(tasks) / sizeof(tasks[0]); k++) {
			memset(b, 0xff, sizeof(b));
			primes_split(limits[i], tasks[k], b);
			CHECK(b[0] == 0 && b[tasks[k]] == limits[i]);
			for (uint32_t t = 0; t < tasks[k]; t++)
				CHECK(b[t] <= b[t + 1]);
			if (limits[i] <= 1000000) {
				uint64_t sum = 0;
				for (uint32_t t = 0; t < tasks[k]; t++)
					sum += count_primes_range(b[t], b[t + 1]);
				CHECK(sum == count_primes_below(limits[i]));
			}
		}
	/* Equal work, not equal ranges: the first of 4 ranges is the widest,
	 * and the work (counted as divisions) is within 25% of the mean. */
	primes_split(4000000, 4, b);
	CHECK(b[1] - b[0] > b[4] - b[3]);
	uint64_t work[4], mean = 0;
	for (int t = 0; t < 4; t++) {
		work[t] = 0;
		for (uint64_t n = b[t] | 1; n < b[t + 1]; n += 2)
			for (uint64_t d = 3; d * d <= n; d += 2) {
				work[t]++;
				if (n % d == 0)
					break;
			}
		mean += work[t] / 4;
	}
	for (int t = 0; t < 4; t++) {
		CHECK(work[t] > mean * 3 / 4 && work[t] < mean * 5 / 4);
		printf("  split 4000000/4: range %d [%lu, %lu) %lu divisions\n", t,
		       (unsigned long)b[t], (unsigned long)b[t + 1], (unsigned long)work[t]);
	}
	return CHECK_DONE("primes");
}
