/* primectl - host client of the appliance (API.md section 2).
 *
 *   primectl udp HOST:PORT LIMIT [TASKS [MODE]] [--timeout S] [--retries N] [--no-check]
 *
 * Sends one request, retries when no answer comes within the timeout,
 * prints the reply and the wall time measured here, and checks the result
 * against its own count_primes_below (the same source file the image runs)
 * for limits up to CHECK_LIMIT, or the spec's reference values above.
 * Exit: 0 correct, 1 wrong result, 2 no answer, 3 usage, 4 ERR reply,
 * 5 malformed reply. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../appliance/jobs/primes.h"

#define CHECK_LIMIT 20000000ULL

static const struct {
	uint64_t limit, count;
} reference[] = {
	{ 10, 4 }, { 100, 25 }, { 100000, 9592 }, { 1000000, 78498 }, { 10000000, 664579 },
	{ 100000000, 5761455 },
};

static void usage(void)
{
	fprintf(stderr,
		"usage: primectl udp HOST:PORT LIMIT [TASKS [repeat|split]] [--timeout SECONDS]\n"
		"                [--retries N] [--no-check]\n"
		"  Sends \"LIMIT TASKS MODE\" to the appliance's UDP compute endpoint, prints\n"
		"  the reply and the wall time, and checks the result.\n");
	exit(3);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_u64(const char *s, uint64_t *out)
{
	if (!*s)
		return 0;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || errno || *s == '-' || *s == '+')
		return 0;
	*out = v;
	return 1;
}

/* Expected result, or -1 when unknown (limit too big to check here). */
static int expected(uint64_t limit, uint64_t tasks, int split, uint64_t *out)
{
	uint64_t pi = 0;
	int known = 0;
	if (limit <= CHECK_LIMIT) {
		pi = count_primes_below(limit);
		known = 1;
	} else {
		for (size_t i = 0; i < sizeof(reference) / sizeof(reference[0]); i++)
			if (reference[i].limit == limit) {
				pi = reference[i].count;
				known = 1;
			}
	}
	if (!known)
		return -1;
	*out = split ? pi : pi * tasks;
	return 0;
}

int main(int argc, char **argv)
{
	double timeout = 30;
	int retries = 3, check = 1;
	const char *pos[6];
	int npos = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			timeout = atof(argv[++i]);
			if (timeout <= 0)
				usage();
		} else if (!strcmp(argv[i], "--retries") && i + 1 < argc) {
			retries = atoi(argv[++i]);
			if (retries < 0)
				usage();
		} else if (!strcmp(argv[i], "--no-check")) {
			check = 0;
		} else if (argv[i][0] == '-' && argv[i][1] == '-') {
			usage();
		} else if (npos < 6) {
			pos[npos++] = argv[i];
		} else {
			usage();
		}
	}
	if (npos < 3 || npos > 5 || strcmp(pos[0], "udp"))
		usage();

	char host[256];
	const char *colon = strrchr(pos[1], ':');
	if (!colon || colon == pos[1] || (size_t)(colon - pos[1]) >= sizeof(host))
		usage();
	memcpy(host, pos[1], (size_t)(colon - pos[1]));
	host[colon - pos[1]] = '\0';
	uint64_t limit, tasks = 1;
	int split = 0;
	if (!parse_u64(pos[2], &limit) || (npos >= 4 && !parse_u64(pos[3], &tasks)))
		usage();
	if (npos == 5) {
		if (!strcmp(pos[4], "split"))
			split = 1;
		else if (strcmp(pos[4], "repeat"))
			usage();
	}

	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM }, *ai;
	int rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc) {
		fprintf(stderr, "primectl: %s: %s\n", pos[1], gai_strerror(rc));
		return 3;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		perror("primectl: socket");
		return 2;
	}
	freeaddrinfo(ai);

	char req[128];
	int rlen = snprintf(req, sizeof(req), "%" PRIu64 " %" PRIu64 " %s\n", limit, tasks,
			    split ? "split" : "repeat");
	char reply[1024];
	ssize_t n = -1;
	double t0 = now_s(), t_send = t0;
	for (int attempt = 0; attempt <= retries && n < 0; attempt++) {
		if (attempt)
			fprintf(stderr, "primectl: no answer in %.1f s, retrying (%d/%d)\n", timeout,
				attempt, retries);
		t_send = now_s();
		if (send(fd, req, (size_t)rlen, 0) != rlen) {
			perror("primectl: send");
			return 2;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		double deadline = t_send + timeout;
		while (n < 0) {
			double left = deadline - now_s();
			if (left <= 0)
				break;
			int pr = poll(&pfd, 1, (int)(left * 1000) + 1);
			if (pr < 0 && errno != EINTR) {
				perror("primectl: poll");
				return 2;
			}
			if (pr > 0) {
				n = recv(fd, reply, sizeof(reply) - 1, 0);
				if (n < 0 && errno != ECONNREFUSED && errno != EINTR) {
					perror("primectl: recv");
					return 2;
				}
			}
		}
	}
	double wall = now_s() - t_send;
	if (n < 0) {
		fprintf(stderr, "primectl: no answer from %s after %d tries\n", pos[1], retries + 1);
		return 2;
	}
	reply[n] = '\0';
	printf("%s", reply);
	if (n == 0 || reply[n - 1] != '\n')
		printf("\n");
	printf("wall_us=%.0f\n", wall * 1e6);
	if (!strncmp(reply, "ERR ", 4))
		return 4;

	uint64_t result, rtasks, cores, us;
	char mode[16];
	if (sscanf(reply, "%" SCNu64 " tasks=%" SCNu64 " mode=%15s cores=%" SCNu64 " us=%" SCNu64,
		   &result, &rtasks, mode, &cores, &us) != 5) {
		fprintf(stderr, "primectl: malformed reply\n");
		return 5;
	}
	if (rtasks != tasks || strcmp(mode, split ? "split" : "repeat")) {
		fprintf(stderr, "primectl: reply is for another request\n");
		return 5;
	}
	uint64_t want;
	if (!check) {
		printf("check: skipped (--no-check)\n");
	} else if (expected(limit, tasks, split, &want) < 0) {
		printf("check: skipped (limit %" PRIu64 " above %llu and not a reference value)\n",
		       limit, CHECK_LIMIT);
	} else if (want != result) {
		printf("check: WRONG, expected %" PRIu64 "\n", want);
		return 1;
	} else {
		printf("check: ok\n");
	}
	return 0;
}
