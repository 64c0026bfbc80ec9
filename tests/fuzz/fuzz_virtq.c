/* fuzz_virtq.c - the split virtqueue against a device that lies. The input
 * plays the device of drivers/virtio_net: it writes any used-ring entries
 * (any id, any len, any slot) and any used->idx, or behaves and returns
 * what the driver made available. The driver side does exactly what
 * virtio_net.c does: RX (vnet_rx_poll) takes buffers back with virtq_get,
 * skips ids >= size, reads the frame and re-queues the descriptor with
 * virtq_readd; TX (vnet_xmit, reclaim_tx) picks the buffer of free_head,
 * virtq_add's it, and frees what virtq_get hands back with virtq_free.
 *
 * Input: byte 0 and 1 pick the RX and TX ring sizes (1 << (b % 9)); then
 * ops, one byte each (kind = low 3 bits, queue = bit 3, parameter = high 4
 * bits), some followed by operands:
 *   0 device returns up to param+1 available buffers honestly, len u16
 *   1 device pushes a used entry: id (byte; 0xff: then u32), len u16
 *   2 device writes a used entry at slot (byte) without moving used->idx
 *   3 device sets used->idx to a u16
 *   4 device sets used->flags to param
 *   5 driver rx poll with budget param+1 (then reclaims TX, as the driver)
 *   6 driver transmits a frame of param+1 bytes
 *   7 driver reclaims TX and kicks both queues
 *
 * Invariants, the ones the driver relies on: virtq_get hands back either
 * 0xffff or an id the device holds (one the driver gave it and has not had
 * back), so nothing is freed or re-queued twice; num_free never exceeds
 * size and equals the descriptors the device does not hold; free_head is a
 * real descriptor whenever num_free > 0, and virtq_add hands out exactly
 * that one; a drain of the used ring ends (used->idx does not move during
 * it, so within 65535 entries). Ring memory and buffers are allocated to
 * their exact sizes, so ASan sees any access past them. */
#include <string.h>

#include "../../drivers/virtio_net/virtq.h"
#include "fuzz.h"

#define BUF   64                /* bytes per buffer (BUF_SIZE in the driver) */
#define HDR   12                /* virtio-net header (NET_HDR_SIZE) */
#define MAXOPS 512

struct side {
	struct virtq q;
	void *mem;
	uint8_t *bufs;
	uint16_t dev_avail;     /* next avail entry the device reads */
	uint16_t dev_used;      /* next used entry the device writes */
	uint8_t held[VIRTQ_MAX_SIZE];   /* the device has the descriptor */
	const char *name;
};

struct in {
	const uint8_t *p;
	size_t n;
};

