/* test_vcap.c - the probe's checks of the virtio PCI capability windows
 * (drivers/virtio_net/vcap.c): a queue notify offset the notify window
 * does not hold refuses the device, one whose register ends exactly at
 * the window's end is accepted; window bounds never wrap. */
#include <stdint.h>

#include "../../drivers/virtio_net/vcap.h"
#include "check.h"

int main(void)
{
	/* QEMU's device: multiplier 4, a 4 KiB window, queue i at 4 * i. */
	CHECK(vcap_notify_offset(0x1000, 4, 0) == 0);
	CHECK(vcap_notify_offset(0x1000, 4, 1) == 4);

	/* The edge, 4.1.4.4.1: cap.length >= off * mult + 2. */
	CHECK(vcap_notify_offset(0x1000, 4, 1023) == 4092);
	CHECK(vcap_notify_offset(0x1000, 4, 1024) == -1);       /* starts at the end */
	CHECK(vcap_notify_offset(4094, 4, 1023) == 4092);       /* ends at the end */
	CHECK(vcap_notify_offset(4093, 4, 1023) == -1);         /* one byte outside */
	CHECK(vcap_notify_offset(6, 4, 1) == 4);
	CHECK(vcap_notify_offset(5, 4, 1) == -1);

	/* Multiplier 0: every queue shares offset 0, which needs 2 bytes. */
	CHECK(vcap_notify_offset(2, 0, 0xffff) == 0);
	CHECK(vcap_notify_offset(1, 0, 7) == -1);
	CHECK(vcap_notify_offset(0, 0, 0) == -1);

	/* Products past 32 bits are not truncated into the window: 2 * 2^31
	 * is 2^32, which a 32-bit multiply would make 0. */
	CHECK(vcap_notify_offset(0x1000, 0x80000000u, 2) == -1);
	CHECK(vcap_notify_offset(0x1000, 0x80000000u, 0) == 0);
	CHECK(vcap_notify_offset(0xffffffffu, 0xffffffffu, 0xffff) == -1);
	CHECK(vcap_notify_offset(0xffffffffu, 0xffffffffu, 1) == -1);   /* ends past 2^32-1 */
	CHECK(vcap_notify_offset(0xffffffffu, 0x7fffffffu, 2) == -1);   /* 0xfffffffe + 2 */
	CHECK(vcap_notify_offset(0xffffffffu, 0x7ffffffeu, 2) == 0xfffffffc);

	/* Window bounds: the last register of a window, and no wrap. */
	CHECK(vcap_fits(0x38, 0x30, 8));
	CHECK(!vcap_fits(0x37, 0x30, 8));
	CHECK(vcap_fits(8, 6, 2) && !vcap_fits(7, 6, 2));
	CHECK(vcap_fits(1, 0, 1) && !vcap_fits(0, 0, 1));
	CHECK(vcap_fits(8, 8, 0) && !vcap_fits(8, 9, 0));
	CHECK(!vcap_fits(16, UINT64_MAX, 2));
	CHECK(!vcap_fits(16, 2, UINT64_MAX));
	CHECK(!vcap_fits(0xffffffffu, 0xffffffffu, 1));

	return CHECK_DONE("vcap");
}
