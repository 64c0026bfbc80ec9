/* check.h - the unit tests' assertion macro: counts failures, reports
 * file:line, and the test's main returns non-zero if any failed. */
#ifndef TESTS_UNIT_CHECK_H
#define TESTS_UNIT_CHECK_H

#include <stdio.h>

static int check_failures;
static int check_count;

#define CHECK(cond) \
	do { \
		check_count++; \
		if (!(cond)) { \
			check_failures++; \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		} \
	} while (0)

#define CHECK_DONE(name) \
	(printf("%s: %d checks, %d failed\n", name, check_count, check_failures), \
	 check_failures ? 1 : 0)

#endif
