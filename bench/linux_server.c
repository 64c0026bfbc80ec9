/* linux_server - the Linux baseline of the benchmark: the appliance's UDP
 * compute endpoint (API.md section 2) as an ordinary Linux program, for the
 * paper's "same server on Linux, in a VM and natively" comparison.
 *
 *   linux_server [--port P] [--bind ADDR] [--threads N | --procs N | --spawn]
 *
 * It compiles together with appliance/jobs/primes.c and
 * appliance/udp_compute/request.c, so the workload and the parser are the
 * very code the unikernel runs. Tasks run on a pool of N pthreads sharing
 * one task queue (--threads, the default) or on N forked worker processes
 * fed over socketpairs (--procs); N defaults to the online CPUs.
 *
 * The main thread only does I/O: it receives every datagram, answers bad
 * ones at once, queues good ones (JOBS_MAX in flight, the running job
 * included, then "ERR busy") and runs the jobs one at a time, so every
 * datagram gets exactly one reply.
 *
 * --spawn is how an ordinary Linux program shares the cores between
 * clients: every task of every job is a thread of its own, started when
 * the job arrives, and the kernel's scheduler time-slices them all (up to
 * JOBS_MAX jobs and SPAWN_THREADS_MAX threads in flight, then "ERR busy").
 * This is the baseline of the unikernel's sched=share. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../appliance/jobs/primes.h"
#include "../appliance/udp_compute/request.h"

#define JOBS_MAX 64             /* API.md "Capacities": 64 jobs in flight */
#define TASKS_MAX 1024          /* API.md section 1 */
#define WORKERS_MAX 1024

/* One task: count the primes in [lo, hi). Repeat mode is lo = 0, hi = limit,
 * which is count_primes_below(limit) itself. */
struct chunk {
	uint64_t lo, hi;
};

/* What a worker hands back for one task. */
struct result {
	uint64_t count;
	uint64_t end_ns;        /* CLOCK_MONOTONIC, system-wide across processes */
};

/* A request waiting for its reply. */
struct job {
	struct sockaddr_storage from;
	socklen_t fromlen;
	struct job_spec req;
	uint64_t recv_ns;
};

/* The running job. In threads mode every field is read and written under
 * pool_lock; in procs mode only the main thread touches it. */
static struct {
	struct chunk task[TASKS_MAX];
	uint32_t ntasks;        /* 0 between jobs */
	uint32_t next;          /* first task not yet handed out */
	uint32_t done;
	uint64_t sum;
	uint64_t end_ns;        /* when the last task so far finished */
} run;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "linux-server: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct result task_run(const struct chunk *t)
{
	struct result r;
	r.count = count_primes_range(t->lo, t->hi);
	r.end_ns = now_ns();
	return r;
}

static void result_add(const struct result *r)
{
	run.sum += r->count;
	run.done++;
	if (r->end_ns > run.end_ns)
		run.end_ns = r->end_ns;
}

/* Both backends: start() once, begin() per job once run is filled in;
 * the main loop polls the backend's fds and calls handle() after every
 * poll, which returns 1 once the running job's last task has finished. */
struct pool_ops {
	const char *name;
	void (*start)(int workers);
	void (*begin)(void);
	int (*fds)(struct pollfd *pfd);
	int (*handle)(const struct pollfd *pfd, int n);
};

static int workers;
static int sock;                /* the UDP socket */
static long cores;
static int spawn;               /* --spawn */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- threads: a shared queue (the running job's task array) ---- */

static pthread_cond_t pool_work = PTHREAD_COND_INITIALIZER;
static int done_pipe[2];        /* a worker writes one byte when a job ends */

static void *thread_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pool_lock);
	for (;;) {
		while (run.next >= run.ntasks)
			pthread_cond_wait(&pool_work, &pool_lock);
		struct chunk t = run.task[run.next++];
		pthread_mutex_unlock(&pool_lock);
		struct result r = task_run(&t);
		pthread_mutex_lock(&pool_lock);
		result_add(&r);
		if (run.done == run.ntasks && write(done_pipe[1], "", 1) != 1)
			die("write done pipe");
	}
	return NULL;
}

