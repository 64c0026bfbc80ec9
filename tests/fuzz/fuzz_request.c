/* fuzz_request.c - the UDP compute request (API.md section 2) as it comes
 * off the wire: request_parse over arbitrary datagrams.
 *
 * Invariants: a reason is one of the documented ones; anything over
 * REQUEST_MAX_BYTES is "request too long"; an accepted request is a spec
 * job_spec_check accepts (limit <= 2^40, 1 <= tasks <= 1024, a mode),
 * made only of digits, blanks, the mode words and the final newline, and
 * its canonical form "<limit> <tasks> <mode>" parses back to the same. */
#include <inttypes.h>
#include <string.h>

#include "../../appliance/udp_compute/request.h"
#include "fuzz.h"

static const char *const reasons[] = {
	"request too long", "empty request", "extra fields", "bad limit",
	"limit too large", "bad tasks", "too many tasks", "bad mode",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct job_spec spec;
	const char *err = request_parse(buf, size, &spec);

	if (err) {
		size_t i = 0;
		while (i < sizeof(reasons) / sizeof(reasons[0]) && strcmp(err, reasons[i]))
			i++;
		FUZZ_CHECK(i < sizeof(reasons) / sizeof(reasons[0]), "unknown reason \"%s\"", err);
		FUZZ_CHECK((size > REQUEST_MAX_BYTES) == !strcmp(err, "request too long"),
			   "%zu bytes: \"%s\"", size, err);
		return 0;
	}

	FUZZ_CHECK(size <= REQUEST_MAX_BYTES, "accepted %zu bytes", size);
	FUZZ_CHECK(job_spec_check(&spec) == JOB_SPEC_OK,
		   "accepted limit %" PRIu64 " tasks %" PRIu32 " mode %d", spec.limit, spec.tasks,
		   (int)spec.mode);
	FUZZ_CHECK(spec.limit <= (1ULL << 40) && spec.tasks >= 1 && spec.tasks <= 1024 &&
		   (spec.mode == JOB_REPEAT || spec.mode == JOB_SPLIT),
		   "accepted limit %" PRIu64 " tasks %" PRIu32, spec.limit, spec.tasks);
	for (size_t i = 0; i < size; i++)
		FUZZ_CHECK(buf[i] && strchr("0123456789 \t\r\nrepeatsplit", buf[i]),
			   "accepted byte 0x%02x at %zu", (unsigned char)buf[i], i);

	/* The canonical form means the same thing. */
	char canon[64];
	int n = snprintf(canon, sizeof(canon), "%" PRIu64 " %" PRIu32 " %s\n", spec.limit,
			 spec.tasks, spec.mode == JOB_SPLIT ? "split" : "repeat");
	struct job_spec again;
	FUZZ_CHECK(request_parse(canon, (size_t)n, &again) == NULL && again.limit == spec.limit &&
		   again.tasks == spec.tasks && again.mode == spec.mode,
		   "canonical form \"%s\" does not round-trip", canon);
	return 0;
}
