// SPDX-License-Identifier: GPL-2.0
/*
 * Trace recorder for the binder buffer allocator.
 *
 * For a few fixed seeds, drive binder_alloc_new_buf() and
 * binder_alloc_free_buf() with a deterministic pseudo-random sequence of
 * operations and print every operation and its result to the kernel log,
 * one line each, prefixed with "binder_alloc_trace: ":
 *
 *   # binder_alloc trace v1 seed=<N> buffer_size=<bytes>
 *   new <id> data=<n> offsets=<n> extra=<n> async=<0|1> pid=<n> -> ok offset=<n> spam=<0|1>
 *   new <id> data=<n> offsets=<n> extra=<n> async=<0|1> pid=<n> -> err <ERRNAME>
 *   free <id> -> ok
 *   state free_async_space=<n> allocated=<n>
 *   # end seed=<N> ops=<new+free lines> states=<state lines>
 *
 * The traces are the reference that another allocator implementation
 * replays. The buffer setup (attached mm, anonymous file, mmap through
 * binder_alloc_mmap_handler(), private freelist) is the one of
 * binder_alloc_kunit.c.
 *
 * Caller pids: oneway spam detection (debug_low_async_space_locked())
 * compares the pid of each allocated buffer with current->tgid of the
 * allocating task, and binder_alloc_new_buf() sets buffer->pid from
 * current->tgid. Rewriting buffer->pid after the fact would not change
 * the caller side of that comparison, so instead every allocation of
 * trace pid P (1..TRACE_NR_PIDS) is made by kthread worker P, a thread
 * group of its own: the allocator sees real, distinct callers and no
 * field of struct binder_buffer is written by this test. The trace
 * prints the worker number, not its (boot dependent) tgid. Frees are
 * made by the test thread; binder_alloc_free_buf() does not look at pids.
 *
 * Note for replays: at the time of the spam check, the buffer being
 * allocated is already in the allocated tree, and its pid field is still
 * the one of the previous allocation that used the same struct (0 for a
 * struct made by a split). The check counts it when that stale pid is the
 * caller's.
 */

#define pr_fmt(fmt) "binder_alloc_trace: " fmt

#include <kunit/test.h>
#include <linux/anon_inodes.h>
#include <linux/completion.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kthread.h>
#include <linux/limits.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/prandom.h>
#include <linux/sizes.h>

#include "../binder_alloc.h"
#include "../binder_internal.h"

MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");

#define TRACE_NR_PIDS		4
#define TRACE_STATE_EVERY	100
#define TRACE_PHASE_LEN		250

struct binder_alloc_trace_param {
	u64 seed;
	size_t mmap_size;	/* binder caps the buffer at SZ_4M */
	unsigned int nr_ops;	/* random operations, before the final drain */
	const char *desc;
};

static const struct binder_alloc_trace_param binder_alloc_trace_params[] = {
	{ 1, SZ_128K, 2000, "seed-1 128K" },
	{ 2, SZ_128K, 2000, "seed-2 128K" },
	{ 3, SZ_64K, 2000, "seed-3 64K" },
	{ 4, SZ_256K, 2000, "seed-4 256K" },
	{ 5, SZ_1M, 2000, "seed-5 1M" },
	{ 6, SZ_4M + SZ_1M, 2000, "seed-6 5M (capped to 4M)" },
};

KUNIT_ARRAY_PARAM_DESC(binder_alloc_trace, binder_alloc_trace_params, desc);

struct binder_alloc_trace_test {
	struct binder_alloc alloc;
	struct list_lru freelist;
	struct file *filp;
	unsigned long mmap_uaddr;
	bool vma_mapped;
	struct completion vma_closed;
};

/* An allocation request, run by the worker of the emulated pid. */
struct binder_alloc_trace_req {
	struct kthread_work work;
	struct binder_alloc *alloc;
	size_t data_size;
	size_t offsets_size;
	size_t extra_size;
	int is_async;
	struct binder_buffer *buffer;
};

struct binder_alloc_trace_live {
	unsigned int id;
	struct binder_buffer *buffer;
};

/* How one stretch of the trace behaves. */
struct binder_alloc_trace_phase {
	unsigned int new_pct;	/* chance of an allocation vs. a free */
	unsigned int async_pct;
	unsigned int main_pid;	/* the pid that makes most calls */
	unsigned int main_pct;
	bool small;		/* small sizes only */
};

