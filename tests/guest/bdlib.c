// SPDX-License-Identifier: GPL-2.0
/* Minimal binder protocol helpers for the in-guest e2e tests. */
#include "bdlib.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

int bd_timeout_ms = 10000;
const char *bd_diag_prefix = "# ";
const char *bd_role = "main";

void diag(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "%s%s[%d]: ", bd_diag_prefix, bd_role,
		     (int)getpid());
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	/* one write() per line so forked processes do not interleave */
	n = strlen(buf);
	if (n < (int)sizeof(buf) - 1) {
		buf[n++] = '\n';
		buf[n] = 0;
	}
	fflush(stdout);
	if (write(1, buf, n) < 0)
		return;
}

const char *br_name(uint32_t cmd)
{
	switch (cmd) {
#define C(x) case x: return #x
	C(BR_ERROR); C(BR_OK); C(BR_TRANSACTION_SEC_CTX); C(BR_TRANSACTION);
	C(BR_REPLY); C(BR_ACQUIRE_RESULT); C(BR_DEAD_REPLY);
	C(BR_TRANSACTION_COMPLETE); C(BR_INCREFS); C(BR_ACQUIRE);
	C(BR_RELEASE); C(BR_DECREFS); C(BR_ATTEMPT_ACQUIRE); C(BR_NOOP);
	C(BR_SPAWN_LOOPER); C(BR_FINISHED); C(BR_DEAD_BINDER);
	C(BR_CLEAR_DEATH_NOTIFICATION_DONE); C(BR_FAILED_REPLY);
	C(BR_FROZEN_REPLY); C(BR_ONEWAY_SPAM_SUSPECT);
	C(BR_TRANSACTION_PENDING_FROZEN); C(BR_FROZEN_BINDER);
	C(BR_CLEAR_FREEZE_NOTIFICATION_DONE);
#undef C
	}
	if (cmd == (uint32_t)-ETIMEDOUT)
		return "timeout";
	return "BR_?";
}

int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	return 0;
}

static int is_mounted(const char *dir, const char *fstype)
{
	char line[512], mnt[256], type[64];
	FILE *f = fopen("/proc/self/mounts", "re");
	int found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %255s %63s", mnt, type) == 2 &&
		    !strcmp(mnt, dir) && !strcmp(type, fstype))
			found = 1;
	}
	fclose(f);
	return found;
}

int bd_mount_binderfs(void)
{
	if (is_mounted(BINDERFS_DIR, "binder"))
		return 0;
	if (mkdir(BINDERFS_DIR, 0755) && errno != EEXIST)
		return -errno;
	if (mount("binder", BINDERFS_DIR, "binder", 0, NULL))
		return -errno;
	return 0;
}

