/* siphash.h - SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF", 2012): a keyed 64-bit hash of a short message, for
 * values an outsider must not be able to predict (the TCP initial
 * sequence numbers of tcp_isn.c). Pure: also built into the host unit
 * tests. */
#ifndef LWIP_PORT_SIPHASH_H
#define LWIP_PORT_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* The 128-bit key as the paper reads it: k0 is key bytes 0-7 and k1
 * bytes 8-15, each little-endian. */
struct siphash_key {
	uint64_t k0, k1;
};

uint64_t siphash24(const struct siphash_key *key, const void *msg, size_t len);

#endif
