/* fuzz_virtq.c - the split virtqueue against a device that lies. The input
 * plays the device of drivers/virtio_net: it offers a notify capability
 * (window length, multiplier, each queue's offset), writes any used-ring
 * entries (any id, any len, any slot), returns ids twice, moves used->idx
 * anywhere, scribbles on the rings it may only read, or behaves and
 * returns what the driver made available. The driver side does exactly
 * what virtio_net.c does: the probe places each queue's notify register
 * with vcap_notify_offset or refuses the device; RX (vnet_rx_poll) takes
 * buffers back with virtq_get, reads the frame when its length is sane
 * and re-queues the descriptor with virtq_readd; TX (vnet_xmit,
 * reclaim_tx) picks the buffer of free_head, virtq_add's it, and frees
 * what virtq_get hands back with virtq_free; a kick writes the notify
 * register when virtq_publish says so.
 *
 * Input: byte 0 and 1 pick the RX and TX ring sizes (1 << (b % 9)); then
 * the notify capability: window length u16, multiplier u32, RX and TX
 * queue_notify_off u16 each; then ops, one byte each (kind = low 3 bits,
 * queue = bit 3, parameter = high 4 bits), some followed by operands:
 *   0 device returns up to (param & 7) + 1 available buffers honestly,
 *     len u16; with param & 8 it writes each used entry twice
 *   1 param 0: device pushes a used entry: id (byte; 0xff: then u32), len u16
 *     param p > 0: device returns again the last p used entries it wrote
 *   2 param even: device writes a used entry at slot (byte), id as in 1,
 *     len u16, without moving used->idx; odd: device scribbles on
 *     descriptor slot (byte) and avail slot with a u16
 *   3 device sets used->idx to a u16
 *   4 device sets used->flags to param
 *   5 driver rx poll with budget param+1 (then reclaims TX, as the driver)
 *   6 driver transmits a frame of param+1 bytes
 *   7 driver reclaims TX and kicks both queues
 *
 * The model: held[id] counts the posts of a descriptor the device has not
 * given back, and visible[id] says its latest post was published. A post
 * asserts held[id] never exceeds 1: no buffer is in the device's hands
 * twice, so no two frames are written into one buffer. Taking a
 * descriptor back needs held[id] > 0; it ends the post only if the post
 * was visible (the device cannot give back what it could not see), so a
 * driver that takes an unpublished re-post and posts it again is caught
 * as a double post. Every used entry virtq_get consumes is either handed
 * back or counted as a lie of the right kind; at most size are looked at
 * per call; a bad used->idx is counted and nothing under it is read.
 * num_free equals the descriptors the device does not hold, free_head is
 * real whenever num_free > 0 and virtq_add hands out exactly that one.
 * Ring memory, buffers and the notify window are allocated to their exact
 * sizes, so ASan sees any access past them. */
#include <string.h>

#include "../../drivers/virtio_net/vcap.h"
#include "../../drivers/virtio_net/virtq.h"
#include "fuzz.h"

#define BUF   64                /* bytes per buffer (BUF_SIZE in the driver) */
#define HDR   12                /* virtio-net header (NET_HDR_SIZE) */
#define MAXOPS 512
#define RXQ   0
#define TXQ   1

