/* sys_arch.c - what lwIP asks of the platform with NO_SYS=1 (lwIP 2.1
 * doc/sys_arch.txt): the millisecond clock sys_now(), from the TSC
 * (kernel/time.h), and LWIP_RAND (arch/cc.h). */
#include "lwip/opt.h"

#include "../kernel/entropy.h"
#include "../kernel/time.h"
#include "lwip/sys.h"

u32_t sys_now(void)
{
	return (u32_t)(time_ns() / 1000000);
}

/* DHCP transaction ids and the like: unpredictable from outside, not
 * secret (the ISN key is tcp_isn.c's). xorshift64*, seeded at first use. */
uint32_t lwip_port_rand(void)
{
	static uint64_t state;
	while (!state)
		state = entropy_u64();
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return (uint32_t)((state * 0x2545f4914f6cdd1dULL) >> 32);
}
