/* tcp_isn.c - TCP initial sequence numbers per RFC 6528 section 3:
 *   ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
 * M a timer that ticks every 4 microseconds (from kernel/time.h), F
 * SipHash-2-4 (siphash.c) keyed with 128 bits drawn at boot. An off-path
 * attacker who does not know the key cannot guess the ISN of someone
 * else's connection, so cannot complete a spoofed handshake or put a RST
 * or data into it; the same 4-tuple still gets increasing ISNs as time
 * passes, as RFC 793 wants against old duplicates. lwIP's own ISN is a
 * counter (6510 plus TCP's ticks, which the tickless port barely moves).
 * Called by lwIP through LWIP_HOOK_TCP_ISN (lwip_hooks.h), BSP only. */
#include "tcp_isn.h"

#include <stdbool.h>
#include <string.h>

#include "../kernel/entropy.h"
#include "../kernel/time.h"
#include "lwip/def.h"
#include "lwip_hooks.h"
#include "siphash.h"

#define ISN_CLOCK_NS 4000       /* RFC 6528: M ticks every 4 us */

static struct siphash_key isn_key;
static bool isn_keyed;

void tcp_isn_init(void)
{
	isn_key.k0 = entropy_u64();
	isn_key.k1 = entropy_u64();
	isn_keyed = true;
}

u32_t tcp_isn(const ip_addr_t *local_ip, u16_t local_port, const ip_addr_t *remote_ip,
	      u16_t remote_port)
{
	LWIP_ASSERT("tcp_isn: key not drawn (tcp_isn_init)", isn_keyed);
	/* The 4-tuple as it is on the wire: addresses (kept in network order
	 * by lwIP) and ports big-endian. */
	u32_t la = ip4_addr_get_u32(ip_2_ip4(local_ip)), ra = ip4_addr_get_u32(ip_2_ip4(remote_ip));
	u16_t lp = lwip_htons(local_port), rp = lwip_htons(remote_port);
	u8_t msg[12];
	memcpy(msg, &la, 4);
	memcpy(msg + 4, &lp, 2);
	memcpy(msg + 6, &ra, 4);
	memcpy(msg + 10, &rp, 2);
	u32_t m = (u32_t)(time_ns() / ISN_CLOCK_NS);
	return m + (u32_t)siphash24(&isn_key, msg, sizeof(msg));
}