int bd_add_device(const char *name)
{
	struct binderfs_device dev = { 0 };
	char path[300];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", BINDERFS_DIR, name);
	if (!access(path, F_OK))
		return 0;
	fd = open(BINDERFS_DIR "/binder-control", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(dev.name, sizeof(dev.name), "%s", name);
	if (ioctl(fd, BINDER_CTL_ADD, &dev) < 0 && errno != EEXIST)
		ret = -errno;
	close(fd);
	return ret;
}

int bd_mount_debugfs(void)
{
	if (!access("/sys/kernel/debug/binder", F_OK))
		return 1;
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	return !access("/sys/kernel/debug/binder", F_OK);
}

int bd_write(struct bd *b, const void *data, size_t len)
{
	struct binder_write_read bwr = { 0 };

	bwr.write_buffer = (uintptr_t)data;
	bwr.write_size = len;
	if (ioctl(b->fd, BINDER_WRITE_READ, &bwr) < 0)
		return -errno;
	if (bwr.write_consumed != len)
		return -EIO;
	return 0;
}

int bd_cmd(struct bd *b, uint32_t cmd)
{
	return bd_write(b, &cmd, sizeof(cmd));
}

int bd_cmd_u32(struct bd *b, uint32_t cmd, uint32_t v)
{
	uint32_t w[2] = { cmd, v };

	return bd_write(b, w, sizeof(w));
}

int bd_free(struct bd *b, binder_uintptr_t ptr)
{
	struct {
		uint32_t cmd;
		binder_uintptr_t ptr;
	} __attribute__((packed)) w = { BC_FREE_BUFFER, ptr };

	return bd_write(b, &w, sizeof(w));
}

int bd_open(struct bd *b, const char *dev, size_t mapsize)
{
	struct binder_version v = { 0 };
	int ret;

	memset(b, 0, sizeof(*b));
	b->map = MAP_FAILED;
	b->fd = open(dev, O_RDWR | O_CLOEXEC);
	if (b->fd < 0)
		return -errno;
	if (ioctl(b->fd, BINDER_VERSION, &v) < 0) {
		ret = -errno;
		goto err;
	}
	if (v.protocol_version != BINDER_CURRENT_PROTOCOL_VERSION) {
		ret = -EPROTO;
		goto err;
	}
	if (mapsize) {
		b->map = mmap(NULL, mapsize, PROT_READ, MAP_PRIVATE, b->fd, 0);
		if (b->map == MAP_FAILED) {
			ret = -errno;
			goto err;
		}
		b->mapsize = mapsize;
	}
	ret = bd_cmd(b, BC_ENTER_LOOPER);
	if (ret)
		goto err;
	return 0;
err:
	bd_close(b);
	return ret;
}

void bd_close(struct bd *b)
{
	if (b->map != MAP_FAILED && b->map)
		munmap(b->map, b->mapsize);
	b->map = MAP_FAILED;
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

int bd_set_ctx_mgr(struct bd *b, int accept_fds)
{
	struct flat_binder_object obj = { 0 };

	obj.flags = 0x7f | (accept_fds ? FLAT_BINDER_FLAG_ACCEPTS_FDS : 0);
	if (!ioctl(b->fd, BINDER_SET_CONTEXT_MGR_EXT, &obj))
		return 0;
	if (errno != EINVAL)
		return -errno;
	if (!ioctl(b->fd, BINDER_SET_CONTEXT_MGR, 0))
		return 0;
	return -errno;
}

static int bd_fill(struct bd *b, int timeout_ms)
{
	struct binder_write_read bwr = { 0 };
	struct pollfd p = { .fd = b->fd, .events = POLLIN };
	int r;

	for (;;) {
		r = poll(&p, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		break;
	}
	bwr.read_buffer = (uintptr_t)b->rbuf;
	bwr.read_size = sizeof(b->rbuf);
	if (ioctl(b->fd, BINDER_WRITE_READ, &bwr) < 0)
		return -errno;
	b->rlen = bwr.read_consumed;
	b->rpos = 0;
	return 0;
}

int bd_next(struct bd *b, struct bev *ev, int timeout_ms)
{
	for (;;) {
		uint32_t cmd;
		size_t sz;
		int r;

		if (b->rpos + 4 > b->rlen) {
			r = bd_fill(b, timeout_ms);
			if (r)
				return r;
			continue;
		}
		memcpy(&cmd, b->rbuf + b->rpos, 4);
		b->rpos += 4;
		sz = _IOC_SIZE(cmd);
		if (b->rpos + sz > b->rlen)
			return -EPROTO;
		memset(ev, 0, sizeof(*ev));
		ev->cmd = cmd;
		switch (cmd) {
		case BR_NOOP:
		case BR_SPAWN_LOOPER:
		case BR_OK:
		case BR_FINISHED:
			break;
		case BR_INCREFS:
		case BR_ACQUIRE: {
			struct {
				uint32_t cmd;
				struct binder_ptr_cookie pc;
			} __attribute__((packed)) w;

			w.cmd = cmd == BR_INCREFS ? BC_INCREFS_DONE :
						    BC_ACQUIRE_DONE;
			memcpy(&w.pc, b->rbuf + b->rpos, sizeof(w.pc));
			if (cmd == BR_INCREFS)
				b->n_increfs++;
			else
				b->n_acquire++;
			r = bd_write(b, &w, sizeof(w));
			if (r)
				diag("ack of %s failed: %d", br_name(cmd), r);
			break;
		}
		case BR_RELEASE:
			b->n_release++;
			break;
		case BR_DECREFS:
			b->n_decrefs++;
			break;
		case BR_TRANSACTION_SEC_CTX:
			memcpy(&ev->tr, b->rbuf + b->rpos, sizeof(ev->tr));
			ev->cmd = BR_TRANSACTION;
			b->rpos += sz;
			return 0;
		case BR_TRANSACTION:
		case BR_REPLY:
			memcpy(&ev->tr, b->rbuf + b->rpos, sizeof(ev->tr));
			b->rpos += sz;
			return 0;
		case BR_DEAD_BINDER:
		case BR_CLEAR_DEATH_NOTIFICATION_DONE:
		case BR_CLEAR_FREEZE_NOTIFICATION_DONE:
			memcpy(&ev->cookie, b->rbuf + b->rpos, sizeof(ev->cookie));
			b->rpos += sz;
			return 0;
		case BR_ERROR:
			memcpy(&ev->err, b->rbuf + b->rpos, sizeof(ev->err));
			b->rpos += sz;
			return 0;
		default:
			b->rpos += sz;
			return 0;
		}
		b->rpos += sz;
	}
}

int bd_drain(struct bd *b, int ms)
{
	struct bev ev;
	int n = 0, r;

	while ((r = bd_next(b, &ev, ms)) == 0) {
		diag("drain: unexpected %s", br_name(ev.cmd));
		if (ev.cmd == BR_TRANSACTION || ev.cmd == BR_REPLY)
			bd_free(b, ev.tr.data.ptr.buffer);
		n++;
	}
	return n;
}

int bd_send(struct bd *b, int reply, uint32_t handle, uint32_t code,
	    uint32_t flags, const void *data, size_t size,
	    const binder_size_t *offs, size_t noffs, size_t sg_size)
{
	struct {
		uint32_t cmd;
		struct binder_transaction_data_sg tr;
	} __attribute__((packed)) w;
	size_t len;

	memset(&w, 0, sizeof(w));
	w.tr.transaction_data.target.handle = handle;
	w.tr.transaction_data.code = code;
	w.tr.transaction_data.flags = flags;
	w.tr.transaction_data.data_size = size;
	w.tr.transaction_data.offsets_size = noffs * sizeof(binder_size_t);
	w.tr.transaction_data.data.ptr.buffer = (uintptr_t)data;
	w.tr.transaction_data.data.ptr.offsets = (uintptr_t)offs;
	if (sg_size) {
		w.cmd = reply ? BC_REPLY_SG : BC_TRANSACTION_SG;
		w.tr.buffers_size = sg_size;
		len = sizeof(w);
	} else {
		w.cmd = reply ? BC_REPLY : BC_TRANSACTION;
		len = 4 + sizeof(struct binder_transaction_data);
	}
	return bd_write(b, &w, len);
}

int bd_wait_result(struct bd *b, int oneway, struct bev *reply)
{
	struct bev ev;
	int r;

	for (;;) {
		r = bd_next(b, &ev, bd_timeout_ms);
		if (r)
			return r;
		switch (ev.cmd) {
		case BR_TRANSACTION_COMPLETE:
		case BR_ONEWAY_SPAM_SUSPECT:
			if (oneway)
				return ev.cmd;
			continue;
		case BR_REPLY:
			if (reply)
				*reply = ev;
			return BR_REPLY;
		default:
			if (reply)
				*reply = ev;
			return ev.cmd;
		}
	}
}

int bd_call(struct bd *b, uint32_t handle, uint32_t code, uint32_t flags,
	    const void *data, size_t size, const binder_size_t *offs,
	    size_t noffs, size_t sg_size, struct bev *reply)
{
	int r = bd_send(b, 0, handle, code, flags, data, size, offs, noffs,
			sg_size);

	if (r)
		return r;
	return bd_wait_result(b, flags & TF_ONE_WAY, reply);
}

int bd_wait_txn(struct bd *b, struct bev *ev)
{
	int r = bd_next(b, ev, bd_timeout_ms);

	if (r)
		return r;
	if (ev->cmd == BR_TRANSACTION)
		return 0;
	return ev->cmd;
}

int bd_reply(struct bd *b, binder_uintptr_t free_ptr, const void *data,
	     size_t size)
{
	int r;

	if (free_ptr) {
		r = bd_free(b, free_ptr);
		if (r)
			return r;
	}
	r = bd_send(b, 1, 0, 0, 0, data, size, NULL, 0, 0);
	if (r)
		return r;
	return bd_wait_result(b, 1, NULL);
}

void fill_pattern(void *buf, size_t len, uint32_t seed)
{
	uint8_t *p = buf;
	uint32_t x = seed * 2654435761u + 12345;
	size_t i;

	for (i = 0; i < len; i++) {
		if ((i & 3) == 0)
			x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> (8 * (i & 3))) | 1; /* never zero */
	}
}

long check_pattern(const void *buf, size_t len, uint32_t seed)
{
	const uint8_t *p = buf;
	uint32_t x = seed * 2654435761u + 12345;
	size_t i;

	for (i = 0; i < len; i++) {
		if ((i & 3) == 0)
			x = x * 1103515245u + 12345u;
		if (p[i] != ((uint8_t)(x >> (8 * (i & 3))) | 1))
			return (long)i;
	}
	return -1;
}

uint32_t csum32(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static sigjmp_buf probe_jmp;
static volatile sig_atomic_t probe_sig;

static void probe_handler(int sig)
{
	probe_sig = sig;
	siglongjmp(probe_jmp, 1);
}

int probe_read(const volatile void *addr, size_t len, void *out)
{
	struct sigaction sa = { 0 }, obus, osegv;
	const volatile uint8_t *p = addr;
	uint8_t *o = out;
	volatile size_t i;
	int ret = 0;

	sa.sa_handler = probe_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &obus);
	sigaction(SIGSEGV, &sa, &osegv);
	probe_sig = 0;
	if (sigsetjmp(probe_jmp, 1) == 0) {
		for (i = 0; i < len; i++) {
			uint8_t v = p[i];

			if (o)
				o[i] = v;
		}
	} else {
		ret = probe_sig;
	}
	sigaction(SIGBUS, &obus, NULL);
	sigaction(SIGSEGV, &osegv, NULL);
	return ret;
}

int debugfs_pages(pid_t pid, long *active, long *lru, long *free_)
{
	char line[512];
	long a, l, f;
	int found = 0, in = 0, p;
	FILE *fp;

	/*
	 * 7.3 prints "pages: active:lru:free" per proc (and per context) in
	 * the "stats" file (print_binder_proc_stats), not in proc/<pid>.
	 */
	*active = *lru = *free_ = 0;
	fp = fopen("/sys/kernel/debug/binder/stats", "re");
	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "proc %d", &p) == 1) {
			in = p == (int)pid;
			continue;
		}
		if (in && sscanf(line, " pages: %ld:%ld:%ld", &a, &l, &f) == 3) {
			*active += a;
			*lru += l;
			*free_ += f;
			found = 1;
		}
	}
	fclose(fp);
	return found ? 0 : -1;
}

long smaps_rss_kb(pid_t pid, uintptr_t addr)
{
	char path[64], line[512];
	unsigned long start;
	int in = 0;
	long rss = -1, v;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	fp = fopen(path, "re");
	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "%lx-%*x %*s", &start) == 1 &&
		    line[strspn(line, "0123456789abcdef")] == '-') {
			in = (start == addr);
			continue;
		}
		if (in && sscanf(line, "Rss: %ld kB", &v) == 1) {
			rss = v;
			break;
		}
	}
	fclose(fp);
	return rss;
}

int sync_send(int fd, uint64_t v)
{
	return write(fd, &v, sizeof(v)) == sizeof(v) ? 0 : -EPIPE;
}

int sync_recv(int fd, uint64_t *v, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t tmp;
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	if (read(fd, &tmp, sizeof(tmp)) != sizeof(tmp))
		return -EPIPE;
	if (v)
		*v = tmp;
	return 0;
}
