/* virtio_net.c - virtio-net over the VIRTIO 1.0 modern PCI interface
 * (VIRTIO 1.0: 4.1.4 PCI capabilities, 3.1.1 driver initialisation,
 * 5.1 network device). Works with the transitional device QEMU offers by
 * default and with disable-legacy=on. RX and TX buffers belong to the
 * driver: received frames are handed up by pointer and recycled, frames
 * to send are copied in. Interrupts go to the BSP by MSI-X, or INTx
 * through the IOAPIC when the device has no MSI-X.
 *
 * The device is not trusted: a capability window too short for the
 * registers the driver uses, or a queue notify register outside its
 * window, has the device refused at probe; a used entry, index or length
 * that cannot be true is counted (stats.dev_*) and dropped (virtq.c). */
#include "virtio_net.h"

#include <stdlib.h>
#include <string.h>

#include "../../kernel/console.h"
#include "../../kernel/ioapic.h"
#include "../../kernel/kheap.h"
#include "../../kernel/paging.h"
#include "../../kernel/pci.h"
#include "../../kernel/time.h"
#include "../../kernel/trap.h"
#include "../../kernel/x86.h"
#include "vcap.h"
#include "virtq.h"

#define VIRTIO_VENDOR           0x1af4
#define VIRTIO_NET_LEGACY_ID    0x1000  /* transitional */
#define VIRTIO_NET_MODERN_ID    0x1041

/* virtio_pci_cap (4.1.4) */
#define VCAP_CFG_TYPE           3
#define VCAP_BAR                4
#define VCAP_OFFSET             8
#define VCAP_LENGTH             12
#define VCAP_NOTIFY_MULT        16
#define   VIRTIO_PCI_CAP_COMMON 1
#define   VIRTIO_PCI_CAP_NOTIFY 2
#define   VIRTIO_PCI_CAP_ISR    3
#define   VIRTIO_PCI_CAP_DEVICE 4

/* virtio_pci_common_cfg (4.1.4.3) */
#define COMMON_DFSELECT         0x00
#define COMMON_DF               0x04
#define COMMON_GFSELECT         0x08
#define COMMON_GF               0x0c
#define COMMON_MSIX_CONFIG      0x10
#define COMMON_NUM_QUEUES       0x12
#define COMMON_STATUS           0x14
#define   STATUS_ACKNOWLEDGE    1
#define   STATUS_DRIVER         2
#define   STATUS_DRIVER_OK      4
#define   STATUS_FEATURES_OK    8
#define   STATUS_FAILED         128
#define COMMON_Q_SELECT         0x16
#define COMMON_Q_SIZE           0x18
#define COMMON_Q_MSIX           0x1a
#define COMMON_Q_ENABLE         0x1c
#define COMMON_Q_NOFF           0x1e
#define COMMON_Q_DESC           0x20
#define COMMON_Q_AVAIL          0x28
#define COMMON_Q_USED           0x30    /* the last field: 8 bytes */
#define VIRTIO_MSI_NO_VECTOR    0xffff

/* Feature bits (5.1.3, 6) */
#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_F_STATUS     16
#define VIRTIO_F_VERSION_1      32

/* virtio_net_config (5.1.4) */
#define NETCFG_MAC              0
#define   NETCFG_MAC_SIZE       6
#define NETCFG_STATUS           6
#define   NET_S_LINK_UP         1

#define ISR_QUEUE               1
#define ISR_SIZE                1

#define RXQ                     0
#define TXQ                     1
/* 256 receive buffers take a burst of a few hundred requests in flight;
 * 128 transmit buffers take their replies as the device frees them. */
#define RX_RING_SIZE            256
#define TX_RING_SIZE            128
#define TX_FULL_WAIT_NS         10000000ULL      /* then the frame is dropped (counted) */
#define BUF_SIZE                2048
#define NET_HDR_SIZE            12      /* virtio_net_hdr with num_buffers (VERSION_1) */

