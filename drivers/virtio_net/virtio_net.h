/* virtio_net.h - the virtio-net driver's one entry point. */
#ifndef DRIVERS_VIRTIO_NET_H
#define DRIVERS_VIRTIO_NET_H

#include <stdint.h>

#include "../netdev.h"

/* Finds the first virtio-net PCI device, negotiates VIRTIO 1.0 (modern
 * interface), fills the RX ring and routes its interrupt to the core with
 * APIC ID irq_apic_id. Returns NULL when there is no device or it cannot
 * be driven. */
struct netdev *vnet_init(uint32_t irq_apic_id);

#endif
