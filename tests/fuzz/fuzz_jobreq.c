/* fuzz_jobreq.c - POST /api/jobs bodies (API.md section 3): jobreq_parse
 * over arbitrary bytes (jsmn underneath).
 *
 * Invariants: an accepted body is a spec job_spec_check accepts, so
 * limit <= 2^40, 1 <= tasks <= 1024, mode repeat or split; it starts with
 * '{' and ends with '}' (white space aside); and its canonical form
 * {"limit":L,"tasks":T,"mode":"M"} parses back to the same spec. A
 * refused body gets a non-empty message. */
#include <inttypes.h>
#include <string.h>

#include "../../appliance/http/jobreq.h"
#include "fuzz.h"

static int ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct job_spec spec;
	const char *err = jobreq_parse(body, size, &spec);
	if (err) {
		FUZZ_CHECK(err[0] != '\0', "empty message");
		return 0;
	}

	FUZZ_CHECK(job_spec_check(&spec) == JOB_SPEC_OK,
		   "accepted limit %" PRIu64 " tasks %" PRIu32 " mode %d", spec.limit, spec.tasks,
		   (int)spec.mode);
	FUZZ_CHECK(spec.limit <= (1ULL << 40), "limit %" PRIu64, spec.limit);
	FUZZ_CHECK(spec.tasks >= 1 && spec.tasks <= 1024, "tasks %" PRIu32, spec.tasks);
	FUZZ_CHECK(spec.mode == JOB_REPEAT || spec.mode == JOB_SPLIT, "mode %d", (int)spec.mode);
	size_t a = 0, b = size;
	while (a < b && ws(body[a]))
		a++;
	while (b > a && ws(body[b - 1]))
		b--;
	FUZZ_CHECK(b - a >= 2 && body[a] == '{' && body[b - 1] == '}',
		   "accepted a body that is not one object");

	char canon[96];
	int n = snprintf(canon, sizeof(canon), "{\"limit\":%" PRIu64 ",\"tasks\":%" PRIu32
			 ",\"mode\":\"%s\"}", spec.limit, spec.tasks,
			 spec.mode == JOB_SPLIT ? "split" : "repeat");
	struct job_spec again;
	FUZZ_CHECK(jobreq_parse(canon, (size_t)n, &again) == NULL && again.limit == spec.limit &&
		   again.tasks == spec.tasks && again.mode == spec.mode,
		   "canonical form %s does not round-trip", canon);
	return 0;
}
