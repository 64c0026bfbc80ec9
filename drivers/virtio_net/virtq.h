/* virtq.h - a split virtqueue (VIRTIO 1.0, 2.4): the three rings and the
 * driver's bookkeeping of its descriptors. Pure: no hardware access, so
 * the host tests drive it against a simulated device. Every buffer here is
 * a single descriptor; no chains.
 *
 * The device is not trusted. What the driver knows about its descriptors
 * (free list, who holds each one) lives in struct virtq, never in ring
 * memory the device can write; the descriptor table and the avail ring are
 * written, never read back; every used entry is checked before it is
 * handed out, and one that cannot be true is counted and dropped. */
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

/* Who holds a descriptor, as the driver counts it. */
enum virtq_owner {
	VIRTQ_FREE,             /* on the free list: virtq_add may hand it out */
	VIRTQ_DRIVER,           /* taken back by virtq_get; freed or re-queued next */
	VIRTQ_QUEUED,           /* in the avail ring, not yet published */
	VIRTQ_DEVICE,           /* published: the device may return it once */
};

/* Used entries refused, by kind of impossibility (each one is dropped). */
struct virtq_lies {
	uint64_t bad_id;        /* names no descriptor (id >= size) */
	uint64_t dup_id;        /* names one the device does not hold: returned
				 * twice, never posted, or written before the
				 * post was published */
	uint64_t bad_idx;       /* times used.idx ran more than size entries
				 * ahead of the driver (nothing read under it) */
};

struct virtq {
	uint16_t size;          /* entries, a power of two */
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t free_head;     /* first free descriptor, when num_free > 0 */
	uint16_t num_free;
	uint64_t last_used;     /* next used entry to consume; its ring
				 * position is last_used % size (64 bits: never wraps) */
	uint64_t used_seen;     /* highest used.idx read, extended like last_used */
	uint16_t avail_shadow;  /* next avail.idx to publish */
	uint16_t unpublished;   /* entries added since the last publish */
	struct virtq_lies lies;
	/* Private to the driver, one slot per descriptor: */
	uint16_t free_next[VIRTQ_MAX_SIZE];     /* the free list */
	uint8_t owner[VIRTQ_MAX_SIZE];          /* enum virtq_owner */
	uint64_t posted_at[VIRTQ_MAX_SIZE];     /* used_seen at the latest publish:
						 * an entry at an earlier position
						 * was shown before the device
						 * could see the post */
	uint16_t queued[VIRTQ_MAX_SIZE];        /* the unpublished ids, in order */
};

/* Bytes of ring memory for `size` entries (desc, avail, used; used
 * aligned to 4 bytes). The memory must be 16-byte aligned. */
size_t virtq_mem_size(uint16_t size);
/* 0, or -1 if size is not a power of two in 1..VIRTQ_MAX_SIZE. */
int virtq_init(struct virtq *q, uint16_t size, void *mem);
/* Queues one buffer; returns its descriptor id (free_head before the
 * call), or -1 when none is free. */
int virtq_add(struct virtq *q, uint64_t addr, uint32_t len, bool device_writes);
/* Re-queues descriptor id (just taken back with virtq_get) as it was,
 * with a new length. Any other id is a caller's bug and is ignored: a
 * descriptor is never queued twice. */
void virtq_readd(struct virtq *q, uint16_t id, uint32_t len);
/* Makes the added buffers visible to the device; returns true when the
 * device asked to be notified. */
bool virtq_publish(struct virtq *q);
/* Takes back one buffer the device finished: *id is always a descriptor
 * the device held (published and not yet returned), so nothing is freed
 * or re-queued twice; *len is the device's word, for the caller to check.
 * Entries that cannot be true are skipped and counted in q->lies. False
 * when no good entry is left among those used.idx showed on entry (at
 * most size are looked at per call). The descriptor stays the driver's
 * until virtq_free or virtq_readd. */
bool virtq_get(struct virtq *q, uint16_t *id, uint32_t *len);
/* Returns descriptor id (taken back with virtq_get) to the free list;
 * any other id is ignored. */
void virtq_free(struct virtq *q, uint16_t id);

#endif
