/* virtio_net.h - the virtio-net driver's one entry point. */
#ifndef DRIVERS_VIRTIO_NET_H
#define DRIVERS_VIRTIO_NET_H

#include "../netdev.h"

/* Finds the first virtio-net PCI device, negotiates VIRTIO 1.0 (modern
 * interface), fills the RX ring and routes its interrupt to the BSP.
 * Returns NULL when there is no device or it cannot be driven. */
struct netdev *vnet_init(void);

#endif
