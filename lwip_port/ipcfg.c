/* ipcfg.c - parses ip=dhcp and ip=A.B.C.D/P[,GW]. */
#include "ipcfg.h"

#include <stddef.h>

void ipcfg_fallback(struct ipcfg *c)
{
	c->dhcp = false;
	c->addr = 0x0a00020f;   /* 10.0.2.15 */
	c->mask = 0xffffff00;
	c->gw = 0x0a000202;     /* 10.0.2.2 */
}

bool ipcfg_parse_addr(const char *s, const char *end, uint32_t *out)
{
	uint32_t a = 0;
	int parts = 0;
	while (s < end) {
		uint32_t v = 0;
		int digits = 0;
		while (s < end && *s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (uint32_t)(*s++ - '0');
			digits++;
		}
		if (!digits || digits > 3 || v > 255)
			return false;
		a = a << 8 | v;
		parts++;
		if (s == end)
			break;
		if (*s != '.' || parts == 4)
			return false;
		s++;
		if (s == end)
			return false;
	}
	if (parts != 4)
		return false;
	*out = a;
	return true;
}

static const char *find(const char *s, const char *end, char c)
{
	while (s < end && *s != c)
		s++;
	return s;
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
	const char *slash = find(s, end, '/');
	if (slash == end)
		return -1;
	const char *comma = find(slash, end, ',');
	uint32_t addr, gw = 0, prefix = 0;
	if (!ipcfg_parse_addr(s, slash, &addr))
		return -1;
	const char *p = slash + 1;
	if (p == comma || comma - p > 2)
		return -1;
	for (; p < comma; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		prefix = prefix * 10 + (uint32_t)(*p - '0');
	}
	if (prefix < 1 || prefix > 32)
		return -1;
	if (comma < end && !ipcfg_parse_addr(comma + 1, end, &gw))
		return -1;
	c->dhcp = false;
	c->addr = addr;
	c->mask = prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix);
	c->gw = gw;
	return 0;
}