struct vnet {
	struct netdev nd;
	struct pci_dev pci;
	volatile uint8_t *common;
	volatile uint8_t *isr;
	volatile uint8_t *devcfg;
	volatile uint8_t *notify;
	uint32_t notify_mult;
	/* Window lengths, as the capabilities say (checked before use). */
	uint32_t common_len, isr_len, devcfg_len, notify_len;
	bool has_status;
	struct virtq q[2];
	volatile uint16_t *qnotify[2];
	uint8_t *bufs[2];               /* a buffer per descriptor, by desc id */
};

static struct vnet vnet;

static uint8_t r8(volatile uint8_t *b, int off) { return b[off]; }
static uint16_t r16(volatile uint8_t *b, int off) { return *(volatile uint16_t *)(b + off); }
static uint32_t r32(volatile uint8_t *b, int off) { return *(volatile uint32_t *)(b + off); }
static void w8(volatile uint8_t *b, int off, uint8_t v) { b[off] = v; }
static void w16(volatile uint8_t *b, int off, uint16_t v) { *(volatile uint16_t *)(b + off) = v; }
static void w32(volatile uint8_t *b, int off, uint32_t v) { *(volatile uint32_t *)(b + off) = v; }
static void w64(volatile uint8_t *b, int off, uint64_t v)
{
	w32(b, off, (uint32_t)v);
	w32(b, off + 4, (uint32_t)(v >> 32));
}

static bool map_caps(struct vnet *v)
{
	for (uint8_t cap = pci_find_cap(&v->pci, PCI_CAP_VENDOR, 0); cap;
	     cap = pci_find_cap(&v->pci, PCI_CAP_VENDOR, cap)) {
		uint8_t type = pci_read8(&v->pci, (uint8_t)(cap + VCAP_CFG_TYPE));
		uint8_t bar = pci_read8(&v->pci, (uint8_t)(cap + VCAP_BAR));
		uint32_t off = pci_read32(&v->pci, (uint8_t)(cap + VCAP_OFFSET));
		uint32_t len = pci_read32(&v->pci, (uint8_t)(cap + VCAP_LENGTH));
		if (bar > 5)
			continue;
		uint64_t base = pci_bar_mem(&v->pci, bar);
		if (!base)
			continue;
		volatile uint8_t *p = paging_map_mmio(base + off, len);
		switch (type) {
		case VIRTIO_PCI_CAP_COMMON:
			if (!v->common) {
				v->common = p;
				v->common_len = len;
			}
			break;
		case VIRTIO_PCI_CAP_NOTIFY:
			if (!v->notify) {
				v->notify = p;
				v->notify_len = len;
				v->notify_mult = pci_read32(&v->pci, (uint8_t)(cap + VCAP_NOTIFY_MULT));
			}
			break;
		case VIRTIO_PCI_CAP_ISR:
			if (!v->isr) {
				v->isr = p;
				v->isr_len = len;
			}
			break;
		case VIRTIO_PCI_CAP_DEVICE:
			if (!v->devcfg) {
				v->devcfg = p;
				v->devcfg_len = len;
			}
			break;
		}
	}
	return v->common && v->notify && v->isr && v->devcfg;
}

/* Each window must hold the registers the driver touches in it (the
 * notify window is checked per queue, in setup_queue; the status field of
 * the device window only if it is there, in negotiate). */
static const char *short_window(const struct vnet *v)
{
	if (!vcap_fits(v->common_len, COMMON_Q_USED, sizeof(uint64_t)))
		return "common";
	if (!vcap_fits(v->isr_len, 0, ISR_SIZE))
		return "isr";
	if (!vcap_fits(v->devcfg_len, NETCFG_MAC, NETCFG_MAC_SIZE))
		return "device";
	return NULL;
}

