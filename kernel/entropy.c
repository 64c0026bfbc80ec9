/* entropy.c - 64 unpredictable bits (entropy.h). RDSEED (an entropy
 * source, for seeding) is preferred to RDRAND (a generator reseeded from
 * it); Intel's "Digital Random Number Generator Software Implementation
 * Guide" (section 5.2.1) retries RDRAND 10 times before calling it
 * broken, RDSEED may be empty for longer under load. Without either (QEMU's
 * default CPU models under TCG offer neither), the TSC's jitter: the
 * cycles CPUID and a few cache lines take vary with the host, the
 * emulator or the hypervisor underneath, and each sample's low bits
 * are folded into the value through a multiply-xorshift mixer. */
#include "entropy.h"

#include "x86.h"

#define CPUID_1_ECX_RDRAND      (1u << 30)      /* CPUID.01H:ECX */
#define CPUID_7_EBX_RDSEED      (1u << 18)      /* CPUID.(EAX=07H,ECX=0):EBX */
#define RDRAND_TRIES            10
#define RDSEED_TRIES            100
#define JITTER_SAMPLES          256
#define JITTER_LINES            64              /* cache lines touched per sample */

static int cpu_has(uint32_t leaf, int reg, uint32_t bit)
{
	uint32_t r[4];
	cpuid(0, 0, &r[0], &r[1], &r[2], &r[3]);
	if (r[0] < leaf)
		return 0;
	cpuid(leaf, 0, &r[0], &r[1], &r[2], &r[3]);
	return (r[reg] & bit) != 0;
}

/* splitmix64's finalizer: every input bit moves about half the output. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t jitter_u64(void)
{
	static volatile uint8_t lines[JITTER_LINES * 64];
	uint64_t h = mix(rdtsc());
	for (int i = 0; i < JITTER_SAMPLES; i++) {
		uint32_t a, b, c, d;
		uint64_t t0 = rdtsc();
		cpuid(0, 0, &a, &b, &c, &d);
		for (int k = 0; k < JITTER_LINES; k++)
			lines[(k * 64 + (h >> 8)) % sizeof(lines)] += (uint8_t)h;
		uint64_t dt = rdtsc() - t0;
		h = mix(h ^ dt ^ ((uint64_t)i << 56));
	}
	return h;
}

uint64_t entropy_u64(void)
{
	uint64_t v;
	if (cpu_has(7, 1, CPUID_7_EBX_RDSEED))
		for (int i = 0; i < RDSEED_TRIES; i++) {
			if (rdseed64(&v))
				return v;
			pause();
		}
	if (cpu_has(1, 2, CPUID_1_ECX_RDRAND))
		for (int i = 0; i < RDRAND_TRIES; i++)
			if (rdrand64(&v))
				return v;
	return jitter_u64();
}
