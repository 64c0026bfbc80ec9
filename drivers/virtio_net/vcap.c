/* vcap.c - bounds of the virtio PCI capability windows (VIRTIO 1.0,
 * 4.1.4). The values come from the device: a notify offset past the
 * window would have the driver write to whatever physical memory follows
 * it, so the device is refused instead. */
#include "vcap.h"

bool vcap_fits(uint32_t cap_len, uint64_t off, uint64_t size)
{
	/* No sum: nothing can wrap, whatever the device said. */
	return off <= cap_len && size <= cap_len - off;
}

int64_t vcap_notify_offset(uint32_t cap_len, uint32_t notify_mult, uint16_t queue_notify_off)
{
	uint64_t off = (uint64_t)queue_notify_off * notify_mult;       /* < 2^48 */
	if (!vcap_fits(cap_len, off, VCAP_NOTIFY_REG_SIZE))
		return -1;
	return (int64_t)off;
}