static u32 trace_rand(struct rnd_state *rnd, u32 n)
{
	return n ? prandom_u32_state(rnd) % n : 0;
}

static const char *trace_errname(long err)
{
	switch (err) {
	case -ENOSPC: return "ENOSPC";
	case -EINVAL: return "EINVAL";
	case -ENOMEM: return "ENOMEM";
	case -ESRCH: return "ESRCH";
	case -EFAULT: return "EFAULT";
	case -EPERM: return "EPERM";
	case -EBUSY: return "EBUSY";
	default: return "EUNKNOWN";
	}
}

static size_t trace_rand_size(struct rnd_state *rnd, size_t bufsz, bool small)
{
	u32 r = trace_rand(rnd, 100);

	if (small || r < 35)
		return trace_rand(rnd, r % 2 ? 64 : 512);
	if (r < 60)
		return trace_rand(rnd, 2 * PAGE_SIZE);
	if (r < 70)		/* around page multiples */
		return (1 + trace_rand(rnd, 4)) * PAGE_SIZE + trace_rand(rnd, 17) - 8;
	if (r < 90)
		return trace_rand(rnd, bufsz / 8 + 1);
	if (r < 98)
		return trace_rand(rnd, bufsz / 2 + 1);
	return bufsz - trace_rand(rnd, 64);
}

static void trace_rand_sizes(struct rnd_state *rnd, size_t bufsz, bool small,
			     size_t *data, size_t *offsets, size_t *extra)
{
	u32 r = trace_rand(rnd, 1000);

	*data = 0;
	*offsets = 0;
	*extra = 0;

	if (r < 20) {
		/* The aligned sum overflows size_t. */
		switch (trace_rand(rnd, 4)) {
		case 0:
			*data = SIZE_MAX - trace_rand(rnd, 16);
			*offsets = trace_rand(rnd, 64);
			break;
		case 1:
			*data = SIZE_MAX / 2 + 1 + trace_rand(rnd, 4096);
			*offsets = SIZE_MAX / 2 + 1 + trace_rand(rnd, 4096);
			break;
		case 2:
			*data = trace_rand(rnd, 256);
			*offsets = trace_rand(rnd, 64);
			*extra = SIZE_MAX - trace_rand(rnd, 8);
			break;
		default:
			*data = SIZE_MAX / 3 * 2 + trace_rand(rnd, 4096);
			*extra = SIZE_MAX / 3 * 2 + trace_rand(rnd, 4096);
			break;
		}
	} else if (r < 30) {
		/* Larger than the whole buffer, no overflow. */
		*data = bufsz + trace_rand(rnd, 2 * PAGE_SIZE);
		*offsets = trace_rand(rnd, 64);
	} else if (r < 40) {
		/* The whole buffer, or just about. */
		*data = bufsz - trace_rand(rnd, 16);
	} else if (r < 130) {
		/* All zero: padded to a pointer-sized buffer. */
	} else {
		*data = trace_rand_size(rnd, bufsz, small);
		if (trace_rand(rnd, 4))
			*offsets = trace_rand(rnd, 4) ? trace_rand(rnd, 128) :
				   8 * trace_rand(rnd, 64);
		if (!trace_rand(rnd, 4))
			*extra = trace_rand_size(rnd, bufsz, true);
	}
}

static void trace_new_buf_work(struct kthread_work *work)
{
	struct binder_alloc_trace_req *req =
		container_of(work, struct binder_alloc_trace_req, work);

	req->buffer = binder_alloc_new_buf(req->alloc, req->data_size,
					   req->offsets_size, req->extra_size,
					   req->is_async);
}

static void trace_destroy_worker(void *kw)
{
	kthread_destroy_worker(kw);
}

static void trace_state(struct binder_alloc *alloc, unsigned int *states)
{
	pr_info("state free_async_space=%zu allocated=%d\n",
		binder_alloc_get_free_async_space(alloc),
		binder_alloc_get_allocated_count(alloc));
	(*states)++;
}

