/* primectl - host client of the appliance (API.md sections 2 and 3).
 *
 *   primectl udp HOST:PORT [HOST:PORT...] LIMIT [TASKS [MODE]] [--parts P]
 *                [--timeout S] [--retries N] [--no-check]
 *   primectl status HOST:PORT [HOST:PORT...]
 *
 * udp: sends one job, retries when no answer comes within the timeout,
 * prints the reply and the wall time measured here, and checks the result
 * against its own count_primes_below (the same source file the image runs)
 * for limits up to CHECK_LIMIT, or the spec's reference values above.
 * With several addresses (or --parts above 1, for one balancer address),
 * a repeat job's tasks are split into parts sent at once, part i to
 * address i modulo the count; a part that gets no answer, a refusal (ICMP
 * port unreachable) or an empty datagram (nginx's word for a member that
 * refused) is sent again to the next address; the results are summed. A split job cannot be cut across appliances (the request
 * has no range): it goes whole to the first address, retries to the next.
 *
 * status: GET /api/status from each HTTP address and one table of every
 * appliance's cores.
 *
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

#define JSMN_STATIC
#include <jsmn.h>

#include "../appliance/jobs/primes.h"

#define CHECK_LIMIT 20000000ULL
#define MAX_ADDRS   64
#define MAX_PARTS   1024

static const struct {
	uint64_t limit, count;
} reference[] = {
	{ 10, 4 }, { 100, 25 }, { 100000, 9592 }, { 1000000, 78498 }, { 10000000, 664579 },
	{ 100000000, 5761455 },
};

static void usage(void)
{
	fprintf(stderr,
		"usage: primectl udp HOST:PORT [HOST:PORT...] LIMIT [TASKS [repeat|split]]\n"
		"                [--parts P] [--timeout SECONDS] [--retries N] [--no-check]\n"
		"       primectl status HOST:PORT [HOST:PORT...]\n"
		"  udp: sends \"LIMIT TASKS MODE\" to the appliance's UDP compute endpoint,\n"
		"  prints the reply and the wall time, and checks the result. Several\n"
		"  addresses (or --parts P for one balancer's address) split a repeat job's\n"
		"  tasks into parts sent at once, each retried on the next address when\n"
		"  unanswered, and sum the results.\n"
		"  status: GET /api/status from each appliance's HTTP port, one table of\n"
		"  every appliance's cores.\n");
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

/* HOST:PORT -> an IPv4 address; 0 on success, else prints why. */
static int resolve(const char *text, int socktype, struct sockaddr_in *out)
{
	char host[256];
	const char *colon = strrchr(text, ':');
	if (!colon || colon == text || (size_t)(colon - text) >= sizeof(host) || !colon[1])
		return -1;
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = socktype }, *ai;
	int rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc) {
		fprintf(stderr, "primectl: %s: %s\n", text, gai_strerror(rc));
		return -1;
	}
	memcpy(out, ai->ai_addr, sizeof(*out));
	freeaddrinfo(ai);
	return 0;
}

/* ---- udp: one job, maybe in parts ---------------------------------------- */

struct addr {
	const char *text;
	struct sockaddr_in sa;
};

/* One request of a job: all its tasks, or its share of them. */
struct part {
	uint64_t tasks;
	int addr;               /* index of the address it was last sent to */
	int fd;
	int sends;
	double sent;            /* time of the last send */
	double deadline;        /* when to give up on the last send */
	int refused;            /* the last send met ICMP port unreachable */
	ssize_t n;              /* reply length, -1 until one came */
	char reply[1024];
};

/* After a refusal, wait this long before the next try, so that a client
 * does not burn its retries in microseconds against a QEMU restarting. */
#define REFUSED_PAUSE 0.5

static int part_send(struct part *p, const struct addr *a, const char *req, int rlen,
		     double timeout)
{
	if (connect(p->fd, (const struct sockaddr *)&a->sa, sizeof(a->sa)) < 0 ||
	    send(p->fd, req, (size_t)rlen, 0) != rlen) {
		if (errno != ECONNREFUSED) {
			perror("primectl: send");
			return -1;
		}
		p->refused = 1;
	}
	p->sends++;
	p->sent = now_s();
	p->deadline = p->sent + (p->refused ? REFUSED_PAUSE : timeout);
	return 0;
}

