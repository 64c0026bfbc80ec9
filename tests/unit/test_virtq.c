/* test_virtq.c - split virtqueue bookkeeping against a simulated device:
 * index wrap-around past 65535, descriptor recycling, notification
 * suppression, and a device that lies: ids out of range, ids returned
 * twice (RX and TX), before they were published or never posted, a used
 * index far ahead, scribbles on the rings it should only read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../drivers/virtio_net/virtq.h"
#include "check.h"

/* The device side: consumes avail entries, returns them as used. */
struct dev {
	uint16_t avail_seen;
	uint16_t used_idx;
};

static int dev_consume(struct virtq *q, struct dev *d, uint32_t len, int max)
{
	int n = 0;
	while (d->avail_seen != q->avail->idx && n < max) {
		uint16_t id = q->avail->ring[d->avail_seen % q->size];
		d->avail_seen++;
		q->used->ring[d->used_idx % q->size].id = id;
		q->used->ring[d->used_idx % q->size].len = len;
		d->used_idx++;
		q->used->idx = d->used_idx;
		n++;
	}
	return n;
}

/* The device writes one used entry, honest or not, and shows it. */
static void dev_push(struct virtq *q, struct dev *d, uint32_t id, uint32_t len)
{
	q->used->ring[d->used_idx % q->size].id = id;
	q->used->ring[d->used_idx % q->size].len = len;
	d->used_idx++;
	q->used->idx = d->used_idx;
}

/* How many of the avail entries in [from, to) name descriptor id. */
static int avail_count(const struct virtq *q, uint16_t from, uint16_t to, uint16_t id)
{
	int n = 0;
	for (uint16_t i = from; i != to; i++)
		n += q->avail->ring[i % q->size] == id;
	return n;
}

static uint64_t lies(const struct virtq *q)
{
	return q->lies.bad_id + q->lies.dup_id + q->lies.bad_idx;
}

/* RX: every buffer posted, as vnet_init does. */
static void rx_fill(struct virtq *q, void *mem, uint16_t size, struct dev *d)
{
	CHECK(virtq_init(q, size, mem) == 0);
	for (uint16_t i = 0; i < size; i++)
		CHECK(virtq_add(q, 0x1000u * i, 2048, true) == i);
	virtq_publish(q);
	d->avail_seen = d->used_idx = 0;
}

static void test_rx_returned_twice(void *mem)
{
	struct virtq q;
	struct dev d;
	uint16_t id;
	uint32_t len;

	/* The device returns buffer 3 twice in one batch: the driver takes
	 * it once, and re-posts it once. */
	rx_fill(&q, mem, 8, &d);
	d.avail_seen = 8;
	dev_push(&q, &d, 3, 100);
	dev_push(&q, &d, 3, 100);
	uint16_t before = q.avail_shadow;
	CHECK(virtq_get(&q, &id, &len) && id == 3 && len == 100);
	virtq_readd(&q, id, 2048);
	CHECK(!virtq_get(&q, &id, &len));       /* re-queued, not yet published */
	CHECK(q.lies.dup_id == 1 && lies(&q) == 1);
	CHECK(q.avail_shadow == (uint16_t)(before + 1));
	virtq_publish(&q);
	CHECK(avail_count(&q, before, q.avail->idx, 3) == 1);

	/* The same, with a publish between the two takes (an rx_poll budget
	 * ending between them): the second entry was shown before the
	 * re-post was published, so it is refused all the same. */
	rx_fill(&q, mem, 8, &d);
	d.avail_seen = 8;
	dev_push(&q, &d, 5, 100);
	dev_push(&q, &d, 5, 100);
	CHECK(virtq_get(&q, &id, &len) && id == 5);
	virtq_readd(&q, id, 2048);
	virtq_publish(&q);
	CHECK(!virtq_get(&q, &id, &len));
	CHECK(q.lies.dup_id == 1);
	/* Once the device has taken the re-post (it is shown after the
	 * publish), returning 5 is honest again. */
	dev_push(&q, &d, 5, 200);
	CHECK(virtq_get(&q, &id, &len) && id == 5 && len == 200);
	CHECK(q.lies.dup_id == 1 && lies(&q) == 1);
}