static void binder_alloc_trace_record(struct kunit *test)
{
	const struct binder_alloc_trace_param *param = test->param_value;
	struct binder_alloc_trace_test *priv = test->priv;
	struct binder_alloc *alloc = &priv->alloc;
	struct kthread_worker *workers[TRACE_NR_PIDS];
	struct binder_alloc_trace_phase phase = {};
	struct binder_alloc_trace_live *live;
	unsigned int nr_live = 0, next_id = 0;
	unsigned int ops = 0, states = 0, nr_ok = 0, nr_err = 0, nr_spam = 0;
	size_t bufsz = alloc->buffer_size;
	struct rnd_state rnd;
	unsigned int i;

	KUNIT_ASSERT_GT(test, bufsz, 0);

	for (i = 0; i < TRACE_NR_PIDS; i++) {
		workers[i] = kthread_run_worker(0, "binder_trace/%u", i + 1);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, workers[i]);
		KUNIT_ASSERT_EQ(test, 0,
				kunit_add_action_or_reset(test, trace_destroy_worker,
							  workers[i]));
	}

	live = kunit_kcalloc(test, param->nr_ops, sizeof(*live), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, live);

	prandom_seed_state(&rnd, param->seed);
	pr_info("# binder_alloc trace v1 seed=%llu buffer_size=%zu\n",
		param->seed, bufsz);

	for (i = 0; i < param->nr_ops; i++) {
		if (i % TRACE_PHASE_LEN == 0) {
			static const unsigned int new_pcts[] = { 35, 50, 65, 80 };
			static const unsigned int async_pcts[] = { 10, 30, 70, 95 };

			phase.new_pct = new_pcts[trace_rand(&rnd, ARRAY_SIZE(new_pcts))];
			phase.async_pct = async_pcts[trace_rand(&rnd, ARRAY_SIZE(async_pcts))];
			phase.main_pid = 1 + trace_rand(&rnd, TRACE_NR_PIDS);
			phase.main_pct = trace_rand(&rnd, 2) ? 90 : 25;
			phase.small = !trace_rand(&rnd, 4);
		}

		if (!nr_live || trace_rand(&rnd, 100) < phase.new_pct) {
			struct binder_alloc_trace_req req = { .alloc = alloc };
			unsigned int pid, id = next_id++;

			trace_rand_sizes(&rnd, bufsz, phase.small, &req.data_size,
					 &req.offsets_size, &req.extra_size);
			req.is_async = trace_rand(&rnd, 100) < phase.async_pct;
			pid = trace_rand(&rnd, 100) < phase.main_pct ?
			      phase.main_pid : 1 + trace_rand(&rnd, TRACE_NR_PIDS);

			kthread_init_work(&req.work, trace_new_buf_work);
			kthread_queue_work(workers[pid - 1], &req.work);
			kthread_flush_work(&req.work);

			if (IS_ERR(req.buffer)) {
				pr_info("new %u data=%zu offsets=%zu extra=%zu async=%d pid=%u -> err %s\n",
					id, req.data_size, req.offsets_size,
					req.extra_size, req.is_async, pid,
					trace_errname(PTR_ERR(req.buffer)));
				nr_err++;
			} else {
				struct binder_buffer *buffer = req.buffer;
				unsigned long offset = buffer->user_data - alloc->vm_start;

				KUNIT_EXPECT_LT(test, offset, bufsz);
				pr_info("new %u data=%zu offsets=%zu extra=%zu async=%d pid=%u -> ok offset=%lu spam=%d\n",
					id, req.data_size, req.offsets_size,
					req.extra_size, req.is_async, pid,
					offset, buffer->oneway_spam_suspect ? 1 : 0);
				live[nr_live].id = id;
				live[nr_live].buffer = buffer;
				nr_live++;
				nr_ok++;
				nr_spam += buffer->oneway_spam_suspect;
			}
		} else {
			unsigned int k = trace_rand(&rnd, nr_live);

			binder_alloc_free_buf(alloc, live[k].buffer);
			pr_info("free %u -> ok\n", live[k].id);
			live[k] = live[--nr_live];
		}
		ops++;

		if (ops % TRACE_STATE_EVERY == 0)
			trace_state(alloc, &states);
	}

	/* Drain, oldest first. */
	for (i = 0; i < nr_live; i++) {
		binder_alloc_free_buf(alloc, live[i].buffer);
		pr_info("free %u -> ok\n", live[i].id);
		ops++;
	}
	nr_live = 0;
	trace_state(alloc, &states);

	KUNIT_EXPECT_EQ(test, binder_alloc_get_allocated_count(alloc), 0);
	KUNIT_EXPECT_EQ(test, binder_alloc_get_free_async_space(alloc), bufsz / 2);

	pr_info("# end seed=%llu ops=%u states=%u\n", param->seed, ops, states);
	kunit_info(test, "seed %llu: %u ops, %u ok, %u err, %u spam\n",
		   param->seed, ops, nr_ok, nr_err, nr_spam);
}