static int cmd_udp(struct addr *addrs, int naddrs, uint64_t limit, uint64_t tasks, int split,
		   uint64_t nparts, double timeout, int retries, int check)
{
	if (split)
		nparts = 1;
	else if (nparts > tasks && tasks > 0)
		nparts = tasks;
	static struct part parts[MAX_PARTS];
	const char *mode = split ? "split" : "repeat";
	char req[MAX_PARTS][64];
	int rlen[MAX_PARTS];
	for (uint64_t i = 0; i < nparts; i++) {
		struct part *p = &parts[i];
		p->tasks = tasks / nparts + (i < tasks % nparts ? 1 : 0);
		p->addr = (int)(i % (uint64_t)naddrs);
		p->n = -1;
		p->fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (p->fd < 0) {
			perror("primectl: socket");
			return 2;
		}
		rlen[i] = snprintf(req[i], sizeof(req[i]), "%" PRIu64 " %" PRIu64 " %s\n", limit,
				   p->tasks, mode);
	}
	double t0 = now_s();
	for (uint64_t i = 0; i < nparts; i++)
		if (part_send(&parts[i], &addrs[parts[i].addr], req[i], rlen[i], timeout) < 0)
			return 2;

	struct pollfd pfd[MAX_PARTS];
	uint64_t left = nparts;
	while (left) {
		double now = now_s(), next = now + 3600;
		int np = 0;
		for (uint64_t i = 0; i < nparts; i++) {
			struct part *p = &parts[i];
			if (p->n >= 0)
				continue;
			if (now >= p->deadline) {
				if (p->sends > retries) {
					if (nparts == 1)
						fprintf(stderr, "primectl: no answer from %s after %d tries\n",
							addrs[p->addr].text, retries + 1);
					else
						fprintf(stderr, "primectl: part %" PRIu64 ": no answer after "
							"%d tries (last %s)\n", i + 1, retries + 1,
							addrs[p->addr].text);
					return 2;
				}
				int from = p->addr;
				p->addr = (p->addr + 1) % naddrs;
				if (nparts == 1 && naddrs == 1 && !p->refused)
					fprintf(stderr, "primectl: no answer in %.1f s, retrying (%d/%d)\n",
						timeout, p->sends, retries);
				else
					fprintf(stderr, "primectl: part %" PRIu64 ": %s %s, retrying at %s "
						"(%d/%d)\n", i + 1, addrs[from].text, p->refused ?
						"refused (port unreachable or an empty answer)" :
						"did not answer in time",
						addrs[p->addr].text, p->sends, retries);
				p->refused = 0;
				if (part_send(p, &addrs[p->addr], req[i], rlen[i], timeout) < 0)
					return 2;
			}
			if (p->deadline < next)
				next = p->deadline;
			pfd[np].fd = p->fd;
			pfd[np].events = POLLIN;
			pfd[np].revents = 0;
			np++;
		}
		int wait_ms = (int)((next - now_s()) * 1000) + 1;
		int pr = poll(pfd, (nfds_t)np, wait_ms < 0 ? 0 : wait_ms);
		if (pr < 0 && errno != EINTR) {
			perror("primectl: poll");
			return 2;
		}
		for (int k = 0; pr > 0 && k < np; k++) {
			if (!pfd[k].revents)
				continue;
			struct part *p = NULL;
			uint64_t i;
			for (i = 0; i < nparts; i++)
				if (parts[i].fd == pfd[k].fd) {
					p = &parts[i];
					break;
				}
			ssize_t n = recv(p->fd, p->reply, sizeof(p->reply) - 1, 0);
			if (n == 0) {
				/* nginx's UDP proxy answers an empty datagram
				 * when the member it chose refused: like a
				 * refusal, try again soon */
				p->refused = 1;
				if (p->deadline > p->sent + REFUSED_PAUSE)
					p->deadline = p->sent + REFUSED_PAUSE;
			} else if (n > 0) {
				p->n = n;
				p->reply[n] = '\0';
				left--;
			} else if (errno == ECONNREFUSED) {
				/* nobody behind that port now: try the next one soon */
				p->refused = 1;
				if (p->deadline > p->sent + REFUSED_PAUSE)
					p->deadline = p->sent + REFUSED_PAUSE;
			} else if (errno != EINTR) {
				perror("primectl: recv");
				return 2;
			}
		}
	}
	/* a single request is timed from its last send, as ever; a job in
	 * parts from its first send to its last answer */
	double wall = now_s() - (nparts == 1 ? parts[0].sent : t0);

	uint64_t sum = 0, us_max = 0;
	int rc = 0;
	for (uint64_t i = 0; i < nparts; i++) {
		struct part *p = &parts[i];
		if (nparts > 1)
			printf("part %" PRIu64 " %s: ", i + 1, addrs[p->addr].text);
		printf("%s", p->reply);
		if (p->n == 0 || p->reply[p->n - 1] != '\n')
			printf("\n");
		if (!strncmp(p->reply, "ERR ", 4)) {
			rc = rc ? rc : 4;
			continue;
		}
		uint64_t result, rtasks, cores, us;
		char rmode[16];
		if (sscanf(p->reply, "%" SCNu64 " tasks=%" SCNu64 " mode=%15s cores=%" SCNu64
			   " us=%" SCNu64, &result, &rtasks, rmode, &cores, &us) != 5) {
			fprintf(stderr, "primectl: malformed reply\n");
			rc = rc ? rc : 5;
			continue;
		}
		if (rtasks != p->tasks || strcmp(rmode, mode)) {
			fprintf(stderr, "primectl: reply is for another request\n");
			rc = rc ? rc : 5;
			continue;
		}
		sum += result;
		if (us > us_max)
			us_max = us;
	}
	if (nparts > 1 && !rc)
		printf("%" PRIu64 " tasks=%" PRIu64 " mode=%s parts=%" PRIu64 " us=%" PRIu64 "\n",
		       sum, tasks, mode, nparts, us_max);
	printf("wall_us=%.0f\n", wall * 1e6);
	if (rc)
		return rc;

	uint64_t want;
	if (!check) {
		printf("check: skipped (--no-check)\n");
	} else if (expected(limit, tasks, split, &want) < 0) {
		printf("check: skipped (limit %" PRIu64 " above %llu and not a reference value)\n",
		       limit, CHECK_LIMIT);
	} else if (want != sum) {
		printf("check: WRONG, expected %" PRIu64 "\n", want);
		return 1;
	} else {
		printf("check: ok\n");
	}
	return 0;
}

