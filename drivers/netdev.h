/* netdev.h - what a network driver offers the layer above: one small ops
 * table over raw Ethernet frames (Unikraft's uknetdev in miniature). No
 * protocol stack type appears here: the driver never sees a pbuf. */
#ifndef DRIVERS_NETDEV_H
#define DRIVERS_NETDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETDEV_MTU        1500
#define NETDEV_FRAME_MAX  1514  /* MTU + Ethernet header, no FCS */

struct netdev_stats {
	uint64_t rx_packets, rx_bytes;
	uint64_t rx_drops;      /* frames the layer above could not take, or malformed */
	uint64_t tx_packets, tx_bytes;
	uint64_t tx_drops;      /* frames refused: too long, or ring full */
	uint64_t tx_ring_full;  /* times xmit found no free TX buffer */
	uint64_t irqs;
	/* Values from the device refused as impossible (a broken or lying
	 * device), each dropped, never used: */
	uint64_t dev_bad_id;    /* a completion naming no buffer */
	uint64_t dev_dup_id;    /* a completion for a buffer the device did not
				 * hold: returned twice, or before it was given */
	uint64_t dev_bad_len;   /* a received length with no frame in it, or
				 * longer than the buffer (counted in rx_drops too) */
	uint64_t dev_bad_idx;   /* times the completion index ran past the ring */
};

/* One piece of an outgoing frame. */
struct netdev_seg {
	const void *data;
	size_t len;
};

/* Called for each received frame. The frame is valid only during the
 * call; return false if it was dropped (counted as rx_drops). */
typedef bool (*netdev_rx_fn)(void *ctx, const void *frame, size_t len);

struct netdev;

struct netdev_ops {
	/* Copies the segments into one frame and queues it. 0, or -1 when
	 * the frame is too long or the TX ring is full (counted). */
	int (*xmit)(struct netdev *nd, const struct netdev_seg *segs, int nsegs);
	/* Hands up to budget received frames to rx; returns how many. When
	 * it returns budget, more may be waiting. */
	int (*rx_poll)(struct netdev *nd, netdev_rx_fn rx, void *ctx, int budget);
	bool (*link_up)(struct netdev *nd);
};

struct netdev {
	const char *name;
	uint8_t mac[6];
	uint16_t mtu;
	const char *irq_mode;   /* "msi-x" or "intx" */
	const struct netdev_ops *ops;
	struct netdev_stats stats;
	void *priv;
	/* Set by the layer above before it polls: called in interrupt
	 * context when frames arrived; it notes the event and returns. */
	void (*rx_event)(void *arg);
	void *rx_event_arg;
};

#endif
