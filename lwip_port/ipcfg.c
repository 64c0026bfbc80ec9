/* ipcfg.c - parses ip=dhcp and ip=A.B.C.D/P[,GW]. */
#include "ipcfg.h"

#include <stddef.h>

#include "../kernel/parse.h"

void ipcfg_fallback(struct ipcfg *c)
{
	c->dhcp = false;
	c->addr = 0x0a00020f;   /* 10.0.2.15 */
	c->mask = 0xffffff00;
	c->gw = 0x0a000202;     /* 10.0.2.2 */
}

static const char *find(const char *s, const char *end, char c)
{
	while (s < end && *s != c)
		s++;
	return s;
}

bool ipcfg_parse_addr(const char *s, const char *end, uint32_t *out)
{
	uint32_t a = 0;
	for (int part = 0; part < 4; part++) {
		const char *dot = part < 3 ? find(s, end, '.') : end;
		uint64_t v;
		if (dot - s > 3 || parse_u64(s, (size_t)(dot - s), 255, &v) != PARSE_OK)
			return false;
		a = a << 8 | (uint32_t)v;
		if (part < 3 && dot == end)
			return false;
		s = dot + 1;
	}
	*out = a;
	return true;
}

/* "<addr>/<prefix>" in [s, end), 0..32 bits: the address as written and
 * the prefix's mask. */
static bool parse_net(const char *s, const char *end, uint32_t *addr, uint32_t *mask)
{
	const char *slash = find(s, end, '/');
	uint64_t prefix;
	if (slash == end || !ipcfg_parse_addr(s, slash, addr) || end - (slash + 1) > 2 ||
	    parse_u64(slash + 1, (size_t)(end - slash - 1), 32, &prefix) != PARSE_OK)
		return false;
	*mask = prefix == 0 ? 0 : ~(0xffffffffu >> (prefix - 1) >> 1);
	return true;
}

int ipcfg_parse(const char *s, struct ipcfg *c)
{
	c->dhcp = true;
	c->addr = c->mask = c->gw = 0;
	if (!s)
		return 0;
	const char *end = s;
	while (*end)
		end++;
	if (end - s == 4 && s[0] == 'd' && s[1] == 'h' && s[2] == 'c' && s[3] == 'p')
		return 0;
	const char *comma = find(s, end, ',');
	uint32_t addr, mask, gw = 0;
	if (!parse_net(s, comma, &addr, &mask) || !mask)
		return -1;
	if (comma < end && !ipcfg_parse_addr(comma + 1, end, &gw))
		return -1;
	c->dhcp = false;
	c->addr = addr;
	c->mask = mask;
	c->gw = gw;
	return 0;
}

int ipcfg_parse_nets(const char *s, struct ipnets *l)
{
	l->n = 0;
	if (!s || !*s)
		return -1;
	const char *end = s;
	while (*end)
		end++;
	while (s <= end) {
		const char *comma = find(s, end, ',');
		uint32_t addr, mask;
		if (l->n == IPCFG_NETS_MAX || !parse_net(s, comma, &addr, &mask)) {
			l->n = 0;
			return -1;
		}
		l->net[l->n].net = addr & mask;
		l->net[l->n].mask = mask;
		l->n++;
		s = comma + 1;
	}
	return 0;
}

bool ipcfg_nets_match(const struct ipnets *l, uint32_t addr)
{
	for (int i = 0; i < l->n; i++)
		if ((addr & l->net[i].mask) == l->net[i].net)
			return true;
	return false;
}