static bool setup_queue(struct vnet *v, int qi, uint16_t msix)
{
	w16(v->common, COMMON_Q_SELECT, (uint16_t)qi);
	uint16_t max = r16(v->common, COMMON_Q_SIZE);
	if (max == 0)
		return false;
	uint16_t size = qi == RXQ ? RX_RING_SIZE : TX_RING_SIZE;
	while (size > max)
		size /= 2;
	void *mem = kmalloc_aligned(virtq_mem_size(size), 4096);
	v->bufs[qi] = kmalloc_aligned((size_t)size * BUF_SIZE, 4096);
	if (!mem || !v->bufs[qi] || virtq_init(&v->q[qi], size, mem) < 0)
		return false;
	w16(v->common, COMMON_Q_SIZE, size);
	w16(v->common, COMMON_Q_MSIX, msix);
	if (msix != VIRTIO_MSI_NO_VECTOR && r16(v->common, COMMON_Q_MSIX) != msix)
		return false;
	w64(v->common, COMMON_Q_DESC, (uint64_t)v->q[qi].desc);
	w64(v->common, COMMON_Q_AVAIL, (uint64_t)v->q[qi].avail);
	w64(v->common, COMMON_Q_USED, (uint64_t)v->q[qi].used);
	uint16_t noff = r16(v->common, COMMON_Q_NOFF);
	int64_t off = vcap_notify_offset(v->notify_len, v->notify_mult, noff);
	if (off < 0) {
		kprintf("vnet: queue %d notify offset %u x %u is past the %u-byte notify "
			"window: device refused\n", qi, noff, v->notify_mult, v->notify_len);
		return false;
	}
	v->qnotify[qi] = (volatile uint16_t *)(v->notify + off);
	w16(v->common, COMMON_Q_ENABLE, 1);
	return true;
}

static void kick(struct vnet *v, int qi)
{
	if (virtq_publish(&v->q[qi]))
		*v->qnotify[qi] = (uint16_t)qi;
}

/* The queues count the used entries they refused; the stats show the
 * device's total. */
static void count_lies(struct vnet *v)
{
	const struct virtq_lies *rx = &v->q[RXQ].lies, *tx = &v->q[TXQ].lies;
	v->nd.stats.dev_bad_id = rx->bad_id + tx->bad_id;
	v->nd.stats.dev_dup_id = rx->dup_id + tx->dup_id;
	v->nd.stats.dev_bad_idx = rx->bad_idx + tx->bad_idx;
}

/* A TX used length is not read: the device writes nothing into a TX
 * buffer, so there is nothing to check it against. */
static void reclaim_tx(struct vnet *v)
{
	uint16_t id;
	uint32_t len;
	while (virtq_get(&v->q[TXQ], &id, &len))
		virtq_free(&v->q[TXQ], id);
	count_lies(v);
}

static int vnet_xmit(struct netdev *nd, const struct netdev_seg *segs, int nsegs)
{
	struct vnet *v = nd->priv;
	size_t total = 0;
	for (int i = 0; i < nsegs; i++)
		total += segs[i].len;
	if (total > NETDEV_FRAME_MAX || total == 0) {
		nd->stats.tx_drops++;
		return -1;
	}
	reclaim_tx(v);
	struct virtq *q = &v->q[TXQ];
	if (q->num_free == 0) {
		/* The device frees TX buffers on its own time (QEMU's I/O
		 * thread may lag behind a burst of replies): wait for it a
		 * little before dropping the frame. */
		uint64_t end = time_ns() + TX_FULL_WAIT_NS;
		nd->stats.tx_ring_full++;
		while (q->num_free == 0 && time_ns() < end) {
			pause();
			reclaim_tx(v);
		}
	}
	if (q->num_free == 0) {
		nd->stats.tx_drops++;
		return -1;
	}
	/* The next free descriptor's id picks the buffer. */
	uint8_t *buf = v->bufs[TXQ] + (size_t)q->free_head * BUF_SIZE;
	memset(buf, 0, NET_HDR_SIZE);
	size_t off = NET_HDR_SIZE;
	for (int i = 0; i < nsegs; i++) {
		memcpy(buf + off, segs[i].data, segs[i].len);
		off += segs[i].len;
	}
	virtq_add(q, (uint64_t)buf, (uint32_t)off, false);
	kick(v, TXQ);
	nd->stats.tx_packets++;
	nd->stats.tx_bytes += total;
	return 0;
}