/* ===== Setup, as in binder_alloc_kunit.c ===== */

static void binder_alloc_trace_vma_close(struct vm_area_struct *vma)
{
	struct binder_alloc *alloc = vma->vm_private_data;
	struct binder_alloc_trace_test *priv =
		container_of(alloc, struct binder_alloc_trace_test, alloc);

	binder_alloc_vma_close(alloc);
	complete(&priv->vma_closed);
}

static const struct vm_operations_struct binder_alloc_trace_vm_ops = {
	.close = binder_alloc_trace_vma_close,
	.fault = binder_vm_fault,
};

static int binder_alloc_trace_mmap_handler(struct file *filp,
					   struct vm_area_struct *vma)
{
	struct binder_alloc *alloc = filp->private_data;
	struct binder_alloc_trace_test *priv =
		container_of(alloc, struct binder_alloc_trace_test, alloc);
	int ret;

	vm_flags_mod(vma, VM_DONTCOPY | VM_MIXEDMAP, VM_MAYWRITE);

	vma->vm_ops = &binder_alloc_trace_vm_ops;
	vma->vm_private_data = alloc;

	ret = binder_alloc_mmap_handler(alloc, vma);
	if (!ret)
		priv->vma_mapped = true;
	return ret;
}

static const struct file_operations binder_alloc_trace_fops = {
	.mmap = binder_alloc_trace_mmap_handler,
};

static int binder_alloc_trace_init(struct kunit *test)
{
	const struct binder_alloc_trace_param *param = test->param_value;
	struct binder_alloc_trace_test *priv;
	int ret;

	priv = kunit_kzalloc(test, sizeof(*priv), GFP_KERNEL);
	if (!priv)
		return -ENOMEM;
	test->priv = priv;
	init_completion(&priv->vma_closed);

	ret = list_lru_init(&priv->freelist);
	if (ret) {
		kunit_err(test, "Failed to initialize test freelist\n");
		return ret;
	}

	/* __binder_alloc_init requires mm to be attached */
	ret = kunit_attach_mm();
	if (ret) {
		kunit_err(test, "Failed to attach mm\n");
		return ret;
	}
	__binder_alloc_init(&priv->alloc, &priv->freelist);

	priv->filp = anon_inode_getfile("binder_alloc_trace",
					&binder_alloc_trace_fops, &priv->alloc,
					O_RDWR | O_CLOEXEC);
	if (IS_ERR_OR_NULL(priv->filp)) {
		kunit_err(test, "Failed to open binder alloc test driver file\n");
		return priv->filp ? PTR_ERR(priv->filp) : -ENOMEM;
	}

	priv->mmap_uaddr = kunit_vm_mmap(test, priv->filp, 0, param->mmap_size,
					 PROT_READ, MAP_PRIVATE | MAP_NORESERVE,
					 0);
	if (!priv->mmap_uaddr || IS_ERR_VALUE(priv->mmap_uaddr)) {
		kunit_err(test, "Could not map the test's transaction memory\n");
		return -ENOMEM;
	}

	return 0;
}

static void binder_alloc_trace_exit(struct kunit *test)
{
	struct binder_alloc_trace_test *priv = test->priv;

	if (!priv)
		return;

	/*
	 * The VMA is closed when the test thread's mm is torn down, which
	 * can happen after this function starts (see binder_alloc_kunit.c).
	 */
	if (priv->vma_mapped)
		wait_for_completion(&priv->vma_closed);

	if (!IS_ERR_OR_NULL(priv->filp))
		fput(priv->filp);

	if (priv->alloc.mm)
		binder_alloc_deferred_release(&priv->alloc);

	KUNIT_EXPECT_EQ(test, list_lru_count(&priv->freelist), 0);
	list_lru_destroy(&priv->freelist);
}

static struct kunit_case binder_alloc_trace_cases[] = {
	KUNIT_CASE_PARAM_ATTR(binder_alloc_trace_record,
			      binder_alloc_trace_gen_params,
			      { .speed = KUNIT_SPEED_SLOW }),
	{}
};

static struct kunit_suite binder_alloc_trace_suite = {
	.name = "binder_alloc_trace",
	.test_cases = binder_alloc_trace_cases,
	.init = binder_alloc_trace_init,
	.exit = binder_alloc_trace_exit,
};

kunit_test_suite(binder_alloc_trace_suite);

MODULE_DESCRIPTION("Binder allocator trace recorder");
MODULE_LICENSE("GPL");
