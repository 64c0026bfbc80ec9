/* test_cmdline.c - the boot command line parser (API.md section 4). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernel/cmdline.h"
#include "check.h"

int main(void)
{
	struct cmdline *cl = malloc(sizeof(*cl));
	uint64_t v;

	cmdline_parse(cl, NULL);
	CHECK(cl->nopts == 0);
	cmdline_parse(cl, "");
	CHECK(cl->nopts == 0);
	CHECK(cmdline_get(cl, "ip") == NULL);

	cmdline_parse(cl, "  ip=10.0.0.2/24,10.0.0.1\tudp_port=7000  quiet token=a=b \n");
	CHECK(cl->nopts == 4);
	CHECK(strcmp(cmdline_get(cl, "ip"), "10.0.0.2/24,10.0.0.1") == 0);
	CHECK(strcmp(cmdline_get(cl, "quiet"), "") == 0);
	CHECK(strcmp(cmdline_get(cl, "token"), "a=b") == 0);   /* first '=' splits */
	CHECK(cmdline_get(cl, "udp") == NULL);                  /* no prefix match */
	CHECK(cmdline_get_u64(cl, "udp_port", 1, 65535, 5555, &v) && v == 7000);
	CHECK(cmdline_get_u64(cl, "http_port", 1, 65535, 80, &v) && v == 80);

	cmdline_parse(cl, "udp_port=1 udp_port=2");
	CHECK(cmdline_get_u64(cl, "udp_port", 1, 65535, 5555, &v) && v == 2);  /* last wins */

	const char *bad[] = { "udp_port=", "udp_port=-1", "udp_port=0x10", "udp_port=65536",
			      "udp_port=0", "udp_port=12a", "udp_port=99999999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cmdline_parse(cl, bad[i]);
		CHECK(!cmdline_get_u64(cl, "udp_port", 1, 65535, 5555, &v));
		CHECK(v == 5555);
	}
	cmdline_parse(cl, "udp_port=18446744073709551615");
	CHECK(cmdline_get_u64(cl, "udp_port", 0, UINT64_MAX, 1, &v) && v == UINT64_MAX);
	cmdline_parse(cl, "udp_port=18446744073709551616");
	CHECK(!cmdline_get_u64(cl, "udp_port", 0, UINT64_MAX, 1, &v));

	/* Too many options and too long a line are cut, and say so. */
	char line[CMDLINE_MAX * 2];
	line[0] = '\0';
	for (int i = 0; i < CMDLINE_MAX_OPTS + 5; i++)
		strcat(line, "k=v ");
	cmdline_parse(cl, line);
	CHECK(cl->nopts == CMDLINE_MAX_OPTS && cl->dropped == 5);
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	cmdline_parse(cl, line);
	CHECK(cl->truncated && cl->nopts == 1 && strlen(cl->opts[0].key) == CMDLINE_MAX - 1);

	/* The console's copy: a token's value never shows, other options do. */
	char out[128];
	cmdline_redact("ip=dhcp token=s3cret udp_port=5555", "token", out, sizeof(out));
	CHECK(!strcmp(out, "ip=dhcp token=*** udp_port=5555"));
	cmdline_redact("token=a\ttoken=bb mytoken=c token", "token", out, sizeof(out));
	CHECK(!strcmp(out, "token=***\ttoken=*** mytoken=c token"));
	cmdline_redact("token=", "token", out, sizeof(out));
	CHECK(!strcmp(out, "token=***"));
	cmdline_redact("a=1 token=s3cret", "token", out, 9);    /* cut short, still hidden */
	CHECK(!strcmp(out, "a=1 toke") && !strstr(out, "s3"));
	cmdline_redact("a=1 token=s3cret", "token", out, 13);
	CHECK(!strcmp(out, "a=1 token=**") && !strstr(out, "s3"));
	cmdline_redact("", "token", out, sizeof(out));
	CHECK(!strcmp(out, ""));
	/* Every separator the parser knows starts a word here too. */
	cmdline_redact("a=1\ntoken=s3cret\r\ntoken=x", "token", out, sizeof(out));
	CHECK(!strcmp(out, "a=1\ntoken=***\r\ntoken=***") && !strstr(out, "s3"));

	free(cl);
	return CHECK_DONE("cmdline");
}