/* ---- status: every appliance's cores ------------------------------------- */

/* GET /api/status; returns the body (malloc'd) or NULL, *why set. */
static char *http_get_status(const struct sockaddr_in *sa, double timeout, const char **why)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		*why = strerror(errno);
		return NULL;
	}
	struct timeval tv = { .tv_sec = (time_t)timeout,
			      .tv_usec = (suseconds_t)((timeout - (double)(time_t)timeout) * 1e6) };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	static const char req[] = "GET /api/status HTTP/1.1\r\nHost: appliance\r\n"
				  "Connection: close\r\n\r\n";
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ||
	    send(fd, req, sizeof(req) - 1, 0) != (ssize_t)(sizeof(req) - 1)) {
		*why = strerror(errno);
		close(fd);
		return NULL;
	}
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			*why = "out of memory";
			close(fd);
			return NULL;
		}
		if (len + 1 == cap) {
			if (cap >= (16u << 20)) {
				*why = "answer too large";
				break;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				continue;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*why = errno == EAGAIN ? "timed out" : strerror(errno);
			break;
		}
		if (n == 0) {
			*why = NULL;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	if (*why) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	char *body = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.1 200 ", 13) || !body) {
		*why = "not a 200 answer";
		free(buf);
		return NULL;
	}
	memmove(buf, body + 4, len - (size_t)(body + 4 - buf) + 1);
	return buf;
}