struct side {
	struct virtq q;
	void *mem;
	uint8_t *bufs;
	uint16_t dev_avail;     /* next avail entry the device reads */
	uint16_t dev_used;      /* next used entry the device writes */
	uint8_t held[VIRTQ_MAX_SIZE];           /* posts the device has */
	uint8_t visible[VIRTQ_MAX_SIZE];        /* the latest post is published */
	uint8_t *notify;        /* the notify window, as the driver sees it */
	int64_t notify_off;     /* of this queue's register in it */
	int qi;
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

static void setup(struct side *s, unsigned code, int qi, const char *name)
{
	uint16_t size = (uint16_t)(1u << (code % 9));
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->qi = qi;
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

/* setup_queue's notify check: the register is placed in the window, or
 * the device is refused. Returns false for a refused device. */
static bool place_notify(struct side *s, uint8_t *window, uint32_t cap_len, uint32_t mult,
			 uint16_t noff)
{
	uint64_t want = (uint64_t)noff * mult;
	s->notify = window;
	s->notify_off = vcap_notify_offset(cap_len, mult, noff);
	if (s->notify_off < 0) {
		FUZZ_CHECK(want + VCAP_NOTIFY_REG_SIZE > cap_len, "%s: notify offset %u x %u "
			   "refused, but it fits a %u-byte window", s->name, noff, mult, cap_len);
		return false;
	}
	FUZZ_CHECK((uint64_t)s->notify_off == want && want + VCAP_NOTIFY_REG_SIZE <= cap_len,
		   "%s: notify offset %u x %u placed at %lld in a %u-byte window", s->name, noff,
		   mult, (long long)s->notify_off, cap_len);
	return true;
}

static void check(const struct side *s)
{
	const struct virtq *q = &s->q;
	unsigned nfree = 0;
	for (unsigned i = 0; i < q->size; i++) {
		FUZZ_CHECK(s->held[i] <= 1, "%s: descriptor %u posted %u times", s->name, i,
			   s->held[i]);
		nfree += !s->held[i];
	}
	FUZZ_CHECK(q->num_free <= q->size, "%s: num_free %u > size %u", s->name, q->num_free,
		   q->size);
	FUZZ_CHECK(q->num_free == nfree, "%s: num_free %u, but the device holds %u of %u",
		   s->name, q->num_free, q->size - nfree, q->size);
	FUZZ_CHECK(!q->num_free || q->free_head < q->size, "%s: free_head %u of %u", s->name,
		   q->free_head, q->size);
}

/* The driver gives descriptor id to the device (virtq_add, virtq_readd). */
static void posted(struct side *s, uint16_t id)
{
	FUZZ_CHECK(++s->held[id] <= 1, "%s: descriptor %u posted twice: the device holds it "
		   "already (two frames would go into one buffer)", s->name, id);
	s->visible[id] = 0;
}

/* virtq_get as the driver sees it, checked against the model and against
 * the used entries it consumed. Returns false when the ring is drained. */
static bool get(struct side *s, uint16_t *id, uint32_t *len)
{
	struct virtq *q = &s->q;
	uint64_t from = q->last_used;
	struct virtq_lies was = q->lies;
	uint16_t used_idx = q->used->idx;
	bool got = virtq_get(q, id, len);
	uint64_t consumed = q->last_used - from;

	FUZZ_CHECK(consumed <= q->size, "%s: virtq_get read %llu used entries, ring of %u",
		   s->name, (unsigned long long)consumed, q->size);
	if (q->lies.bad_idx != was.bad_idx) {
		FUZZ_CHECK(!got && consumed == 0 && q->lies.bad_idx == was.bad_idx + 1 &&
			   (uint16_t)(used_idx - (uint16_t)from) > q->size,
			   "%s: used->idx %u at %llu counted as bad (got %d, consumed %llu)",
			   s->name, used_idx, (unsigned long long)from, got,
			   (unsigned long long)consumed);
		return false;
	}
	/* Each entry consumed is the one handed back (the last) or a lie;
	 * an id out of range is bad_id, any other refusal dup_id. */
	uint64_t bad = 0;
	for (uint64_t pos = from; pos < q->last_used; pos++) {
		const struct virtq_used_elem *e = &q->used->ring[pos & (q->size - 1)];
		if (got && pos + 1 == q->last_used)
			FUZZ_CHECK(e->id == *id && e->len == *len, "%s: virtq_get gave %u/%u, the "
				   "entry says %u/%u", s->name, *id, *len, e->id, e->len);
		else
			bad += e->id >= q->size;
	}
	FUZZ_CHECK(q->lies.bad_id - was.bad_id == bad &&
		   q->lies.dup_id - was.dup_id == consumed - got - bad,
		   "%s: %llu entries consumed, %d handed back, bad_id +%llu (want %llu), dup_id "
		   "+%llu", s->name, (unsigned long long)consumed, got,
		   (unsigned long long)(q->lies.bad_id - was.bad_id), (unsigned long long)bad,
		   (unsigned long long)(q->lies.dup_id - was.dup_id));
	if (!got) {
		FUZZ_CHECK((uint16_t)q->last_used == used_idx, "%s: drain stopped at %u, used->idx "
			   "%u", s->name, (uint16_t)q->last_used, used_idx);
		return false;
	}
	FUZZ_CHECK(*id < q->size, "%s: virtq_get id %u of %u", s->name, *id, q->size);
	FUZZ_CHECK(s->held[*id] > 0, "%s: virtq_get handed back descriptor %u, which the "
		   "device does not hold (the driver would free or re-queue it twice)", s->name,
		   *id);
	if (s->visible[*id]) {
		s->held[*id]--;
		s->visible[*id] = 0;
	}
	/* else the device could not have seen the post it claims to return:
	 * the post stays with it, and a re-post is caught in posted(). */
	return true;
}

/* kick: publish, notify through the window if the device asks. */
static void kick(struct side *s)
{
	if (virtq_publish(&s->q)) {
		uint16_t v = (uint16_t)s->qi;
		memcpy(s->notify + s->notify_off, &v, sizeof(v));
	}
	for (unsigned i = 0; i < s->q.size; i++)
		s->visible[i] = s->held[i] > 0;
}

/* reclaim_tx */
static void reclaim(struct side *tx)
{
	uint16_t id;
	uint32_t len;
	while (get(tx, &id, &len))
		virtq_free(&tx->q, id);
	check(tx);
}

/* vnet_rx_poll */
static void rx_poll(struct side *rx, struct side *tx, int budget)
{
	int n = 0;
	uint16_t id;
	uint32_t len;
	while (n < budget && get(rx, &id, &len)) {
		n++;
		const uint8_t *buf = rx->bufs + (size_t)id * BUF;
		if (len > HDR && len <= BUF) {
			unsigned sum = 0;
			for (uint32_t i = HDR; i < len; i++)
				sum += buf[i];
			sink += sum;
		}
		virtq_readd(&rx->q, id, BUF);
		posted(rx, id);
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
	posted(tx, (uint16_t)k);
	kick(tx);
	check(tx);
}

static void dev_write(struct side *s, uint32_t id, uint32_t len)
{
	struct virtq_used_elem *e = &s->q.used->ring[s->dev_used & (s->q.size - 1)];
	e->id = id;
	e->len = len;
	s->dev_used++;
}

/* The device, honest (but for `twice`): returns what the driver made
 * available. */
static void dev_return(struct side *s, unsigned max, uint32_t len, bool twice)
{
	struct virtq *q = &s->q;
	uint16_t avail = q->avail->idx;
	for (unsigned n = 0; n < max && s->dev_avail != avail; n++) {
		uint16_t id = q->avail->ring[s->dev_avail & (q->size - 1)];
		s->dev_avail++;
		dev_write(s, id, len);
		if (twice)
			dev_write(s, id, len);
	}
	q->used->idx = s->dev_used;
}

/* The device returns again the last n entries it wrote. */
static void dev_replay(struct side *s, unsigned n)
{
	struct virtq *q = &s->q;
	for (unsigned i = 0; i < n; i++) {
		struct virtq_used_elem e = q->used->ring[(uint16_t)(s->dev_used - n) & (q->size - 1)];
		dev_write(s, e.id, e.len);
	}
	q->used->idx = s->dev_used;
}

static uint32_t any_id(struct in *in)
{
	uint32_t id = byte(in);
	return id == 0xff ? u32(in) : id;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	static struct side rx, tx;
	setup(&rx, byte(&in), RXQ, "rx");
	setup(&tx, byte(&in), TXQ, "tx");

	/* Sizes the queue refuses, before touching any memory. */
	struct virtq scratch;
	for (unsigned bad = 0; bad < 2; bad++) {
		uint16_t s = bad ? (uint16_t)(rx.q.size * 2 + 512) : (uint16_t)(tx.q.size + 3);
		if (s == 0 || s > VIRTQ_MAX_SIZE || (s & (s - 1)))
			FUZZ_CHECK(virtq_init(&scratch, s, NULL) == -1, "virtq_init(%u) accepted", s);
	}

	/* The probe: each queue's notify register inside the window, or the
	 * device refused (then nothing else happens). */
	uint32_t cap_len = u16(&in);
	uint32_t mult = u32(&in);
	uint16_t noff_rx = (uint16_t)u16(&in), noff_tx = (uint16_t)u16(&in);
	uint8_t *window = malloc(cap_len ? cap_len : 1);
	bool ok = place_notify(&rx, window, cap_len, mult, noff_rx) &&
		  place_notify(&tx, window, cap_len, mult, noff_tx);

	if (ok) {
		/* As vnet_init: every RX buffer goes to the device. */
		for (uint16_t i = 0; i < rx.q.size; i++) {
			int k = virtq_add(&rx.q, (uint64_t)(uintptr_t)(rx.bufs + (size_t)i * BUF),
					  BUF, true);
			FUZZ_CHECK(k >= 0 && k < rx.q.size, "rx: virtq_add gave %d", k);
			posted(&rx, (uint16_t)k);
		}
		FUZZ_CHECK(virtq_add(&rx.q, 0, BUF, true) == -1, "rx: virtq_add on a full queue");
		tx.q.avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
		kick(&rx);
		check(&rx);
		check(&tx);
	}

	for (int ops = 0; ok && in.n && ops < MAXOPS; ops++) {
		unsigned op = byte(&in);
		struct side *s = op & 8 ? &tx : &rx;
		unsigned param = op >> 4;
		switch (op & 7) {
		case 0:
			dev_return(s, (param & 7) + 1, u16(&in), param & 8);
			break;
		case 1:
			if (param) {
				dev_replay(s, param);
			} else {
				uint32_t id = any_id(&in);
				dev_write(s, id, u16(&in));
				s->q.used->idx = s->dev_used;
			}
			break;
		case 2: {
			unsigned slot = byte(&in) & (s->q.size - 1u);
			if (param & 1) {
				uint16_t v = (uint16_t)u16(&in);
				s->q.desc[slot].addr = (uint64_t)v * 0x10001000ull;
				s->q.desc[slot].len = v;
				s->q.desc[slot].flags = v;
				s->q.desc[slot].next = v;
				s->q.avail->ring[slot] = v;
				break;
			}
			uint32_t id = any_id(&in);
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
	if (ok) {
		check(&rx);
		check(&tx);
	}
	free(window);
	teardown(&rx);
	teardown(&tx);
	return 0;
}
