/* test_virtq.c - split virtqueue bookkeeping against a simulated device:
 * index wrap-around past 65535, descriptor recycling, notification
 * suppression, a device returning bogus ids. */
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

	/* The device may ask not to be notified. */
	q.used->flags = VIRTQ_USED_F_NO_NOTIFY;
	CHECK(virtq_add(&q, 0x2000, 64, false) >= 0);
	CHECK(!virtq_publish(&q));
	q.used->flags = 0;

	/* A bogus id from the device is reported as out of range. */
	q.used->ring[q.last_used % 4].id = 999;
	q.used->idx = (uint16_t)(q.last_used + 1);
	CHECK(virtq_get(&q, &id, &len) && id == 0xffff);

	free(mem);
	return CHECK_DONE("virtq");
}
