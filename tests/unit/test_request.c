/* test_request.c - the UDP request parser against API.md section 2: every
 * malformed request gets its reason, every valid form its values. */
#include <stdint.h>
#include <string.h>

#include "../../appliance/udp_compute/request.h"
#include "check.h"

static const char *parse(const char *s, struct job_spec *r)
{
	return request_parse(s, strlen(s), r);
}

#define OK(s, l, t, sp) \
	do { \
		struct job_spec r; \
		const char *e = parse(s, &r); \
		CHECK(e == NULL); \
		if (e) \
			fprintf(stderr, "  \"%s\": %s\n", s, e); \
		else \
			CHECK(r.limit == (l) && r.tasks == (t) && r.mode == ((sp) ? JOB_SPLIT : JOB_REPEAT)); \
	} while (0)

#define BAD(s, reason) \
	do { \
		struct job_spec r; \
		const char *e = parse(s, &r); \
		CHECK(e && strcmp(e, reason) == 0); \
		if (!e || strcmp(e, reason)) \
			fprintf(stderr, "  \"%s\": got %s, want %s\n", s, e ? e : "ok", reason); \
	} while (0)

int main(void)
{
	OK("1000000 8", 1000000, 8, 0);
	OK("1000000 8\n", 1000000, 8, 0);
	OK("1000000 8\r\n", 1000000, 8, 0);
	OK("  \t10\t 3   split  \n", 10, 3, 1);
	OK("10", 10, 1, 0);
	OK("0", 0, 1, 0);
	OK("00042 0001 repeat", 42, 1, 0);
	OK("1099511627776 1024", 1099511627776ULL, 1024, 0);        /* 2^40 */
	OK("5 1 split", 5, 1, 1);

	BAD("", "empty request");
	BAD("\n", "empty request");
	BAD(" \t \r\n", "empty request");
	BAD("abc", "bad limit");
	BAD("-1", "bad limit");
	BAD("+1", "bad limit");
	BAD("0x10", "bad limit");
	BAD("1e6", "bad limit");
	BAD("1.5", "bad limit");
	BAD("12a 3", "bad limit");
	BAD("1099511627777", "limit too large");
	BAD("18446744073709551616", "limit too large");      /* 2^64 */
	BAD("99999999999999999999999999 1", "limit too large");
	BAD("99999999999999999999999999x 1", "bad limit");
	BAD("10 0", "bad tasks");
	BAD("10 -1", "bad tasks");
	BAD("10 x", "bad tasks");
	BAD("10 1025", "too many tasks");
	BAD("10 99999999999999999999999", "too many tasks");
	BAD("10 2 Split", "bad mode");
	BAD("10 2 REPEAT", "bad mode");
	BAD("10 2 splits", "bad mode");
	BAD("10 2 spli", "bad mode");
	BAD("10 2 split extra", "extra fields");
	BAD("10 2 split 4", "extra fields");
	BAD("10\n2", "bad limit");              /* newline only at the end */
	BAD("10 2\n\n", "bad tasks");
	BAD("10\r", "bad limit");

	/* NUL bytes are not blanks. */
	struct job_spec r;
	CHECK(request_parse("10\0 2", 5, &r) && !strcmp(request_parse("10\0 2", 5, &r), "bad limit"));

	/* Length: exactly 512 is fine, 513 is refused. */
	char big[600];
	memset(big, ' ', sizeof(big));
	big[0] = '7';
	big[511] = '\n';
	CHECK(request_parse(big, 512, &r) == NULL && r.limit == 7);
	CHECK(request_parse(big, 513, &r) && !strcmp(request_parse(big, 513, &r), "request too long"));
	return CHECK_DONE("request");
}
