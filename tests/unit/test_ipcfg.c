/* test_ipcfg.c - the ip= boot parameter (API.md section 4). */
#include <stdint.h>

#include "../../lwip_port/ipcfg.h"
#include "check.h"

int main(void)
{
	struct ipcfg c;
	CHECK(ipcfg_parse(NULL, &c) == 0 && c.dhcp);
	CHECK(ipcfg_parse("dhcp", &c) == 0 && c.dhcp);
	CHECK(ipcfg_parse("10.0.2.15/24,10.0.2.2", &c) == 0);
	CHECK(!c.dhcp && c.addr == 0x0a00020f && c.mask == 0xffffff00 && c.gw == 0x0a000202);
	CHECK(ipcfg_parse("192.168.1.7/32", &c) == 0 && c.mask == 0xffffffff && c.gw == 0);
	CHECK(ipcfg_parse("1.2.3.4/1", &c) == 0 && c.mask == 0x80000000);
	CHECK(ipcfg_parse("001.002.003.004/8", &c) == 0 && c.addr == 0x01020304);
	const char *bad[] = { "", "dhcpx", "DHCP", "10.0.2.15", "10.0.2.15/", "10.0.2.15/0",
			      "10.0.2.15/33", "10.0.2.15/2x", "10.0.2.256/24", "10.0.2/24",
			      "10.0.2.15.1/24", "10..2.15/24", "10.0.2.15./24", "a.b.c.d/24",
			      "10.0.2.15/24,", "10.0.2.15/24,10.0.2", "10.0.2.15/24,10.0.2.2,",
			      "-1.0.0.0/8", "10.0.2.15/124", "1000.0.0.1/8" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = ipcfg_parse(bad[i], &c);
		CHECK(r == -1);
		if (r != -1)
			fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
		CHECK(c.dhcp);
	}
	ipcfg_fallback(&c);
	CHECK(!c.dhcp && c.addr == 0x0a00020f && c.gw == 0x0a000202 && c.mask == 0xffffff00);
	/* udp_allow= lists. */
	struct ipnets l;
	CHECK(ipcfg_parse_nets("10.0.2.2/32", &l) == 0 && l.n == 1);
	CHECK(ipcfg_nets_match(&l, 0x0a000202) && !ipcfg_nets_match(&l, 0x0a000203));
	CHECK(ipcfg_parse_nets("10.77.0.0/24,192.168.1.9/32,172.16.5.5/12", &l) == 0 && l.n == 3);
	CHECK(ipcfg_nets_match(&l, 0x0a4d00fe) && !ipcfg_nets_match(&l, 0x0a4d0100));
	CHECK(ipcfg_nets_match(&l, 0xc0a80109) && !ipcfg_nets_match(&l, 0xc0a80108));
	CHECK(ipcfg_nets_match(&l, 0xac1f0001) && !ipcfg_nets_match(&l, 0xac200000));     /* 172.16/12 */
	CHECK(ipcfg_parse_nets("0.0.0.0/0", &l) == 0 && ipcfg_nets_match(&l, 0xffffffff));
	CHECK(ipcfg_parse_nets("0.0.0.0/32", &l) == 0 && !ipcfg_nets_match(&l, 0x0a000202));
	const char *badnets[] = { "", "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/24,",
				  ",10.0.0.0/24", "10.0.0.0/24,,1.2.3.4/8", "10.0.0/24", "10.0.0.0/24 ",
				  "10.0.0.0/-1", "10.0.0.0/8x",
				  "1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8,5.0.0.0/8,6.0.0.0/8,7.0.0.0/8,"
				  "8.0.0.0/8,9.0.0.0/8,10.0.0.0/8,11.0.0.0/8,12.0.0.0/8,13.0.0.0/8,"
				  "14.0.0.0/8,15.0.0.0/8,16.0.0.0/8,17.0.0.0/8" };
	for (unsigned i = 0; i < sizeof(badnets) / sizeof(badnets[0]); i++) {
		int r = ipcfg_parse_nets(badnets[i], &l);
		CHECK(r == -1 && l.n == 0);
		if (r != -1)
			fprintf(stderr, "  accepted \"%s\"\n", badnets[i]);
	}
	return CHECK_DONE("ipcfg");
}