static void test_tx_lies(void *mem)
{
	struct virtq q;
	struct dev d = { 0, 0 };
	uint16_t id;
	uint32_t len;
	CHECK(virtq_init(&q, 4, mem) == 0);

	/* Returned twice: freed once. */
	int k = virtq_add(&q, 0x2000, 64, false);
	virtq_publish(&q);
	CHECK(dev_consume(&q, &d, 0, 4) == 1);
	dev_push(&q, &d, (uint32_t)k, 0);
	CHECK(virtq_get(&q, &id, &len) && id == k);
	virtq_free(&q, id);
	CHECK(!virtq_get(&q, &id, &len));
	CHECK(q.lies.dup_id == 1 && q.num_free == 4);

	/* Never posted (free), and queued but not yet published. */
	dev_push(&q, &d, 2, 0);
	CHECK(!virtq_get(&q, &id, &len) && q.lies.dup_id == 2);
	k = virtq_add(&q, 0x2000, 64, false);
	dev_push(&q, &d, (uint32_t)k, 0);
	CHECK(!virtq_get(&q, &id, &len) && q.lies.dup_id == 3);
	CHECK(q.num_free == 3);

	/* Out of range, by a little and by more than 16 bits. */
	dev_push(&q, &d, 4, 0);
	dev_push(&q, &d, 0x10000u + (uint32_t)k, 0);
	CHECK(!virtq_get(&q, &id, &len) && q.lies.bad_id == 2);

	/* A freeing or re-queueing of what the driver does not hold is
	 * ignored (k is the device's now that it is published). */
	virtq_publish(&q);
	virtq_free(&q, (uint16_t)k);
	virtq_readd(&q, (uint16_t)k, 64);
	virtq_free(&q, 999);
	CHECK(q.num_free == 3 && q.unpublished == 0);
	d.avail_seen = q.avail->idx;
	dev_push(&q, &d, (uint32_t)k, 0);
	CHECK(virtq_get(&q, &id, &len) && id == k);
	virtq_free(&q, id);
	CHECK(q.num_free == 4);

	/* used.idx more than size ahead: nothing under it is read, the
	 * driver's position stays, and it resumes when the index is sane. */
	uint64_t at = q.last_used;
	q.used->idx = (uint16_t)(d.used_idx + 5);
	CHECK(!virtq_get(&q, &id, &len) && q.lies.bad_idx == 1 && q.last_used == at);
	q.used->idx = (uint16_t)(d.used_idx - 1);       /* behind: as far ahead as can be */
	CHECK(!virtq_get(&q, &id, &len) && q.lies.bad_idx == 2 && q.last_used == at);
	q.used->idx = d.used_idx;
	k = virtq_add(&q, 0x2000, 64, false);
	virtq_publish(&q);
	CHECK(dev_consume(&q, &d, 0, 4) == 1);
	CHECK(virtq_get(&q, &id, &len) && id == k);
	virtq_free(&q, id);
	CHECK(q.lies.bad_id == 2 && q.lies.dup_id == 3 && q.lies.bad_idx == 2);

	/* The device scribbles on the descriptor table and the avail ring,
	 * which it may only read: the driver never reads them back. */
	for (int i = 0; i < 4; i++) {
		q.desc[i].next = 0xffff;
		q.desc[i].addr = ~0ull;
		q.desc[i].len = 0;
		q.avail->ring[i] = 0xbeef;
	}
	q.avail->idx = 0x1234;
	int seen = 0;
	for (int i = 0; i < 4; i++) {
		k = virtq_add(&q, 0x3000, 64, false);
		CHECK(k >= 0 && k < 4 && !(seen & 1 << k));
		seen |= 1 << k;
	}
	CHECK(seen == 0xf && virtq_add(&q, 0x3000, 64, false) == -1);
}

/* A buffer the device keeps while 100,000 others come and go (more than
 * 16 bits of used entries) is still taken back when it returns. */
