// SPDX-License-Identifier: GPL-2.0
/*
 * binder_demo: one synchronous binder round trip between a context manager
 * and a client, speaking the binder ioctl protocol directly.
 *
 * Exit 0 only if the payload and the reply were verified on both sides.
 */
#include "bdlib.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEV BINDERFS_DIR "/binder"
#define MAP_SIZE (1024 * 1024)
#define PAYLOAD 4096
#define REPLY_PAYLOAD 512
#define SEED_REQ 0x1234
#define SEED_REP 0x4321
#define TIMEOUT_S 30

struct reply_hdr {
	uint32_t magic;
	uint32_t seen_csum;
	uint64_t seen_size;
	uint64_t seen_offset;	/* buffer offset in the server's mapping */
};
#define REPLY_MAGIC 0x52504c59

static int run_server(int ready_fd)
{
	uint8_t rep[sizeof(struct reply_hdr) + REPLY_PAYLOAD];
	struct reply_hdr *h = (void *)rep;
	struct bd b;
	struct bev ev;
	const uint8_t *data;
	uint32_t cs;
	long bad;
	int r;

	bd_role = "server";
	alarm(TIMEOUT_S);
	r = bd_open(&b, DEV, MAP_SIZE);
	if (r) {
		diag("FAIL: open/mmap %s: %s", DEV, strerror(-r));
		return 1;
	}
	diag("opened %s, mapped %d KiB read-only at %p", DEV, MAP_SIZE / 1024,
	     b.map);
	/* a previous context manager of this device may still be exiting */
	for (int i = 0; (r = bd_set_ctx_mgr(&b, 1)) == -EBUSY && i < 100; i++)
		usleep(50000);
	if (r) {
		diag("FAIL: BINDER_SET_CONTEXT_MGR: %s", strerror(-r));
		return 1;
	}
	diag("is the context manager (handle 0), looper entered");
	sync_send(ready_fd, 1);

	r = bd_wait_txn(&b, &ev);
	if (r) {
		diag("FAIL: waiting for a transaction: %s",
		     r < 0 ? strerror(-r) : br_name(r));
		return 1;
	}
	data = (const void *)(uintptr_t)ev.tr.data.ptr.buffer;
	diag("BR_TRANSACTION from pid %d uid %d: code 0x%08x, %llu bytes at "
	     "%p (offset 0x%lx in the mapping), %llu offset bytes",
	     ev.tr.sender_pid, ev.tr.sender_euid, ev.tr.code,
	     (unsigned long long)ev.tr.data_size, data,
	     (unsigned long)((uintptr_t)data - (uintptr_t)b.map),
	     (unsigned long long)ev.tr.offsets_size);
	if ((uintptr_t)data < (uintptr_t)b.map ||
	    (uintptr_t)data + ev.tr.data_size > (uintptr_t)b.map + MAP_SIZE) {
		diag("FAIL: buffer is outside the mapping");
		return 1;
	}
	cs = csum32(data, ev.tr.data_size);
	bad = check_pattern(data, ev.tr.data_size, SEED_REQ);
	diag("payload checksum 0x%08x (sender said 0x%08x), pattern %s",
	     cs, ev.tr.code, bad < 0 ? "intact" : "CORRUPT");
	if (ev.tr.data_size != PAYLOAD || cs != ev.tr.code || bad >= 0) {
		diag("FAIL: payload verification failed (size %llu, first bad "
		     "byte %ld)", (unsigned long long)ev.tr.data_size, bad);
		return 1;
	}
	h->magic = REPLY_MAGIC;
	h->seen_csum = cs;
	h->seen_size = ev.tr.data_size;
	h->seen_offset = (uintptr_t)data - (uintptr_t)b.map;
	fill_pattern(rep + sizeof(*h), REPLY_PAYLOAD, SEED_REP);
	r = bd_reply(&b, ev.tr.data.ptr.buffer, rep, sizeof(rep));
	if (r != BR_TRANSACTION_COMPLETE) {
		diag("FAIL: BC_FREE_BUFFER + BC_REPLY: %s",
		     r < 0 ? strerror(-r) : br_name(r));
		return 1;
	}
	diag("freed the buffer, replied with %zu bytes (checksum 0x%08x)",
	     sizeof(rep), csum32(rep, sizeof(rep)));
	bd_close(&b);
	return 0;
}