static int vnet_rx_poll(struct netdev *nd, netdev_rx_fn rx, void *ctx, int budget)
{
	struct vnet *v = nd->priv;
	struct virtq *q = &v->q[RXQ];
	int n = 0;
	uint16_t id;
	uint32_t len;
	while (n < budget && virtq_get(q, &id, &len)) {
		n++;
		uint8_t *buf = v->bufs[RXQ] + (size_t)id * BUF_SIZE;
		if (len <= NET_HDR_SIZE || len > BUF_SIZE) {
			nd->stats.dev_bad_len++;
			nd->stats.rx_drops++;
		} else {
			size_t flen = len - NET_HDR_SIZE;
			nd->stats.rx_packets++;
			nd->stats.rx_bytes += flen;
			if (!rx(ctx, buf + NET_HDR_SIZE, flen))
				nd->stats.rx_drops++;
		}
		virtq_readd(q, id, BUF_SIZE);
	}
	if (n)
		kick(v, RXQ);
	reclaim_tx(v);
	return n;
}

static bool vnet_link_up(struct netdev *nd)
{
	struct vnet *v = nd->priv;
	if (!v->has_status)
		return true;
	return r16(v->devcfg, NETCFG_STATUS) & NET_S_LINK_UP;
}

static const struct netdev_ops vnet_ops = {
	.xmit = vnet_xmit,
	.rx_poll = vnet_rx_poll,
	.link_up = vnet_link_up,
};

/* Runs in interrupt context: raise the event, nothing more. */
static void vnet_irq(void *arg)
{
	struct vnet *v = arg;
	v->nd.stats.irqs++;
	if (v->nd.rx_event)
		v->nd.rx_event(v->nd.rx_event_arg);
}

static void vnet_irq_intx(void *arg)
{
	struct vnet *v = arg;
	if (r8(v->isr, 0))      /* reading the ISR deasserts the line */
		vnet_irq(v);
}