static void test_held_long(void *mem)
{
	struct virtq q;
	struct dev d = { 0, 0 };
	uint16_t id;
	uint32_t len;
	CHECK(virtq_init(&q, 4, mem) == 0);
	int kept = virtq_add(&q, 0x1000, 64, false);
	virtq_publish(&q);
	d.avail_seen = 1;
	for (int round = 0; round < 100000; round++) {
		int k = virtq_add(&q, 0x2000, 64, false);
		virtq_publish(&q);
		CHECK(dev_consume(&q, &d, 0, 4) == 1);
		CHECK(virtq_get(&q, &id, &len) && id == k);
		virtq_free(&q, id);
	}
	dev_push(&q, &d, (uint32_t)kept, 0);
	CHECK(virtq_get(&q, &id, &len) && id == kept);
	virtq_free(&q, id);
	CHECK(q.num_free == 4 && lies(&q) == 0 && q.last_used == 100001);
}

int main(void)
{
	struct virtq q;
	CHECK(virtq_init(&q, 3, NULL) == -1);
	CHECK(virtq_init(&q, 512, NULL) == -1);
	void *mem = aligned_alloc(4096, 16384);
	CHECK(virtq_mem_size(8) == 8 * 16 + ((4 + 2 * 9 + 3) & ~3) + 4 + 8 * 8 + 2);
	CHECK(virtq_init(&q, 8, mem) == 0);
	CHECK((uintptr_t)q.used % 4 == 0);
	CHECK((uint8_t *)q.used + 4 + 8 * 8 + 2 <= (uint8_t *)mem + virtq_mem_size(8));

	/* Fill, then the ring is full. */
	int ids[8];
	for (int i = 0; i < 8; i++) {
		ids[i] = virtq_add(&q, 0x1000u * (unsigned)i, 100, true);
		CHECK(ids[i] >= 0 && ids[i] < 8);
	}
	CHECK(virtq_add(&q, 0, 1, false) == -1);
	CHECK(q.avail->idx == 0);               /* nothing visible before publish */
	CHECK(virtq_publish(&q));
	CHECK(q.avail->idx == 8);
	CHECK(!virtq_publish(&q));              /* nothing new: no notify */
	CHECK(q.desc[ids[3]].flags == VIRTQ_DESC_F_WRITE && q.desc[ids[3]].addr == 0x3000);

	/* RX style: take back and re-add, many times over, so that both
	 * 16-bit indices wrap. */
	struct dev d = { 0, 0 };
	uint16_t id;
	uint32_t len;
	long got = 0;
	for (int round = 0; round < 20000; round++) {
		dev_consume(&q, &d, 60 + (uint32_t)(round % 5), 1 + round % 8);
		while (virtq_get(&q, &id, &len)) {
			CHECK(id < 8);
			CHECK(len >= 60 && len < 65);
			virtq_readd(&q, id, 2048);
			got++;
		}
		virtq_publish(&q);
	}
	CHECK(got > 65536);
	CHECK(q.num_free == 0);
	CHECK(lies(&q) == 0);

	/* TX style on a fresh queue: add, device completes, free, reuse. */
	CHECK(virtq_init(&q, 4, mem) == 0);
	d.avail_seen = d.used_idx = 0;
	for (int round = 0; round < 100000; round++) {
		int k = virtq_add(&q, 0x2000, 64, false);
		CHECK(k >= 0);
		virtq_publish(&q);
		dev_consume(&q, &d, 0, 4);
		CHECK(virtq_get(&q, &id, &len) && id == k);
		virtq_free(&q, id);
	}
	CHECK(q.num_free == 4);
	CHECK(lies(&q) == 0);

	/* The device may ask not to be notified. */
	q.used->flags = VIRTQ_USED_F_NO_NOTIFY;
	CHECK(virtq_add(&q, 0x2000, 64, false) >= 0);
	CHECK(!virtq_publish(&q));
	q.used->flags = 0;

	/* A bogus id from the device is counted and skipped. */
	q.used->ring[q.last_used % 4].id = 999;
	q.used->idx = (uint16_t)(q.last_used + 1);
	CHECK(!virtq_get(&q, &id, &len) && q.lies.bad_id == 1);

	test_rx_returned_twice(mem);
	test_tx_lies(mem);
	test_held_long(mem);
	free(mem);
	return CHECK_DONE("virtq");
}