static int run_client(int ready_fd)
{
	uint8_t *payload = malloc(PAYLOAD);
	const struct reply_hdr *h;
	const uint8_t *rd;
	struct bd b;
	struct bev rep;
	uint32_t cs;
	int r, ok = 1;

	bd_role = "client";
	alarm(TIMEOUT_S);
	if (sync_recv(ready_fd, NULL, TIMEOUT_S * 1000)) {
		diag("FAIL: server never became ready");
		return 1;
	}
	r = bd_open(&b, DEV, MAP_SIZE);
	if (r) {
		diag("FAIL: open/mmap %s: %s", DEV, strerror(-r));
		return 1;
	}
	fill_pattern(payload, PAYLOAD, SEED_REQ);
	cs = csum32(payload, PAYLOAD);
	diag("sending BC_TRANSACTION to handle 0: %d bytes, checksum 0x%08x",
	     PAYLOAD, cs);
	r = bd_call(&b, 0, cs, TF_ACCEPT_FDS, payload, PAYLOAD, NULL, 0, 0,
		    &rep);
	if (r != BR_REPLY) {
		diag("FAIL: expected BR_REPLY, got %s",
		     r < 0 ? strerror(-r) : br_name(r));
		return 1;
	}
	rd = (const void *)(uintptr_t)rep.tr.data.ptr.buffer;
	diag("BR_REPLY: %llu bytes at %p (offset 0x%lx in the mapping)",
	     (unsigned long long)rep.tr.data_size, rd,
	     (unsigned long)((uintptr_t)rd - (uintptr_t)b.map));
	if (rep.tr.data_size != sizeof(*h) + REPLY_PAYLOAD) {
		diag("FAIL: reply size %llu, expected %zu",
		     (unsigned long long)rep.tr.data_size,
		     sizeof(*h) + REPLY_PAYLOAD);
		ok = 0;
	} else {
		h = (const void *)rd;
		diag("server saw %llu bytes, checksum 0x%08x, at offset 0x%llx",
		     (unsigned long long)h->seen_size, h->seen_csum,
		     (unsigned long long)h->seen_offset);
		if (h->magic != REPLY_MAGIC || h->seen_csum != cs ||
		    h->seen_size != PAYLOAD) {
			diag("FAIL: server's view of the payload is wrong");
			ok = 0;
		}
		if (check_pattern(rd + sizeof(*h), REPLY_PAYLOAD,
				  SEED_REP) >= 0) {
			diag("FAIL: reply payload corrupt");
			ok = 0;
		} else {
			diag("reply payload verified (checksum 0x%08x)",
			     csum32(rd, rep.tr.data_size));
		}
	}
	r = bd_free(&b, rep.tr.data.ptr.buffer);
	if (r) {
		diag("FAIL: BC_FREE_BUFFER of the reply: %s", strerror(-r));
		ok = 0;
	}
	bd_close(&b);
	free(payload);
	return ok ? 0 : 1;
}

static int wait_child(pid_t pid, const char *what)
{
	int st;

	if (waitpid(pid, &st, 0) < 0) {
		printf("FAIL: waitpid %s: %s\n", what, strerror(errno));
		return 1;
	}
	if (WIFSIGNALED(st)) {
		printf("FAIL: %s (pid %d) killed by signal %d%s\n", what,
		       (int)pid, WTERMSIG(st),
		       WTERMSIG(st) == SIGALRM ? " (timeout)" : "");
		return 1;
	}
	if (WEXITSTATUS(st)) {
		printf("FAIL: %s (pid %d) exited with status %d\n", what,
		       (int)pid, WEXITSTATUS(st));
		return 1;
	}
	return 0;
}

int main(void)
{
	int pfd[2], r, fails = 0;
	pid_t srv, cli;

	setvbuf(stdout, NULL, _IOLBF, 0);
	bd_diag_prefix = "";
	r = bd_mount_binderfs();
	if (r) {
		printf("FAIL: cannot mount binderfs on %s: %s\n", BINDERFS_DIR,
		       strerror(-r));
		return 2;
	}
	r = bd_add_device("binder");
	if (r) {
		printf("FAIL: cannot create %s: %s\n", DEV, strerror(-r));
		return 2;
	}
	printf("binderfs mounted at %s, using %s\n", BINDERFS_DIR, DEV);
	if (pipe(pfd))
		return 2;
	srv = fork();
	if (srv == 0)
		_exit(run_server(pfd[1]));
	cli = fork();
	if (cli == 0)
		_exit(run_client(pfd[0]));
	printf("forked context manager pid %d and client pid %d\n", (int)srv,
	       (int)cli);
	fails += wait_child(cli, "client");
	if (fails)
		kill(srv, SIGKILL);
	fails += wait_child(srv, "server");
	if (fails) {
		printf("binder_demo: FAILED\n");
		return 1;
	}
	printf("binder_demo: OK (sync transaction of %d bytes and reply of %zu"
	       " bytes verified)\n", PAYLOAD,
	       sizeof(struct reply_hdr) + REPLY_PAYLOAD);
	return 0;
}
