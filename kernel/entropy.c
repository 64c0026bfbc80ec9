/* entropy.c - the CPU's random number instructions (Intel SDM vol. 1,
 * 7.3.17; Intel DRNG Software Implementation Guide, 5.2: retry RDRAND up
 * to ten times, RDSEED with a PAUSE in between), and the TSC's jitter
 * where the CPU has neither (QEMU's default qemu64 model). */
#include "entropy.h"

#include "x86.h"

#define CPUID_1_ECX_RDRAND      (1u << 30)
#define CPUID_7_EBX_RDSEED      (1u << 18)
#define RDRAND_TRIES            10
#define RDSEED_TRIES            100     /* RDSEED runs dry far sooner under load */
#define JITTER_ROUNDS           256

#define HAS_RDSEED              1u
#define HAS_RDRAND              2u
#define PROBED                  4u

/* HAS_* bits, probed once; two cores probing at once find the same. */
static unsigned features;

static unsigned probe(void)
{
	unsigned f = __atomic_load_n(&features, __ATOMIC_RELAXED);
	if (f & PROBED)
		return f;
	uint32_t max, a, b, c, d;
	cpuid(0, 0, &max, &b, &c, &d);
	f = PROBED;
	cpuid(1, 0, &a, &b, &c, &d);
	if (c & CPUID_1_ECX_RDRAND)
		f |= HAS_RDRAND;
	if (max >= 7) {
		cpuid(7, 0, &a, &b, &c, &d);
		if (b & CPUID_7_EBX_RDSEED)
			f |= HAS_RDSEED;
	}
	__atomic_store_n(&features, f, __ATOMIC_RELAXED);
	return f;
}

/* splitmix64's finaliser: every input bit affects every output bit. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* How long a little varying work takes, read many times: interrupts,
 * cache and TLB state, SMT siblings and (under emulation) the host's
 * scheduling make the low bits of each delta unpredictable. Weak next to
 * RDSEED, but it differs from boot to boot and from call to call. */
static uint64_t tsc_jitter(void)
{
	static volatile uint64_t scratch[64];
	uint64_t acc = rdtsc();
	for (int i = 0; i < JITTER_ROUNDS; i++) {
		uint64_t t0 = rdtsc();
		for (uint64_t k = 0; k < (acc & 7) + 1; k++)
			scratch[(acc >> (3 + k)) & 63] += t0;
		uint64_t dt = rdtsc() - t0;
		acc = mix(acc ^ (dt << 32 | (dt >> 32)) ^ (uint64_t)i);
	}
	return mix(acc ^ rdtsc());
}

/* A hardware value no working generator gives: 0, all ones (some
 * parts' RDRAND after a firmware bug, with CF set), or the last one again. */
static bool implausible(uint64_t v)
{
	static uint64_t last;
	bool bad = v == 0 || v == ~0ULL || v == last;
	last = v;
	return bad;
}

uint64_t entropy_u64(void)
{
	unsigned f = probe();
	uint64_t v;
	/* The hardware's value is mixed with TSC jitter, so a generator that
	 * lies in a way the check below misses still leaves the jitter. */
	if (f & HAS_RDSEED)
		for (int i = 0; i < RDSEED_TRIES; i++) {
			if (rdseed64(&v) && !implausible(v))
				return mix(v ^ tsc_jitter());
			pause();
		}
	/* Seeds ran dry (or none): the DRBG that RDSEED also feeds is next. */
	if (f & HAS_RDRAND)
		for (int i = 0; i < RDRAND_TRIES; i++)
			if (rdrand64(&v) && !implausible(v))
				return mix(v ^ tsc_jitter());
	return tsc_jitter();
}

const char *entropy_source(void)
{
	unsigned f = probe();
	return f & HAS_RDSEED ? "rdseed" : f & HAS_RDRAND ? "rdrand" : "tsc-jitter";
}