/* jsmn tokens: the index after token i and everything under it (an
 * object's key tokens have their value as their one child). */
static int tok_next(const jsmntok_t *t, int i)
{
	int j = i + 1;
	for (int k = 0; k < t[i].size; k++)
		j = tok_next(t, j);
	return j;
}

/* The value of key in the object at token i, or -1. */
static int tok_get(const char *js, const jsmntok_t *t, int i, const char *key)
{
	if (t[i].type != JSMN_OBJECT)
		return -1;
	size_t klen = strlen(key);
	int j = i + 1;
	for (int k = 0; k < t[i].size; k++) {
		if (t[j].type == JSMN_STRING && (size_t)(t[j].end - t[j].start) == klen &&
		    !memcmp(js + t[j].start, key, klen) && t[j].size == 1)
			return j + 1;
		j = tok_next(t, j);
	}
	return -1;
}

static int tok_u64(const char *js, const jsmntok_t *t, int i, uint64_t *out)
{
	char num[24];
	if (i < 0 || t[i].type != JSMN_PRIMITIVE || t[i].end - t[i].start >= (int)sizeof(num))
		return -1;
	memcpy(num, js + t[i].start, (size_t)(t[i].end - t[i].start));
	num[t[i].end - t[i].start] = '\0';
	return parse_u64(num, out) ? 0 : -1;
}

static void tok_str(const char *js, const jsmntok_t *t, int i, char *out, size_t size)
{
	if (i < 0 || t[i].type != JSMN_STRING || (size_t)(t[i].end - t[i].start) >= size) {
		snprintf(out, size, "?");
		return;
	}
	memcpy(out, js + t[i].start, (size_t)(t[i].end - t[i].start));
	out[t[i].end - t[i].start] = '\0';
}

struct totals {
	int answered;
	uint64_t cores, tasks, accepted, done;
};

/* Prints one appliance's rows; 0, or 5 when its answer is not the
 * status document. */
static int status_rows(const char *name, const char *js, struct totals *tot)
{
	jsmn_parser jp;
	jsmn_init(&jp);
	int ntok = jsmn_parse(&jp, js, strlen(js), NULL, 0);
	if (ntok <= 0)
		goto err_malformed;
	jsmntok_t *t = calloc((size_t)ntok, sizeof(*t));
	if (!t)
		goto err_malformed;
	jsmn_init(&jp);
	if (jsmn_parse(&jp, js, strlen(js), t, (unsigned)ntok) != ntok)
		goto err_free;
	int cores = tok_get(js, t, 0, "cores");
	if (cores < 0 || t[cores].type != JSMN_ARRAY)
		goto err_free;
	int c = cores + 1;
	for (int k = 0; k < t[cores].size; k++, c = tok_next(t, c)) {
		uint64_t id, apic, halts, wakes, tasks, busy;
		char role[8], state[12];
		if (tok_u64(js, t, tok_get(js, t, c, "id"), &id) ||
		    tok_u64(js, t, tok_get(js, t, c, "apic_id"), &apic) ||
		    tok_u64(js, t, tok_get(js, t, c, "halts"), &halts) ||
		    tok_u64(js, t, tok_get(js, t, c, "wakes"), &wakes) ||
		    tok_u64(js, t, tok_get(js, t, c, "tasks_done"), &tasks) ||
		    tok_u64(js, t, tok_get(js, t, c, "busy_us"), &busy))
			goto err_free;
		tok_str(js, t, tok_get(js, t, c, "role"), role, sizeof(role));
		tok_str(js, t, tok_get(js, t, c, "state"), state, sizeof(state));
		printf("%-21s %5" PRIu64 " %5" PRIu64 "  %-4s %-7s %9" PRIu64 " %9" PRIu64
		       " %9" PRIu64 " %12" PRIu64 "\n", name, id, apic, role, state, halts, wakes,
		       tasks, busy);
		tot->cores++;
		tot->tasks += tasks;
	}
	int jobs = tok_get(js, t, 0, "jobs");
	uint64_t v;
	if (!tok_u64(js, t, tok_get(js, t, jobs, "accepted"), &v))
		tot->accepted += v;
	if (!tok_u64(js, t, tok_get(js, t, jobs, "done"), &v))
		tot->done += v;
	tot->answered++;
	free(t);
	return 0;
err_free:
	free(t);
err_malformed:
	printf("%-21s (malformed status document)\n", name);
	return 5;
}