static void threads_start(int n)
{
	if (pipe(done_pipe) < 0)
		die("pipe");
	for (int i = 0; i < n; i++) {
		pthread_t th;
		int err = pthread_create(&th, NULL, thread_main, NULL);
		if (err) {
			errno = err;
			die("pthread_create");
		}
		pthread_detach(th);
	}
}

static void threads_begin(void)
{
	pthread_mutex_lock(&pool_lock);
	pthread_cond_broadcast(&pool_work);
	pthread_mutex_unlock(&pool_lock);
}

static int threads_fds(struct pollfd *pfd)
{
	pfd[0] = (struct pollfd){ .fd = done_pipe[0], .events = POLLIN };
	return 1;
}

static int threads_handle(const struct pollfd *pfd, int n)
{
	char c;
	(void)n;
	if (!(pfd[0].revents & POLLIN))
		return 0;
	if (read(done_pipe[0], &c, 1) != 1)
		die("read done pipe");
	return 1;
}

/* ---- procs: one socketpair per child, one task in flight per child ---- */

static int proc_fd[WORKERS_MAX];

/* Child: run tasks until the parent goes away. */
static void proc_main(int fd)
{
	struct chunk t;
	while (read(fd, &t, sizeof t) == (ssize_t)sizeof t) {
		struct result r = task_run(&t);
		if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
			break;
	}
	_exit(0);
}

static void procs_start(int n)
{
	for (int i = 0; i < n; i++) {
		int sv[2];
		/* SOCK_SEQPACKET: each task and result is one whole message. */
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			die("socketpair");
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			/* Keep only our own end of our own pair. */
			close(sock);
			close(sv[0]);
			for (int k = 0; k < i; k++)
				close(proc_fd[k]);
			proc_main(sv[1]);
		}
		close(sv[1]);
		proc_fd[i] = sv[0];
	}
}

/* Hand the next task, if any, to child i. */
static void procs_feed(int i)
{
	if (run.next >= run.ntasks)
		return;
	if (write(proc_fd[i], &run.task[run.next], sizeof(struct chunk)) != sizeof(struct chunk))
		die("write task");
	run.next++;
}

static void procs_begin(void)
{
	for (int i = 0; i < workers; i++)
		procs_feed(i);
}

static int procs_fds(struct pollfd *pfd)
{
	for (int i = 0; i < workers; i++)
		pfd[i] = (struct pollfd){ .fd = proc_fd[i], .events = POLLIN };
	return workers;
}

static int procs_handle(const struct pollfd *pfd, int n)
{
	for (int i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		struct result r;
		if (read(proc_fd[i], &r, sizeof r) != (ssize_t)sizeof r) {
			fprintf(stderr, "linux-server: worker %d died\n", i);
			exit(1);
		}
		result_add(&r);
		procs_feed(i);
	}
	return run.ntasks && run.done == run.ntasks;
}

static const struct pool_ops threads_ops = {
	"threads", threads_start, threads_begin, threads_fds, threads_handle,
};
static const struct pool_ops procs_ops = {
	"procs", procs_start, procs_begin, procs_fds, procs_handle,
};

/* ---- spawn: a thread per task, every job at once ---- */

#define SPAWN_THREADS_MAX 4096

struct sjob {
	struct job j;
	uint32_t left;          /* tasks not yet finished (atomic) */
	uint64_t sum;           /* atomic */
	uint64_t end_ns;        /* the latest task end (atomic max) */
	struct chunk task[];
};

struct stask {
	struct sjob *job;
	uint32_t index;
};

static int spawn_pipe[2];       /* the last task of a job writes its struct sjob * */
static int spawn_jobs, spawn_threads;   /* in flight; main thread only */

