/* virtq.h - a split virtqueue (VIRTIO 1.0, 2.4): the three rings and the
 * driver's bookkeeping of free descriptors. Pure: no hardware access, so
 * the host tests drive it against a simulated device. Every buffer here is
 * a single descriptor; no chains. */
#ifndef VIRTIO_VIRTQ_H
#define VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIRTQ_DESC_F_NEXT       1
#define VIRTQ_DESC_F_WRITE      2       /* device writes (RX) */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY  1

struct virtq_desc {
	uint64_t addr;          /* guest-physical buffer address */
	uint32_t len;
	uint16_t flags;         /* VIRTQ_DESC_F_* */
	uint16_t next;          /* with F_NEXT */
};
_Static_assert(sizeof(struct virtq_desc) == 16, "VIRTIO 1.0, 2.4.5");

struct virtq_avail {
	uint16_t flags;         /* VIRTQ_AVAIL_F_NO_INTERRUPT */
	uint16_t idx;           /* where the driver puts the next entry */
	uint16_t ring[];        /* descriptor heads */
};
_Static_assert(sizeof(struct virtq_avail) == 4, "VIRTIO 1.0, 2.4.6");

struct virtq_used_elem {
	uint32_t id;            /* descriptor head */
	uint32_t len;           /* bytes the device wrote */
};
_Static_assert(sizeof(struct virtq_used_elem) == 8, "VIRTIO 1.0, 2.4.8");

struct virtq_used {
	uint16_t flags;         /* VIRTQ_USED_F_NO_NOTIFY */
	uint16_t idx;           /* where the device puts the next entry */
	struct virtq_used_elem ring[];
};
_Static_assert(sizeof(struct virtq_used) == 4, "VIRTIO 1.0, 2.4.8");

#define VIRTQ_MAX_SIZE 256

struct virtq {
	uint16_t size;          /* entries, a power of two */
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t free_head;     /* free descriptors, linked through .next */
	uint16_t num_free;
	uint16_t last_used;     /* next used.idx position to consume */
	uint16_t avail_shadow;  /* next avail.idx to publish */
	uint16_t unpublished;   /* entries added since the last publish */
};

/* Bytes of ring memory for `size` entries (desc, avail, used; used
 * aligned to 4 bytes). The memory must be 16-byte aligned. */
size_t virtq_mem_size(uint16_t size);
/* 0, or -1 if size is not a power of two in 1..VIRTQ_MAX_SIZE. */
int virtq_init(struct virtq *q, uint16_t size, void *mem);
/* Queues one buffer; returns its descriptor id, or -1 when none is free. */
int virtq_add(struct virtq *q, uint64_t addr, uint32_t len, bool device_writes);
/* Re-queues descriptor id (just taken back with virtq_get) as it was,
 * with a new length. */
void virtq_readd(struct virtq *q, uint16_t id, uint32_t len);
/* Makes the added buffers visible to the device; returns true when the
 * device asked to be notified. */
bool virtq_publish(struct virtq *q);
/* Takes back one buffer the device finished; false when there is none.
 * The descriptor stays reserved until virtq_free or virtq_readd. */
bool virtq_get(struct virtq *q, uint16_t *id, uint32_t *len);
void virtq_free(struct virtq *q, uint16_t id);

#endif
