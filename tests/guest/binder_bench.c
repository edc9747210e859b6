// SPDX-License-Identifier: GPL-2.0
/*
 * binder_bench: what the binder buffer allocator costs, measured with raw
 * binder ioctls inside a guest (no Android userspace). Options and output
 * follow Android's binderThroughputTest: a number of iterations, payload
 * sizes, worker counts; one result line per measurement.
 *
 *   binder_bench [--quick] [--only w1,w2,...] [-i ITERATIONS]
 *
 * -i replaces the default count of each workload: round trips per payload
 * (w1, w4) or oneway transactions per sender (w2).
 *
 * Workloads:
 *   w1  sync round trip to an echo server, payloads 0 B, 4 KiB, 64 KiB and
 *       1 MiB; "warm" (steady state) and "cold" (the freed pages are
 *       reclaimed before every transaction, so each one backs fresh pages).
 *       The server reads every byte it receives, as a real receiver does;
 *       its minor page faults per transaction are reported, and how long
 *       its first read of a buffer took on average (where a receiver fault
 *       lands).
 *   w2  oneway flood: 1, 4 and 16 senders into one receiver, into async
 *       space exhaustion (BR_FAILED_REPLY counted); "cold" (a fresh
 *       receiver, whose pages are all touched for the first time) and
 *       "warm" (the same flood again into the same receiver). The clock
 *       starts when every sender has opened the device, not at fork().
 *       How the two sides shared the CPUs: the receiver's sleeps waiting
 *       for work (voluntary switches) per delivered transaction, and the
 *       senders' preemptions (involuntary switches, over their life) per
 *       attempted one.
 *   w3  fan-in: 1, 8 and 32 clients doing sync calls to one server thread
 *       (timed from when every client has opened the device).
 *   w4  w1 warm (4 KiB) while another process reclaims binder pages in a
 *       loop (shrinker debugfs scan and drop_caches): latency and failures,
 *       and the reclaim pressure the run got (passes of the reclaimer's loop
 *       per transaction, the time of one scan and of one drop_caches, the
 *       reclaimer's CPU time per transaction).
 *   w5  footprint: 100 (and 1000 without --quick) idle client processes,
 *       each after one 4 KiB reply it read: Rss of their binder mappings,
 *       slab and used-memory growth per process (the allocator's metadata
 *       plus the process itself, the same for every variant), and Rss
 *       again after reclaim.
 *
 * Output: "BENCH {json}" lines, one per measurement, and "# " comments.
 * Exit status 0 when every workload ran; a failed transaction is counted
 * in the results, a workload that could not run exits 1.
 */
#include "bdlib.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KiB 1024UL
#define MiB (1024UL * 1024UL)
#define SERVER_MAP (4 * MiB)
#define CLIENT_MAP (256 * KiB)
#define CODE_QUIT 0xffffffffu

