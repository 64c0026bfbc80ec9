/* test_primes.c - the workload against the spec's reference values and a
 * sieve written here, and the split into equal-work ranges. */
#include <stdint.h>
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

static int stop_after_ten(void *arg)
{
	return ++*(int *)arg < 10;
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
	CHECK(count_primes_range(0, 50000, NULL, NULL) + count_primes_range(50000, 100000, NULL, NULL) == 9592);
	int calls = 0;
	CHECK(count_primes_range(0, 1000000, stop_after_ten, &calls) < 78498);   /* stops early */
	CHECK(calls == 10);

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
					sum += count_primes_range(b[t], b[t + 1], NULL, NULL);
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
