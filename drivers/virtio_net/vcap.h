/* vcap.h - checks of what a virtio PCI device says about its capability
 * windows (VIRTIO 1.0, 4.1.4), made before the driver touches a register
 * in them. Pure: the host unit test calls it with the values a device
 * could offer. */
#ifndef VIRTIO_VCAP_H
#define VIRTIO_VCAP_H

#include <stdbool.h>
#include <stdint.h>

/* A queue's notify register is 16 bits (4.1.4.4). */
#define VCAP_NOTIFY_REG_SIZE    2

/* True when `size` bytes at byte `off` lie inside a window of cap_len
 * bytes (the capability's length field). */
bool vcap_fits(uint32_t cap_len, uint64_t off, uint64_t size);

/* The byte offset of a queue's notify register in the notify window,
 * queue_notify_off * notify_off_multiplier (4.1.4.4), or -1 when its two
 * bytes are not inside the cap_len bytes the device offers ("cap.length >=
 * queue_notify_off * notify_off_multiplier + 2", 4.1.4.4.1). */
int64_t vcap_notify_offset(uint32_t cap_len, uint32_t notify_mult, uint16_t queue_notify_off);

#endif