static bool negotiate(struct vnet *v)
{
	w8(v->common, COMMON_STATUS, 0);                /* reset */
	for (int i = 0; i < 100000 && r8(v->common, COMMON_STATUS); i++)
		;
	w8(v->common, COMMON_STATUS, STATUS_ACKNOWLEDGE);
	w8(v->common, COMMON_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
	w32(v->common, COMMON_DFSELECT, 0);
	uint32_t f_lo = r32(v->common, COMMON_DF);
	w32(v->common, COMMON_DFSELECT, 1);
	uint32_t f_hi = r32(v->common, COMMON_DF);
	if (!(f_hi & (1u << (VIRTIO_F_VERSION_1 - 32))) || !(f_lo & (1u << VIRTIO_NET_F_MAC)))
		return false;
	uint32_t want_lo = (1u << VIRTIO_NET_F_MAC) | (f_lo & (1u << VIRTIO_NET_F_STATUS));
	if (!vcap_fits(v->devcfg_len, NETCFG_STATUS, sizeof(uint16_t)))
		want_lo &= ~(1u << VIRTIO_NET_F_STATUS);        /* no room for it */
	v->has_status = want_lo & (1u << VIRTIO_NET_F_STATUS);
	w32(v->common, COMMON_GFSELECT, 0);
	w32(v->common, COMMON_GF, want_lo);
	w32(v->common, COMMON_GFSELECT, 1);
	w32(v->common, COMMON_GF, 1u << (VIRTIO_F_VERSION_1 - 32));
	w8(v->common, COMMON_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
	return r8(v->common, COMMON_STATUS) & STATUS_FEATURES_OK;
}

struct netdev *vnet_init(uint32_t irq_apic_id)
{
	struct vnet *v = &vnet;
	if (!pci_find(VIRTIO_VENDOR, VIRTIO_NET_MODERN_ID, VIRTIO_NET_MODERN_ID, &v->pci) &&
	    !pci_find(VIRTIO_VENDOR, VIRTIO_NET_LEGACY_ID, VIRTIO_NET_LEGACY_ID, &v->pci)) {
		kprintf("vnet: no virtio-net device\n");
		return NULL;
	}
	if (v->pci.device == VIRTIO_NET_LEGACY_ID &&
	    pci_read16(&v->pci, 0x2e) != 1) {   /* subsystem id 1 = network */
		kprintf("vnet: transitional device is not a NIC\n");
		return NULL;
	}
	pci_enable(&v->pci);
	if (!map_caps(v)) {
		kprintf("vnet: %02x:%02x.%x has no modern virtio capabilities\n", v->pci.bus,
			v->pci.slot, v->pci.fn);
		return NULL;
	}
	const char *what = short_window(v);
	if (what) {
		kprintf("vnet: %s config window too short for its registers: device refused\n",
			what);
		return NULL;
	}
	if (!negotiate(v)) {
		w8(v->common, COMMON_STATUS, STATUS_FAILED);
		kprintf("vnet: feature negotiation failed\n");
		return NULL;
	}

	int vec = trap_alloc_vector();
	bool msix = vec >= 0 && pci_find_cap(&v->pci, PCI_CAP_MSIX, 0);
	uint16_t qvec = msix ? 0 : VIRTIO_MSI_NO_VECTOR;
	if (msix)
		w16(v->common, COMMON_MSIX_CONFIG, VIRTIO_MSI_NO_VECTOR);
	if (!setup_queue(v, RXQ, qvec) || !setup_queue(v, TXQ, VIRTIO_MSI_NO_VECTOR)) {
		w8(v->common, COMMON_STATUS, STATUS_FAILED);
		kprintf("vnet: queue setup failed\n");
		return NULL;
	}
	/* TX completions are reclaimed lazily: no interrupt for them. */
	v->q[TXQ].avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	for (uint16_t i = 0; i < v->q[RXQ].size; i++)
		virtq_add(&v->q[RXQ], (uint64_t)(v->bufs[RXQ] + (size_t)i * BUF_SIZE), BUF_SIZE, true);

	if (msix) {
		trap_set_handler(vec, vnet_irq, v);
		pci_msix_route(&v->pci, 0, vec, irq_apic_id);
		v->nd.irq_mode = "msi-x";
	} else {
		trap_set_handler(vec, vnet_irq_intx, v);
		if (!ioapic_route(v->pci.irq_line, vec, irq_apic_id, true))
			kprintf("vnet: cannot route irq %u\n", v->pci.irq_line);
		v->nd.irq_mode = "intx";
	}
	w8(v->common, COMMON_STATUS,
	   STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
	kick(v, RXQ);

	for (int i = 0; i < 6; i++)
		v->nd.mac[i] = r8(v->devcfg, NETCFG_MAC + i);
	v->nd.name = "vnet0";
	v->nd.mtu = NETDEV_MTU;
	v->nd.ops = &vnet_ops;
	v->nd.priv = v;
	kprintf("vnet: %02x:%02x.%x mac %02x:%02x:%02x:%02x:%02x:%02x, %u rx/%u tx buffers, "
		"irq %s vector 0x%x, link %s\n",
		v->pci.bus, v->pci.slot, v->pci.fn, v->nd.mac[0], v->nd.mac[1], v->nd.mac[2],
		v->nd.mac[3], v->nd.mac[4], v->nd.mac[5], v->q[RXQ].size, v->q[TXQ].size,
		v->nd.irq_mode, vec, vnet_link_up(&v->nd) ? "up" : "down");
	return &v->nd;
}