static int cmd_status(struct addr *addrs, int naddrs)
{
	struct totals tot = { 0 };
	int rc = 0;
	printf("%-21s %5s %5s  %-4s %-7s %9s %9s %9s %12s\n", "APPLIANCE", "CORE", "APIC", "ROLE",
	       "STATE", "HALTS", "WAKES", "TASKS", "BUSY_US");
	for (int i = 0; i < naddrs; i++) {
		const char *why = NULL;
		char *js = http_get_status(&addrs[i].sa, 10, &why);
		if (!js) {
			printf("%-21s (no answer: %s)\n", addrs[i].text, why);
			rc = rc ? rc : 2;
			continue;
		}
		int r = status_rows(addrs[i].text, js, &tot);
		rc = rc ? rc : r;
		free(js);
	}
	printf("%d of %d appliances answered: %" PRIu64 " cores, %" PRIu64 " tasks done, jobs %"
	       PRIu64 " accepted, %" PRIu64 " done\n", tot.answered, naddrs, tot.cores, tot.tasks,
	       tot.accepted, tot.done);
	return rc;
}

int main(int argc, char **argv)
{
	double timeout = 30;
	int retries = 3, check = 1;
	uint64_t nparts = 0;
	const char *pos[MAX_ADDRS + 5];
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
		} else if (!strcmp(argv[i], "--parts") && i + 1 < argc) {
			if (!parse_u64(argv[++i], &nparts) || nparts < 1 || nparts > MAX_PARTS)
				usage();
		} else if (!strcmp(argv[i], "--no-check")) {
			check = 0;
		} else if (argv[i][0] == '-' && argv[i][1] == '-') {
			usage();
		} else if (npos < (int)(sizeof(pos) / sizeof(pos[0]))) {
			pos[npos++] = argv[i];
		} else {
			usage();
		}
	}
	if (npos < 2 || (strcmp(pos[0], "udp") && strcmp(pos[0], "status")))
		usage();
	int status = !strcmp(pos[0], "status");

	/* the addresses: every positional argument with a colon after the
	 * command (a limit never has one) */
	static struct addr addrs[MAX_ADDRS];
	int naddrs = 0, k = 1;
	for (; k < npos && strchr(pos[k], ':'); k++) {
		if (naddrs == MAX_ADDRS)
			usage();
		addrs[naddrs].text = pos[k];
		if (resolve(pos[k], status ? SOCK_STREAM : SOCK_DGRAM, &addrs[naddrs].sa) < 0)
			usage();
		naddrs++;
	}
	if (!naddrs)
		usage();
	if (status) {
		if (k != npos)
			usage();
		return cmd_status(addrs, naddrs);
	}

	uint64_t limit, tasks = 1;
	int split = 0, nrest = npos - k;
	if (nrest < 1 || nrest > 3 || !parse_u64(pos[k], &limit) ||
	    (nrest >= 2 && !parse_u64(pos[k + 1], &tasks)))
		usage();
	if (nrest == 3) {
		if (!strcmp(pos[k + 2], "split"))
			split = 1;
		else if (strcmp(pos[k + 2], "repeat"))
			usage();
	}
	if (!nparts)
		nparts = (uint64_t)naddrs;
	if (tasks == 0)
		nparts = 1;             /* the appliance answers ERR bad tasks */
	return cmd_udp(addrs, naddrs, limit, tasks, split, nparts, timeout, retries, check);
}