static void *spawn_main(void *arg)
{
	struct stask *st = arg;
	struct sjob *sj = st->job;
	struct result r = task_run(&sj->task[st->index]);
	free(st);
	__atomic_fetch_add(&sj->sum, r.count, __ATOMIC_RELAXED);
	uint64_t e = __atomic_load_n(&sj->end_ns, __ATOMIC_RELAXED);
	while (r.end_ns > e && !__atomic_compare_exchange_n(&sj->end_ns, &e, r.end_ns, false,
							  __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	if (__atomic_sub_fetch(&sj->left, 1, __ATOMIC_ACQ_REL) == 0 &&
	    write(spawn_pipe[1], &sj, sizeof sj) != sizeof sj)
		die("write spawn pipe");
	return NULL;
}

static void reply_err(const struct job *j, const char *reason);

static void spawn_job(const struct job *j)
{
	uint32_t n = j->req.tasks;
	if (spawn_jobs == JOBS_MAX || spawn_threads + (int)n > SPAWN_THREADS_MAX) {
		reply_err(j, "busy");
		return;
	}
	struct sjob *sj = calloc(1, sizeof(*sj) + n * sizeof(struct chunk));
	if (!sj)
		die("calloc");
	sj->j = *j;
	sj->left = n;
	if (j->req.mode == JOB_SPLIT) {
		uint64_t bounds[TASKS_MAX + 1];
		primes_split(j->req.limit, n, bounds);
		for (uint32_t i = 0; i < n; i++)
			sj->task[i] = (struct chunk){ bounds[i], bounds[i + 1] };
	} else {
		for (uint32_t i = 0; i < n; i++)
			sj->task[i] = (struct chunk){ 0, j->req.limit };
	}
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 << 10);
	for (uint32_t i = 0; i < n; i++) {
		struct stask *st = malloc(sizeof(*st));
		if (!st)
			die("malloc");
		*st = (struct stask){ sj, i };
		pthread_t th;
		int err = pthread_create(&th, &attr, spawn_main, st);
		if (err) {
			errno = err;
			die("pthread_create");
		}
	}
	pthread_attr_destroy(&attr);
	spawn_jobs++;
	spawn_threads += (int)n;
}

/* A job's last task wrote it to the pipe: answer and free it. */
static void spawn_done(void)
{
	struct sjob *sj;
	if (read(spawn_pipe[0], &sj, sizeof sj) != sizeof sj)
		die("read spawn pipe");
	char msg[160];
	uint64_t end = sj->end_ns > sj->j.recv_ns ? sj->end_ns : sj->j.recv_ns;
	int len = snprintf(msg, sizeof msg, "%" PRIu64 " tasks=%" PRIu32 " mode=%s cores=%ld us=%" PRIu64 "\n",
			   sj->sum, sj->j.req.tasks, job_mode_name(sj->j.req.mode), cores,
			   (end - sj->j.recv_ns) / 1000);
	if (sendto(sock, msg, (size_t)len, 0, (const struct sockaddr *)&sj->j.from, sj->j.fromlen) < 0)
		fprintf(stderr, "linux-server: sendto: %s\n", strerror(errno));
	spawn_jobs--;
	spawn_threads -= (int)sj->j.req.tasks;
	free(sj);
}

/* ---- the UDP endpoint ---- */

static struct job queue[JOBS_MAX];     /* queue[head] is running when depth > 0 */
static int head, depth;

static void reply(const struct job *j, const char *msg, size_t len)
{
	if (sendto(sock, msg, len, 0, (const struct sockaddr *)&j->from, j->fromlen) < 0)
		fprintf(stderr, "linux-server: sendto: %s\n", strerror(errno));
}

static void reply_err(const struct job *j, const char *reason)
{
	char msg[96];
	int len = snprintf(msg, sizeof msg, "ERR %s\n", reason);
	reply(j, msg, (size_t)len);
}

/* Only between jobs: no worker is in the middle of a task. */
static void job_begin(const struct pool_ops *ops, const struct job *j)
{
	uint32_t n = j->req.tasks;
	pthread_mutex_lock(&pool_lock);
	if (j->req.mode == JOB_SPLIT) {
		uint64_t bounds[TASKS_MAX + 1];
		primes_split(j->req.limit, n, bounds);
		for (uint32_t i = 0; i < n; i++)
			run.task[i] = (struct chunk){ bounds[i], bounds[i + 1] };
	} else {
		for (uint32_t i = 0; i < n; i++)
			run.task[i] = (struct chunk){ 0, j->req.limit };
	}
	run.ntasks = n;
	run.next = 0;
	run.done = 0;
	run.sum = 0;
	run.end_ns = 0;
	pthread_mutex_unlock(&pool_lock);
	ops->begin();
}

static void job_end(const struct job *j)
{
	char msg[160];
	pthread_mutex_lock(&pool_lock);
	uint64_t end = run.end_ns > j->recv_ns ? run.end_ns : j->recv_ns;
	int len = snprintf(msg, sizeof msg, "%" PRIu64 " tasks=%" PRIu32 " mode=%s cores=%ld us=%" PRIu64 "\n",
			   run.sum, j->req.tasks, job_mode_name(j->req.mode), cores,
			   (end - j->recv_ns) / 1000);
	run.ntasks = run.next = run.done = 0;
	pthread_mutex_unlock(&pool_lock);
	reply(j, msg, (size_t)len);
}

/* Take every datagram that is waiting; start a job if none runs. */
static void receive(const struct pool_ops *ops)
{
	for (;;) {
		char buf[REQUEST_MAX_BYTES + 1];    /* one more byte tells "too long" */
		struct job j;
		j.fromlen = sizeof j.from;
		ssize_t n = recvfrom(sock, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC,
				     (struct sockaddr *)&j.from, &j.fromlen);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			die("recvfrom");
		}
		j.recv_ns = now_ns();
		size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf;
		const char *err = request_parse(buf, len, &j.req);
		if (err) {
			reply_err(&j, err);
			continue;
		}
		if (spawn) {
			spawn_job(&j);
			continue;
		}
		if (depth == JOBS_MAX) {
			reply_err(&j, "busy");
			continue;
		}
		queue[(head + depth++) % JOBS_MAX] = j;
		if (depth == 1)
			job_begin(ops, &queue[head]);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: linux_server [--port P] [--bind ADDR] [--threads N | --procs N | --spawn]\n");
	exit(2);
}

static long arg_num(const char *s, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	const struct pool_ops *ops = &threads_ops;
	long port = 5555;
	const char *bind_addr = "0.0.0.0";

	cores = sysconf(_SC_NPROCESSORS_ONLN);
	workers = cores > 0 ? (int)cores : 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--spawn")) {
			spawn = 1;
			continue;
		}
		if (i + 1 == argc)
			usage();
		if (!strcmp(argv[i], "--port")) {
			port = arg_num(argv[++i], 1, 65535);
		} else if (!strcmp(argv[i], "--bind")) {
			bind_addr = argv[++i];
		} else if (!strcmp(argv[i], "--threads") || !strcmp(argv[i], "--procs")) {
			ops = argv[i][2] == 't' ? &threads_ops : &procs_ops;
			workers = (int)arg_num(argv[++i], 1, WORKERS_MAX);
		} else {
			usage();
		}
	}

	/* A client that went away must not kill us through a dead worker pipe. */
	signal(SIGPIPE, SIG_IGN);
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		die("socket");
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, bind_addr, &sin.sin_addr) != 1)
		usage();
	if (bind(sock, (struct sockaddr *)&sin, sizeof sin) < 0)
		die("bind");
	if (spawn) {
		if (pipe(spawn_pipe) < 0)
			die("pipe");
		printf("linux-server: ready port=%ld mode=spawn (a thread per task)\n", port);
		fflush(stdout);
		struct pollfd sp[2] = { { .fd = sock, .events = POLLIN },
					{ .fd = spawn_pipe[0], .events = POLLIN } };
		for (;;) {
			if (poll(sp, 2, -1) < 0) {
				if (errno == EINTR)
					continue;
				die("poll");
			}
			if (sp[1].revents & POLLIN)
				spawn_done();
			if (sp[0].revents & POLLIN)
				receive(ops);
		}
	}
	ops->start(workers);
	printf("linux-server: ready port=%ld mode=%s workers=%d\n", port, ops->name, workers);
	fflush(stdout);

	struct pollfd pfd[1 + WORKERS_MAX];
	pfd[0] = (struct pollfd){ .fd = sock, .events = POLLIN };
	int npool = ops->fds(pfd + 1);
	for (;;) {
		if (poll(pfd, 1 + (nfds_t)npool, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (ops->handle(pfd + 1, npool)) {
			job_end(&queue[head]);
			head = (head + 1) % JOBS_MAX;
			if (--depth)
				job_begin(ops, &queue[head]);
		}
		if (pfd[0].revents & POLLIN)
			receive(ops);
	}
}
