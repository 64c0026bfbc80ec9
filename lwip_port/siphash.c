/* siphash.c - SipHash-2-4, as the paper specifies it (section 2): the
 * state v0..v3 initialised from the key and four constants, each 8-byte
 * little-endian word m of the message mixed in by v3 ^= m, two SipRounds,
 * v0 ^= m; the last word holds the remaining bytes and the message length
 * (mod 256) in its top byte; then v2 ^= 0xff and four SipRounds, and the
 * result is v0 ^ v1 ^ v2 ^ v3. */
#include "siphash.h"

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

/* Bytes p[0..n-1] (n <= 8) as a little-endian word, whatever the host's
 * byte order and p's alignment. */
static uint64_t load_le(const uint8_t *p, size_t n)
{
	uint64_t w = 0;
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)p[i] << (8 * i);
	return w;
}

struct sipstate {
	uint64_t v0, v1, v2, v3;
};

static void sipround(struct sipstate *s)
{
	s->v0 += s->v1;
	s->v1 = rotl(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl(s->v2, 32);
}

static void compress(struct sipstate *s, uint64_t m)
{
	s->v3 ^= m;
	sipround(s);            /* c = 2 rounds per word */
	sipround(s);
	s->v0 ^= m;
}

uint64_t siphash24(const struct siphash_key *key, const void *msg, size_t len)
{
	const uint8_t *p = msg;
	/* "somepseudorandomlygeneratedbytes" */
	struct sipstate s = {
		.v0 = key->k0 ^ 0x736f6d6570736575ULL,
		.v1 = key->k1 ^ 0x646f72616e646f6dULL,
		.v2 = key->k0 ^ 0x6c7967656e657261ULL,
		.v3 = key->k1 ^ 0x7465646279746573ULL,
	};
	size_t whole = len - len % 8;
	for (size_t i = 0; i < whole; i += 8)
		compress(&s, load_le(p + i, 8));
	compress(&s, load_le(p + whole, len % 8) | (uint64_t)(len & 0xff) << 56);
	s.v2 ^= 0xff;
	for (int i = 0; i < 4; i++)     /* d = 4 finalization rounds */
		sipround(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}
