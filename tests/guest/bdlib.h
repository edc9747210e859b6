/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal binder userspace protocol helpers for the in-guest e2e tests.
 * No Android userspace: we speak BINDER_WRITE_READ directly.
 */
#ifndef BDLIB_H
#define BDLIB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/android/binder.h>
#include <linux/android/binderfs.h>

#define BINDERFS_DIR "/dev/binderfs"

/* Timeout used by every blocking wait, milliseconds. */
extern int bd_timeout_ms;
/* Prefix for diagnostic lines ("# " in KTAP output, "" in the demo). */
extern const char *bd_diag_prefix;
/* Role name of this process, printed in diagnostics. */
extern const char *bd_role;

void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct bd {
	int fd;
	void *map;
	size_t mapsize;
	uint8_t rbuf[8192];
	size_t rlen, rpos;
	/* node refcount traffic seen (and auto-acked) on this fd */
	int n_increfs, n_acquire, n_release, n_decrefs;
};

struct bev {
	uint32_t cmd;
	struct binder_transaction_data tr;	/* BR_TRANSACTION / BR_REPLY */
	binder_uintptr_t cookie;		/* BR_DEAD_BINDER etc */
	int32_t err;				/* BR_ERROR */
};

const char *br_name(uint32_t cmd);

/* binderfs handling */
int bd_mount_binderfs(void);
int bd_add_device(const char *name);	/* BINDER_CTL_ADD; 0 or -errno; EEXIST ok */
int bd_mount_debugfs(void);		/* 1 if /sys/kernel/debug/binder exists */

/* open + version check + (optional) mmap + BC_ENTER_LOOPER. 0 or -errno */
int bd_open(struct bd *b, const char *dev, size_t mapsize);
void bd_close(struct bd *b);
int bd_write(struct bd *b, const void *data, size_t len);
int bd_cmd(struct bd *b, uint32_t cmd);
int bd_cmd_u32(struct bd *b, uint32_t cmd, uint32_t v);
int bd_free(struct bd *b, binder_uintptr_t ptr);
int bd_set_ctx_mgr(struct bd *b, int accept_fds);

/*
 * Next event that is not NOOP/SPAWN_LOOPER/INCREFS/ACQUIRE/RELEASE/DECREFS
 * (those are acked and counted). 0, -ETIMEDOUT or -errno.
 */
int bd_next(struct bd *b, struct bev *ev, int timeout_ms);
/* Read and count whatever arrives for ms milliseconds; returns number of
 * unexpected (non-refcount) events seen, printed as diagnostics. */
int bd_drain(struct bd *b, int ms);

/* Send a transaction (or reply). sg_size > 0 uses the _SG variant. */
int bd_send(struct bd *b, int reply, uint32_t handle, uint32_t code,
	    uint32_t flags, const void *data, size_t size,
	    const binder_size_t *offs, size_t noffs, size_t sg_size);
/*
 * Wait for the outcome of what we sent: for oneway returns
 * BR_TRANSACTION_COMPLETE / BR_ONEWAY_SPAM_SUSPECT / BR_FAILED_REPLY / ...;
 * for sync returns BR_REPLY (reply filled in) or the error BR. Unexpected
 * BR_TRANSACTION is returned as such. Negative errno on ioctl/timeout.
 */
int bd_wait_result(struct bd *b, int oneway, struct bev *reply);
/* send + wait */
int bd_call(struct bd *b, uint32_t handle, uint32_t code, uint32_t flags,
	    const void *data, size_t size, const binder_size_t *offs,
	    size_t noffs, size_t sg_size, struct bev *reply);
/* Wait for a BR_TRANSACTION; returns 0, or the unexpected cmd / -errno. */
int bd_wait_txn(struct bd *b, struct bev *ev);
/* Optionally free a buffer, then reply and wait for the reply to complete.
 * Returns BR_TRANSACTION_COMPLETE on success or the BR/-errno seen. */
int bd_reply(struct bd *b, binder_uintptr_t free_ptr, const void *data,
	     size_t size);

/* payload helpers */
void fill_pattern(void *buf, size_t len, uint32_t seed);
uint32_t csum32(const void *buf, size_t len);
/* returns index of first mismatch or -1 */
long check_pattern(const void *buf, size_t len, uint32_t seed);

/* Read [addr, addr+len) catching SIGBUS/SIGSEGV. Returns 0 or the signal.
 * If out != NULL, copies the bytes. */
int probe_read(const volatile void *addr, size_t len, void *out);

/* debugfs stats "pages: active:lru:free" summed over a pid's binder procs;
 * -1 if unavailable. */
int debugfs_pages(pid_t pid, long *active, long *lru, long *free_);
/* Rss in kB of the mapping starting at addr in /proc/pid/smaps; -1 if n/a */
long smaps_rss_kb(pid_t pid, uintptr_t addr);

/* pipe-based sync between processes */
int sync_send(int fd, uint64_t v);
int sync_recv(int fd, uint64_t *v, int timeout_ms); /* 0, -ETIMEDOUT, -EPIPE */

/* Write a string to a file; 0 or -errno */
int write_file(const char *path, const char *s);

#endif
