/* count_primes.c - prints count_primes_below(LIMIT) from the one workload
 * source file, so that the benchmark knows every job's right answer. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "../appliance/jobs/primes.h"

int main(int argc, char **argv)
{
	char *end;
	if (argc != 2)
		return 2;
	uint64_t limit = strtoull(argv[1], &end, 10);
	if (*end || limit > PRIMES_LIMIT_MAX)
		return 2;
	printf("%" PRIu64 "\n", count_primes_below(limit));
	return 0;
}
