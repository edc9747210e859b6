// SPDX-License-Identifier: GPL-2.0
/*
 * What a context switch costs the code that runs after it, in this guest:
 * the time of one read fault on a fresh anonymous mapping (maps the zero
 * page) back to back, right after a context switch (a pipe round trip to a
 * partner process pinned to the same vCPU) and right after a syscall
 * (getppid); and the time of reading 1 or 16 already populated pages (no
 * fault) after a switch and after a syscall. 256 samples each, pinned to
 * CPU 0; prints the median and the 10th and 90th percentiles.
 *
 *   gcc -O2 -Wall -static -o anon_cs anon_cs.c
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}
static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}
#define N 256
int main(int argc, char **argv)
{
	const size_t ps = 4096;
	int a[2], b[2];
	cpu_set_t s;
	char c = 0;
	volatile char sink = 0;
	double lat[6][N];
	int mode, i;

	CPU_ZERO(&s); CPU_SET(0, &s);
	sched_setaffinity(0, sizeof(s), &s);
	if (pipe(a) || pipe(b)) return 1;
	if (!fork()) {	/* partner: echoes */
		close(a[1]); close(b[0]);
		while (read(a[0], &c, 1) == 1) write(b[1], &c, 1);
		_exit(0);
	}
	for (mode = 0; mode < 6; mode++) {
		char *p = mmap(NULL, N * ps, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | (mode >= 3 ? MAP_POPULATE : 0), -1, 0);
		for (i = 0; i < N; i++) {
			double t0, t1;
			if (mode == 1 || mode == 3 || mode == 4) {	/* context switch: round trip to partner */
				write(a[1], &c, 1); read(b[0], &c, 1);
			} else if (mode == 2 || mode == 5) {
				getppid();
			}
			t0 = now_us();
			if (mode >= 4) {
				int j;
				for (j = 0; j < 16; j++)
					sink += p[((i * 16 + j) % N) * ps];
			} else
				sink += p[i * ps];
			t1 = now_us();
			lat[mode][i] = t1 - t0;
		}
		munmap(p, N * ps);
	}
	{
		const char *name[6] = {"fault_back_to_back", "fault_after_ctxsw", "fault_after_syscall", "nofault_after_ctxsw", "16pages_after_ctxsw", "16pages_after_syscall"};
		for (mode = 0; mode < 6; mode++) {
			qsort(lat[mode], N, sizeof(double), cmpd);
			printf("RUN %s p50_us %.1f p10 %.1f p90 %.1f\n", name[mode], lat[mode][N/2], lat[mode][N/10], lat[mode][9*N/10]);
		}
	}
	close(a[1]);
	wait(NULL);
	return 0;
}