static unsigned byte(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static unsigned u16(struct in *in)
{
	unsigned lo = byte(in);
	return lo | byte(in) << 8;
}

static uint32_t u32(struct in *in)
{
	uint32_t lo = u16(in);
	return lo | (uint32_t)u16(in) << 16;
}

static volatile unsigned sink;

static void setup(struct side *s, unsigned code, const char *name)
{
	uint16_t size = (uint16_t)(1u << (code % 9));
	memset(s, 0, sizeof(*s));
	s->name = name;
	FUZZ_CHECK(posix_memalign(&s->mem, 16, virtq_mem_size(size)) == 0, "out of memory");
	s->bufs = malloc((size_t)size * BUF);
	FUZZ_CHECK(virtq_init(&s->q, size, s->mem) == 0, "virtq_init(%u)", size);
	FUZZ_CHECK(s->q.num_free == size && s->q.size == size, "fresh queue of %u", size);
}

static void teardown(struct side *s)
{
	free(s->mem);
	free(s->bufs);
}

static void check(const struct side *s)
{
	const struct virtq *q = &s->q;
	unsigned nfree = 0;
	for (unsigned i = 0; i < q->size; i++)
		nfree += !s->held[i];
	FUZZ_CHECK(q->num_free <= q->size, "%s: num_free %u > size %u", s->name, q->num_free,
		   q->size);
	FUZZ_CHECK(q->num_free == nfree, "%s: num_free %u, but the device holds %u of %u",
		   s->name, q->num_free, q->size - nfree, q->size);
	FUZZ_CHECK(!q->num_free || q->free_head < q->size, "%s: free_head %u of %u", s->name,
		   q->free_head, q->size);
}

/* virtq_get as the driver sees it; the id is checked against what the
 * device holds. Returns false when the ring is drained. */
static bool get(struct side *s, uint16_t *id, uint32_t *len, unsigned *count)
{
	if (!virtq_get(&s->q, id, len))
		return false;
	FUZZ_CHECK(++*count <= 65535, "%s: the used ring never drains", s->name);
	FUZZ_CHECK(*id == 0xffff || *id < s->q.size, "%s: virtq_get id %u of %u", s->name, *id,
		   s->q.size);
	if (*id < s->q.size) {
		FUZZ_CHECK(s->held[*id], "%s: virtq_get handed back descriptor %u, which the "
			   "device does not hold (the driver would free or re-queue it twice)",
			   s->name, *id);
		s->held[*id] = 0;
	}
	return true;
}

static void kick(struct side *s)
{
	sink += virtq_publish(&s->q);
}

/* reclaim_tx */
static void reclaim(struct side *tx)
{
	uint16_t id;
	uint32_t len;
	unsigned count = 0;
	while (get(tx, &id, &len, &count))
		if (id < tx->q.size)
			virtq_free(&tx->q, id);
	check(tx);
}

/* vnet_rx_poll */
static void rx_poll(struct side *rx, struct side *tx, int budget)
{
	int n = 0;
	uint16_t id;
	uint32_t len;
	unsigned count = 0;
	while (n < budget && get(rx, &id, &len, &count)) {
		if (id >= rx->q.size)
			continue;
		n++;
		const uint8_t *buf = rx->bufs + (size_t)id * BUF;
		if (len > HDR && len <= BUF) {
			unsigned sum = 0;
			for (uint32_t i = HDR; i < len; i++)
				sum += buf[i];
			sink += sum;
		}
		virtq_readd(&rx->q, id, BUF);
		rx->held[id] = 1;
	}
	if (n)
		kick(rx);
	check(rx);
	reclaim(tx);
}

/* vnet_xmit */
static void xmit(struct side *tx, unsigned len)
{
	reclaim(tx);
	struct virtq *q = &tx->q;
	if (q->num_free == 0)
		return;
	uint16_t head = q->free_head;
	uint8_t *buf = tx->bufs + (size_t)head * BUF;
	memset(buf, 0, HDR);
	memset(buf + HDR, 0xab, len);
	int k = virtq_add(q, (uint64_t)(uintptr_t)buf, (uint32_t)(HDR + len), false);
	FUZZ_CHECK(k == head, "tx: virtq_add gave %d, free_head was %u", k, head);
	FUZZ_CHECK(!tx->held[k], "tx: virtq_add handed out %d, which the device holds", k);
	tx->held[k] = 1;
	kick(tx);
	check(tx);
}

/* The device, honest: returns what the driver made available. */
static void dev_return(struct side *s, unsigned max, uint32_t len)
{
	struct virtq *q = &s->q;
	uint16_t avail = q->avail->idx;
	for (unsigned n = 0; n < max && s->dev_avail != avail; n++) {
		uint16_t id = q->avail->ring[s->dev_avail & (q->size - 1)];
		s->dev_avail++;
		q->used->ring[s->dev_used & (q->size - 1)].id = id;
		q->used->ring[s->dev_used & (q->size - 1)].len = len;
		s->dev_used++;
	}
	q->used->idx = s->dev_used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	static struct side rx, tx;
	setup(&rx, byte(&in), "rx");
	setup(&tx, byte(&in), "tx");

	/* Sizes the queue refuses, before touching any memory. */
	struct virtq scratch;
	for (unsigned bad = 0; bad < 2; bad++) {
		uint16_t s = bad ? (uint16_t)(rx.q.size * 2 + 512) : (uint16_t)(tx.q.size + 3);
		if (s == 0 || s > VIRTQ_MAX_SIZE || (s & (s - 1)))
			FUZZ_CHECK(virtq_init(&scratch, s, NULL) == -1, "virtq_init(%u) accepted", s);
	}

	/* As vnet_init: every RX buffer goes to the device. */
	for (uint16_t i = 0; i < rx.q.size; i++) {
		int k = virtq_add(&rx.q, (uint64_t)(uintptr_t)(rx.bufs + (size_t)i * BUF), BUF, true);
		FUZZ_CHECK(k >= 0 && k < rx.q.size && !rx.held[k], "rx: virtq_add gave %d", k);
		rx.held[k] = 1;
	}
	FUZZ_CHECK(virtq_add(&rx.q, 0, BUF, true) == -1, "rx: virtq_add on a full queue");
	tx.q.avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	kick(&rx);
	check(&rx);
	check(&tx);

	for (int ops = 0; in.n && ops < MAXOPS; ops++) {
		unsigned op = byte(&in);
		struct side *s = op & 8 ? &tx : &rx;
		unsigned param = op >> 4;
		switch (op & 7) {
		case 0:
			dev_return(s, param + 1, u16(&in));
			break;
		case 1: {
			uint32_t id = byte(&in);
			if (id == 0xff)
				id = u32(&in);
			uint32_t len = u16(&in);
			struct virtq_used_elem *e = &s->q.used->ring[s->dev_used & (s->q.size - 1)];
			e->id = id;
			e->len = len;
			s->q.used->idx = ++s->dev_used;
			break;
		}
		case 2: {
			unsigned slot = byte(&in) & (s->q.size - 1u);
			uint32_t id = byte(&in);
			if (id == 0xff)
				id = u32(&in);
			s->q.used->ring[slot].id = id;
			s->q.used->ring[slot].len = u16(&in);
			break;
		}
		case 3:
			s->dev_used = (uint16_t)u16(&in);
			s->q.used->idx = s->dev_used;
			break;
		case 4:
			s->q.used->flags = (uint16_t)param;
			break;
		case 5:
			rx_poll(&rx, &tx, (int)param + 1);
			break;
		case 6:
			xmit(&tx, param + 1);
			break;
		case 7:
			reclaim(&tx);
			kick(&rx);
			kick(&tx);
			break;
		}
	}
	check(&rx);
	check(&tx);
	teardown(&rx);
	teardown(&tx);
	return 0;
}