static char g_dev[300];
static int g_quick;
static int g_iters = 0;	/* 0: per-workload default */
static int g_devno;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* p in [0, 100] of a sorted array */
static double pct(const double *v, int n, double p)
{
	int i;

	if (n <= 0)
		return 0;
	i = (int)(p / 100.0 * (n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static void die(const char *what)
{
	printf("# binder_bench: cannot run: %s (%s)\n", what, strerror(errno));
	exit(1);
}

/* A fresh binderfs device per workload, so each has its own context manager. */
static void new_device(const char *tag)
{
	char name[64];
	int r;

	snprintf(name, sizeof(name), "bench-%s-%d", tag, g_devno++);
	r = bd_add_device(name);
	if (r) {
		errno = -r;
		die("BINDER_CTL_ADD");
	}
	snprintf(g_dev, sizeof(g_dev), "%s/%s", BINDERFS_DIR, name);
}

/* Reclaim binder pages: every android-binder shrinker's debugfs scan. */
static int reclaim(void)
{
	glob_t g;
	size_t i;
	int n = 0;

	if (glob("/sys/kernel/debug/shrinker/android-binder*/scan", 0, NULL, &g))
		return 0;
	for (i = 0; i < g.gl_pathc; i++)
		n += !write_file(g.gl_pathv[i], "0 0 100000");
	globfree(&g);
	return n;
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* Voluntary (sleeps) or involuntary (preemptions) context switches so far. */
static long ctxsw(int voluntary)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return voluntary ? ru.ru_nvcsw : ru.ru_nivcsw;
}

/* ------------------------------------------------------------------ */
/* the echo server: reads every byte, frees, replies with 0 bytes */

struct server {
	pid_t pid;
	int up, down;	/* server -> parent, parent -> server */
};

struct server_stats {
	uint64_t txns;
	uint64_t faults;
	uint64_t oneway;
	/* times the server waited for work in a oneway round (voluntary switches) */
	uint64_t sleeps;
	/* now_us() when the last oneway transaction of the round arrived */
	double last_oneway_us;
	/* time of the first read of each sync buffer (a receiver fault) */
	double first_read_us;
};

static volatile uint64_t g_sink;
static uint8_t g_page[4096];
#define CODE_PAGE 2

static uint64_t touch(const void *p, size_t len)
{
	const volatile uint8_t *b = p;
	uint64_t s = 0;
	size_t i;

	for (i = 0; i < len; i += 64)
		s += b[i];
	if (len)
		s += b[len - 1];
	return s;
}

/*
 * Serve until CODE_QUIT. Oneway rounds: once the parent has announced how
 * many oneway transactions to expect and they all arrived, the round's
 * stats are written to the parent and counting starts again.
 */
static int serve(struct bd *b, int up, int down)
{
	struct server_stats st = { 0 };
	uint64_t expect = UINT64_MAX;
	long f0 = minflt(), s0 = ctxsw(1);
	struct bev ev;
	int r;

	for (;;) {
		if (st.oneway >= expect) {
			/* a oneway round is complete: report it, serve the next */
			st.faults = minflt() - f0;
			st.sleeps = ctxsw(1) - s0;
			if (write(up, &st, sizeof(st)) != sizeof(st))
				return 1;
			memset(&st, 0, sizeof(st));
			f0 = minflt();
			s0 = ctxsw(1);
			expect = UINT64_MAX;
		}
		r = bd_next(b, &ev, 200);
		if (r == -ETIMEDOUT) {
			if (expect == UINT64_MAX)
				sync_recv(down, &expect, 0);
			continue;
		}
		if (r) {
			diag("server: %s", strerror(-r));
			return 1;
		}
		if (ev.cmd != BR_TRANSACTION)
			continue;
		if (ev.tr.code == CODE_QUIT) {
			bd_reply(b, ev.tr.data.ptr.buffer, NULL, 0);
			break;
		}
		if (!(ev.tr.flags & TF_ONE_WAY) && ev.tr.data_size) {
			double t0 = now_us();

			g_sink += *(const volatile uint8_t *)(uintptr_t)
				ev.tr.data.ptr.buffer;
			st.first_read_us += now_us() - t0;
		}
		g_sink += touch((const void *)(uintptr_t)ev.tr.data.ptr.buffer,
				ev.tr.data_size);
		if (ev.tr.flags & TF_ONE_WAY) {
			bd_free(b, ev.tr.data.ptr.buffer);
			st.oneway++;
			st.last_oneway_us = now_us();
			continue;
		}
		st.txns++;
		/* CODE_PAGE asks for a 4 KiB reply (w5); otherwise 0 bytes */
		bd_reply(b, ev.tr.data.ptr.buffer, g_page,
			 ev.tr.code == CODE_PAGE ? sizeof(g_page) : 0);
	}
	st.faults = minflt() - f0;
	if (write(up, &st, sizeof(st)) != sizeof(st))
		return 1;
	return 0;
}

static void start_server(struct server *s)
{
	int up[2], down[2];
	uint64_t ready;

	if (pipe(up) || pipe(down))
		die("pipe");
	fflush(stdout);
	s->pid = fork();
	if (s->pid < 0)
		die("fork");
	if (s->pid == 0) {
		struct bd b;

		close(up[0]);
		close(down[1]);
		bd_role = "server";
		if (bd_open(&b, g_dev, SERVER_MAP) || bd_set_ctx_mgr(&b, 0))
			_exit(2);
		sync_send(up[1], 1);
		_exit(serve(&b, up[1], down[0]));
	}
	close(up[1]);
	close(down[0]);
	s->up = up[0];
	s->down = down[1];
	if (sync_recv(s->up, &ready, 10000))
		die("server start");
}

static int stop_server(struct server *s, struct server_stats *st, int quit)
{
	struct bd c;
	struct bev rep;
	int status;

	if (quit) {
		if (bd_open(&c, g_dev, CLIENT_MAP))
			die("open for quit");
		if (bd_call(&c, 0, CODE_QUIT, 0, NULL, 0, NULL, 0, 0, &rep) == BR_REPLY)
			bd_free(&c, rep.tr.data.ptr.buffer);
		bd_close(&c);
	}
	memset(st, 0, sizeof(*st));
	if (read(s->up, st, sizeof(*st)) != sizeof(*st))
		diag("server stats missing");
	waitpid(s->pid, &status, 0);
	close(s->up);
	close(s->down);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* latency loops */

struct lat {
	double *us;
	int n;
	int fails;
	double wall_us;
};

/* n sync calls of size bytes; cold: reclaim before each (not timed) */
static void call_loop(struct bd *c, const void *payload, size_t size, int n,
		      int cold, struct lat *out)
{
	double t0, t1, start = now_us(), paused = 0;
	struct bev rep;
	int i, r;

	out->us = calloc(n > 0 ? (size_t)n : 1, sizeof(double));
	out->n = 0;
	out->fails = 0;
	for (i = 0; i < n; i++) {
		if (cold) {
			t0 = now_us();
			reclaim();
			paused += now_us() - t0;
		}
		t0 = now_us();
		r = bd_call(c, 0, 1, 0, payload, size, NULL, 0, 0, &rep);
		t1 = now_us();
		if (r != BR_REPLY) {
			out->fails++;
			continue;
		}
		bd_free(c, rep.tr.data.ptr.buffer);
		out->us[out->n++] = t1 - t0;
	}
	out->wall_us = now_us() - start - paused;
}

static void emit_lat(const char *head, struct lat *l, int calls)
{
	qsort(l->us, l->n, sizeof(double), cmp_double);
	printf("BENCH {%s, \"iters\": %d, \"ok\": %d, \"failed\": %d, "
	       "\"tput_per_s\": %.1f, \"p50_us\": %.1f, \"p99_us\": %.1f, "
	       "\"max_us\": %.1f}\n", head, calls, l->n, l->fails,
	       l->wall_us > 0 ? l->n / (l->wall_us / 1e6) : 0.0,
	       pct(l->us, l->n, 50), pct(l->us, l->n, 99),
	       l->n ? l->us[l->n - 1] : 0.0);
	free(l->us);
}

/* ------------------------------------------------------------------ */

static int w1(void)
{
	static const size_t sizes[] = { 0, 4 * KiB, 64 * KiB, 1 * MiB };
	int cold, k, iters, fails = 0;

	for (k = 0; k < 4; k++) {
		for (cold = 0; cold <= 1; cold++) {
			size_t size = sizes[k];
			struct server_stats st;
			struct server s;
			struct lat l;
			char head[200];
			void *p = malloc(size ? size : 1);
			struct bd c;

			iters = g_iters ? g_iters : (g_quick ? 100 : 1000);
			if (size >= MiB)
				iters = iters / 10 > 10 ? iters / 10 : 10;
			fill_pattern(p, size, (uint32_t)size);
			new_device("w1");
			start_server(&s);
			if (bd_open(&c, g_dev, CLIENT_MAP))
				die("client open");
			if (!cold) {
				struct lat warm;

				call_loop(&c, p, size, 10, 0, &warm);
				free(warm.us);
			}
			call_loop(&c, p, size, iters, cold, &l);
			bd_close(&c);
			fails |= stop_server(&s, &st, 1);
			snprintf(head, sizeof(head),
				 "\"w\": \"w1\", \"payload\": %zu, \"mode\": \"%s\", "
				 "\"rx_faults_per_txn\": %.3f, "
				 "\"rx_first_read_us\": %.1f", size,
				 cold ? "cold" : "warm",
				 st.txns ? (double)st.faults / st.txns : 0.0,
				 st.txns ? st.first_read_us / st.txns : 0.0);
			emit_lat(head, &l, iters);
			free(p);
		}
	}
	return fails;
}

/*
 * A start line for forked workers: each one opens its device, reports ready
 * and waits; the parent starts its clock when all are ready and lets them go.
 * Rounds then time the transactions, not fork() and mmap() of the workers.
 */
struct start_line {
	int ready[2], go[2];
};

static void start_line_init(struct start_line *sl)
{
	if (pipe(sl->ready) || pipe(sl->go))
		die("pipe");
	fflush(stdout);
}

/* In a worker, once its device is open: returns when the parent says go. */
static void start_line_wait(struct start_line *sl)
{
	char c;

	close(sl->ready[0]);
	close(sl->go[1]);
	if (write(sl->ready[1], "r", 1) != 1)
		_exit(2);
	/* so that the parent sees end-of-file if a worker dies before this */
	close(sl->ready[1]);
	if (read(sl->go[0], &c, 1) != 0)
		_exit(2);
}

/* In the parent, after forking n workers: waits for them, then lets them go. */
static double start_line_release(struct start_line *sl, int n)
{
	double t0;
	char c;
	int i;

	close(sl->ready[1]);
	close(sl->go[0]);
	for (i = 0; i < n; i++)
		if (read(sl->ready[0], &c, 1) != 1)
			die("a worker did not start");
	t0 = now_us();
	close(sl->go[1]);
	close(sl->ready[0]);
	return t0;
}

static int w2_round(struct server *s, int n, int per, size_t size,
		    const char *mode)
{
	uint64_t *shared, sent = 0, failed = 0, preempts = 0;
	struct server_stats st;
	struct start_line sl;
	double t0, t1;
	int i;

	shared = mmap(NULL, 3 * n * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		die("mmap shared");
	start_line_init(&sl);
	for (i = 0; i < n; i++) {
		if (fork() == 0) {
			void *p = malloc(size);
			struct bev rep;
			struct bd c;
			int j, r;

			fill_pattern(p, size, i);
			if (bd_open(&c, g_dev, CLIENT_MAP))
				_exit(2);
			start_line_wait(&sl);
			for (j = 0; j < per; j++) {
				r = bd_call(&c, 0, 1, TF_ONE_WAY, p, size,
					    NULL, 0, 0, &rep);
				if (r == BR_TRANSACTION_COMPLETE ||
				    r == BR_ONEWAY_SPAM_SUSPECT)
					shared[3 * i]++;
				else
					shared[3 * i + 1]++;
			}
			shared[3 * i + 2] = ctxsw(0);
			_exit(0);
		}
	}
	t0 = start_line_release(&sl, n);
	for (i = 0; i < n; i++)
		wait(NULL);
	for (i = 0; i < n; i++) {
		sent += shared[3 * i];
		failed += shared[3 * i + 1];
		preempts += shared[3 * i + 2];
	}
	munmap(shared, 3 * n * sizeof(uint64_t));
	/* the server reports the round once all delivered ones arrived */
	sync_send(s->down, sent);
	if (read(s->up, &st, sizeof(st)) != sizeof(st)) {
		diag("w2: server stats missing");
		return 1;
	}
	/*
	 * The round ends when the receiver got its last transaction, not when
	 * the server reported: it learns the count only after its 200 ms idle
	 * poll, which would otherwise be counted as delivery time.
	 */
	t1 = st.oneway ? st.last_oneway_us : now_us();
	printf("BENCH {\"w\": \"w2\", \"senders\": %d, \"payload\": %zu, "
	       "\"mode\": \"%s\", \"attempted\": %d, \"delivered\": %llu, "
	       "\"failed\": %llu, \"tput_per_s\": %.1f, "
	       "\"rx_faults_per_txn\": %.3f, \"rx_sleeps_per_txn\": %.3f, "
	       "\"tx_preempts_per_txn\": %.3f}\n",
	       n, size, mode, n * per, (unsigned long long)st.oneway,
	       (unsigned long long)failed, st.oneway / ((t1 - t0) / 1e6),
	       st.oneway ? (double)st.faults / st.oneway : 0.0,
	       st.oneway ? (double)st.sleeps / st.oneway : 0.0,
	       (double)preempts / (n * per));
	return 0;
}

static int w2(void)
{
	static const int senders[] = { 1, 4, 16 };
	int k, fails = 0;

	for (k = 0; k < 3; k++) {
		int n = senders[k], per = g_iters ? g_iters : (g_quick ? 100 : 500);
		struct server_stats st;
		struct server s;

		new_device("w2");
		start_server(&s);
		fails |= w2_round(&s, n, per, 4 * KiB, "cold");
		fails |= w2_round(&s, n, per, 4 * KiB, "warm");
		fails |= stop_server(&s, &st, 1);
	}
	return fails;
}

static int w3(void)
{
	static const int clients[] = { 1, 8, 32 };
	int k, fails = 0;

	for (k = 0; k < 3; k++) {
		unsigned int n = clients[k], per = g_quick ? 20 : 100, i, m = 0;
		size_t size = 4 * KiB;
		struct server_stats st;
		struct start_line sl;
		struct server s;
		struct lat l;
		double *shared, t0;
		char head[160];

		shared = mmap(NULL, (n * per + n) * sizeof(double),
			      PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (shared == MAP_FAILED)
			die("mmap shared");
		new_device("w3");
		start_server(&s);
		start_line_init(&sl);
		for (i = 0; i < n; i++) {
			if (fork() == 0) {
				void *p = malloc(size);
				struct lat one;
				struct bd c;
				int j;

				fill_pattern(p, size, i);
				if (bd_open(&c, g_dev, CLIENT_MAP))
					_exit(2);
				start_line_wait(&sl);
				call_loop(&c, p, size, per, 0, &one);
				for (j = 0; j < per; j++)
					shared[i * per + j] = j < one.n ? one.us[j] : -1;
				shared[n * per + i] = one.fails;
				_exit(0);
			}
		}
		t0 = start_line_release(&sl, n);
		for (i = 0; i < n; i++)
			wait(NULL);
		l.us = calloc((size_t)(n * per), sizeof(double));
		l.fails = 0;
		for (i = 0; i < n * per; i++)
			if (shared[i] >= 0)
				l.us[m++] = shared[i];
		for (i = 0; i < n; i++)
			l.fails += (int)shared[n * per + i];
		l.n = m;
		l.wall_us = now_us() - t0;
		fails |= stop_server(&s, &st, 1);
		snprintf(head, sizeof(head),
			 "\"w\": \"w3\", \"clients\": %d, \"payload\": %zu", n, size);
		emit_lat(head, &l, n * per);
		munmap(shared, (n * per + n) * sizeof(double));
	}
	return fails;
}

/* What w4's reclaimer did, shared with the parent. */
struct reclaim_stats {
	long passes;
	double scan_us, drop_us;
};

static int w4(void)
{
	int iters = g_iters ? g_iters : (g_quick ? 200 : 2000), fails;
	size_t size = 4 * KiB;
	struct reclaim_stats *rs;
	struct server_stats st;
	struct server s;
	struct rusage ru;
	struct lat l;
	void *p = malloc(size);
	pid_t reclaimer;
	struct bd c;
	char head[400];
	double t0, t1, t2;

	rs = mmap(NULL, sizeof(*rs), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rs == MAP_FAILED)
		die("mmap shared");
	fill_pattern(p, size, 4);
	new_device("w4");
	start_server(&s);
	reclaimer = fork();
	if (reclaimer == 0) {
		for (;;) {
			t0 = now_us();
			reclaim();
			t1 = now_us();
			write_file("/proc/sys/vm/drop_caches", "3");
			t2 = now_us();
			rs->scan_us += t1 - t0;
			rs->drop_us += t2 - t1;
			rs->passes++;
			usleep(1000);
		}
	}
	if (bd_open(&c, g_dev, CLIENT_MAP))
		die("client open");
	call_loop(&c, p, size, iters, 0, &l);
	bd_close(&c);
	kill(reclaimer, SIGKILL);
	if (wait4(reclaimer, NULL, 0, &ru) < 0)
		die("wait4");
	fails = stop_server(&s, &st, 1);
	/*
	 * The reclaim pressure each variant got: passes of the loop per
	 * transaction, the time one debugfs scan and one drop_caches took,
	 * and the reclaimer's CPU time per transaction.
	 */
	snprintf(head, sizeof(head),
		 "\"w\": \"w4\", \"payload\": %zu, \"rx_faults_per_txn\": %.3f, "
		 "\"rx_first_read_us\": %.1f, "
		 "\"reclaim_passes_per_txn\": %.3f, \"scan_us\": %.1f, "
		 "\"drop_caches_us\": %.1f, \"reclaimer_cpu_us_per_txn\": %.1f",
		 size, st.txns ? (double)st.faults / st.txns : 0.0,
		 st.txns ? st.first_read_us / st.txns : 0.0,
		 l.n ? (double)rs->passes / l.n : 0.0,
		 rs->passes ? rs->scan_us / rs->passes : 0.0,
		 rs->passes ? rs->drop_us / rs->passes : 0.0,
		 l.n ? (ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec +
			ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec) / l.n : 0.0);
	emit_lat(head, &l, iters);
	munmap(rs, sizeof(*rs));
	free(p);
	return fails;
}

static long meminfo_kb(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':')
			v = strtol(line + klen + 1, NULL, 10);
	fclose(f);
	return v;
}

/* n idle clients, each after one 4 KiB reply that it read */
static int w5_one(int n)
{
	long slab0, slab1, free0, free1, rss = 0, rss_after = 0, kb;
	uintptr_t *maps;
	pid_t *pids;
	struct server s;
	struct server_stats st;
	int i, ready = 0, fails;
	int pfd[2];

	maps = mmap(NULL, n * sizeof(uintptr_t), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pids = calloc(n, sizeof(pid_t));
	if (maps == MAP_FAILED || !pids || pipe(pfd))
		die("w5 setup");
	new_device("w5");
	start_server(&s);
	/* Each client asks with 8 bytes and reads a 4 KiB reply, which the
	 * allocator places in the client's own mapping. */
	reclaim();
	slab0 = meminfo_kb("Slab");
	free0 = meminfo_kb("MemFree");
	for (i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			uint64_t ask = 1, one = 1;
			struct bev rep;
			struct bd c;

			if (bd_open(&c, g_dev, 1 * MiB))
				_exit(2);
			maps[i] = (uintptr_t)c.map;
			if (bd_call(&c, 0, CODE_PAGE, 0, &ask, sizeof(ask), NULL, 0, 0,
				    &rep) == BR_REPLY) {
				g_sink += touch((const void *)(uintptr_t)
						rep.tr.data.ptr.buffer,
						rep.tr.data_size);
				bd_free(&c, rep.tr.data.ptr.buffer);
			}
			if (write(pfd[1], &one, sizeof(one)) != sizeof(one))
				_exit(3);
			pause();
			_exit(0);
		}
	}
	for (i = 0; i < n; i++) {
		uint64_t one;

		if (sync_recv(pfd[0], &one, 60000))
			break;
		ready++;
	}
	slab1 = meminfo_kb("Slab");
	free1 = meminfo_kb("MemFree");
	for (i = 0; i < n; i++) {
		kb = smaps_rss_kb(pids[i], maps[i]);
		rss += kb > 0 ? kb : 0;
	}
	/* the server's mapping holds the requests' pages */
	reclaim();
	write_file("/proc/sys/vm/drop_caches", "3");
	for (i = 0; i < n; i++) {
		kb = smaps_rss_kb(pids[i], maps[i]);
		rss_after += kb > 0 ? kb : 0;
	}
	for (i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	for (i = 0; i < n; i++)
		waitpid(pids[i], NULL, 0);
	fails = stop_server(&s, &st, 1);
	printf("BENCH {\"w\": \"w5\", \"procs\": %d, \"ready\": %d, "
	       "\"rss_kb\": %ld, \"rss_after_reclaim_kb\": %ld, "
	       "\"slab_per_proc_kb\": %.2f, \"mem_per_proc_kb\": %.2f}\n",
	       n, ready, rss, rss_after,
	       ready ? (double)(slab1 - slab0) / ready : 0.0,
	       ready ? (double)(free0 - free1) / ready : 0.0);
	munmap(maps, n * sizeof(uintptr_t));
	free(pids);
	close(pfd[0]);
	close(pfd[1]);
	return fails || ready != n;
}

static int w5(void)
{
	int fails = w5_one(100);

	if (!g_quick)
		fails |= w5_one(1000);
	return fails;
}

static const struct {
	const char *name;
	int (*fn)(void);
} workloads[] = {
	{ "w1", w1 }, { "w2", w2 }, { "w3", w3 }, { "w4", w4 }, { "w5", w5 },
};

int main(int argc, char **argv)
{
	const char *only = NULL;
	int i, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			g_quick = 1;
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "-i") && i + 1 < argc)
			g_iters = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: %s [--quick] [--only w1,w2,...] [-i N]\n",
				argv[0]);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	/*
	 * The whole program in memory before the first measurement, so that no
	 * timed transaction waits for a page of it from the 9p root (W4's
	 * drop_caches evicts what is not mapped yet). Children do not inherit
	 * the lock; they map the same page cache pages.
	 */
	if (mlockall(MCL_CURRENT))
		die("mlockall");
	bd_diag_prefix = "# ";
	bd_timeout_ms = 60000;
	if (bd_mount_binderfs())
		die("mount binderfs");
	if (!bd_mount_debugfs())
		printf("# no binder debugfs: cold runs cannot reclaim\n");
	for (i = 0; i < (int)(sizeof(workloads) / sizeof(workloads[0])); i++) {
		double t0 = now_us();
		int r;

		if (only && !strstr(only, workloads[i].name))
			continue;
		r = workloads[i].fn();
		printf("# %s: %s in %.1f s\n", workloads[i].name, r ? "FAILED" : "done",
		       (now_us() - t0) / 1e6);
		failed |= r;
	}
	return failed ? 1 : 0;
}
