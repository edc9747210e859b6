// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the binder allocator seen through the receiver's mapping.
 *
 * The upstream suite (binder_alloc_kunit.c) checks the allocator's
 * bookkeeping. These cases read the buffers back through the user mapping
 * of the test's mm, so that a page fault reaches the VMA's ->fault()
 * handler (binder_alloc_vm_fault()), and check what userspace sees after
 * MADV_DONTNEED, after munmap, in holes and past the end of the buffer
 * space, and after a clear_on_free buffer is freed.
 *
 * Both allocators run every case. Where they differ by design, the case
 * asserts each allocator's own behaviour and says so:
 *
 *  - MADV_DONTNEED on a live buffer: the C allocator inserts pages from the
 *    sender's context and its ->fault() handler only returns SIGBUS, so the
 *    re-read fails; the Rust allocator maps its page again from ->fault()
 *    and the re-read returns the same bytes.
 *  - A sender while the receiver's mm is write-locked: the C allocator
 *    waits for the receiver's mmap lock to insert pages; the Rust allocator
 *    takes no lock of the receiver's mm and completes.
 *
 * The GUP cases (the opt-in GUP-copy strategy and the debug check) exist
 * only with the Rust allocator.
 *
 * Every case unmaps its mapping itself, from the test thread that mapped
 * it, so that the allocator is released only after its VMA is closed.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/test.h>
#include <linux/anon_inodes.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/list_lru.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmap_lock.h>
#include <linux/sizes.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "../binder_alloc.h"
#include "../binder_internal.h"

MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");

/* The buffer space is capped at 4 MiB; map one page more to reach past it. */
#define FAULT_TEST_BUFFER_SIZE	SZ_4M
#define FAULT_TEST_MMAP_SIZE	(FAULT_TEST_BUFFER_SIZE + PAGE_SIZE)

/* A buffer that spans three pages and starts at the start of the mapping. */
#define FAULT_TEST_BUF_SIZE	(2 * PAGE_SIZE + 64)

struct binder_alloc_fault_test {
	struct binder_alloc alloc;
	struct list_lru freelist;
	struct file *filp;
	unsigned long mmap_uaddr;
	u8 pattern[FAULT_TEST_BUF_SIZE];
	u8 readback[FAULT_TEST_BUF_SIZE];
};

/* Unmaps the test's mapping from the test thread, which closes the VMA. */
static void fault_test_unmap(struct binder_alloc_fault_test *priv)
{
	if (priv->mmap_uaddr) {
		vm_munmap(priv->mmap_uaddr, FAULT_TEST_MMAP_SIZE);
		priv->mmap_uaddr = 0;
	}
}

/* Allocates a buffer of FAULT_TEST_BUF_SIZE and fills it with the pattern. */
static struct binder_buffer *fault_test_new_filled(struct kunit *test)
{
	struct binder_alloc_fault_test *priv = test->priv;
	struct binder_buffer *buffer;
	int ret;

	buffer = binder_alloc_new_buf(&priv->alloc, FAULT_TEST_BUF_SIZE, 0, 0, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(buffer));
	KUNIT_ASSERT_EQ(test, buffer->user_data, priv->alloc.vm_start);

	ret = binder_alloc_copy_to_buffer(&priv->alloc, buffer, 0,
					  priv->pattern, FAULT_TEST_BUF_SIZE);
	KUNIT_ASSERT_EQ(test, ret, 0);
	return buffer;
}

/* Reads @len bytes at @uaddr of the mapping; returns the bytes not read. */
static unsigned long fault_test_read_user(struct binder_alloc_fault_test *priv,
					  unsigned long uaddr, size_t len)
{
	memset(priv->readback, 0x5a, sizeof(priv->readback));
	return copy_from_user(priv->readback, (void __user *)uaddr, len);
}

/*
 * Bytes written with binder_alloc_copy_to_buffer() are what the receiver
 * reads through its mapping, on every page of the buffer (for the Rust
 * allocator, each page is mapped by a fault).
 */
static void binder_alloc_fault_test_copy_to_buffer_read_through_mapping(struct kunit *test)
{
	struct binder_alloc_fault_test *priv = test->priv;
	struct binder_buffer *buffer;
	unsigned long left;

	buffer = fault_test_new_filled(test);

	left = fault_test_read_user(priv, buffer->user_data, FAULT_TEST_BUF_SIZE);
	KUNIT_EXPECT_EQ(test, left, 0);
	KUNIT_EXPECT_MEMEQ(test, priv->readback, priv->pattern, FAULT_TEST_BUF_SIZE);

	binder_alloc_free_buf(&priv->alloc, buffer);
	fault_test_unmap(priv);
}

/*
 * Designed divergence: after MADV_DONTNEED on a live buffer, the Rust
 * allocator's ->fault() maps the same page again and the re-read returns
 * the same bytes; the C allocator's ->fault() returns SIGBUS, so the re-read
 * fails.
 */
static void binder_alloc_fault_test_dontneed_then_reread(struct kunit *test)
{
#if IS_BUILTIN(CONFIG_ANDROID_BINDER_ALLOC_KUNIT_TEST) && IS_ENABLED(CONFIG_ADVISE_SYSCALLS)
	struct binder_alloc_fault_test *priv = test->priv;
	struct binder_buffer *buffer;
	unsigned long left;
	int ret;

	buffer = fault_test_new_filled(test);

	left = fault_test_read_user(priv, buffer->user_data, FAULT_TEST_BUF_SIZE);
	KUNIT_ASSERT_EQ(test, left, 0);

	ret = do_madvise(current->mm, priv->mmap_uaddr, FAULT_TEST_MMAP_SIZE,
			 MADV_DONTNEED);
	KUNIT_ASSERT_EQ(test, ret, 0);

	left = fault_test_read_user(priv, buffer->user_data, FAULT_TEST_BUF_SIZE);
	if (IS_ENABLED(CONFIG_ANDROID_BINDER_ALLOC_RUST)) {
		KUNIT_EXPECT_EQ(test, left, 0);
		KUNIT_EXPECT_MEMEQ(test, priv->readback, priv->pattern,
				   FAULT_TEST_BUF_SIZE);
	} else {
		KUNIT_EXPECT_EQ(test, left, FAULT_TEST_BUF_SIZE);
	}

	/* The kernel side of the buffer is unaffected either way. */
	memset(priv->readback, 0, sizeof(priv->readback));
	ret = binder_alloc_copy_from_buffer(&priv->alloc, priv->readback, buffer,
					    0, FAULT_TEST_BUF_SIZE);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_MEMEQ(test, priv->readback, priv->pattern, FAULT_TEST_BUF_SIZE);

	binder_alloc_free_buf(&priv->alloc, buffer);
	fault_test_unmap(priv);
#else
	kunit_skip(test, "needs a built-in test and CONFIG_ADVISE_SYSCALLS");
#endif
}

/*
 * A read of a page that no buffer covers (a hole) or of the mapping past
 * the 4 MiB buffer space fails and installs no page.
 */
static void binder_alloc_fault_test_hole_and_past_end_fail(struct kunit *test)
{
	struct binder_alloc_fault_test *priv = test->priv;
	struct binder_alloc *alloc = &priv->alloc;
	unsigned long hole_index = FAULT_TEST_BUF_SIZE / PAGE_SIZE + 1;
	struct binder_buffer *buffer;
	unsigned long lru_before;
	unsigned long left;

	buffer = fault_test_new_filled(test);
	lru_before = list_lru_count(&priv->freelist);

	KUNIT_ASSERT_EQ(test, alloc->buffer_size, FAULT_TEST_BUFFER_SIZE);
	KUNIT_ASSERT_EQ(test, binder_alloc_page_state(alloc, hole_index),
			BINDER_PAGE_ABSENT);

	left = fault_test_read_user(priv, alloc->vm_start + hole_index * PAGE_SIZE, 1);
	KUNIT_EXPECT_EQ(test, left, 1);
	KUNIT_EXPECT_EQ(test, binder_alloc_page_state(alloc, hole_index),
			BINDER_PAGE_ABSENT);

	left = fault_test_read_user(priv, alloc->vm_start + FAULT_TEST_BUFFER_SIZE, 1);
	KUNIT_EXPECT_EQ(test, left, 1);

	KUNIT_EXPECT_EQ(test, list_lru_count(&priv->freelist), lru_before);
	KUNIT_EXPECT_EQ(test, binder_alloc_get_allocated_count(alloc), 1);

	binder_alloc_free_buf(alloc, buffer);
	fault_test_unmap(priv);
}

/* After the receiver unmaps its binder mapping, allocations fail with -ESRCH. */
static void binder_alloc_fault_test_munmap_then_new_buf_esrch(struct kunit *test)
{
	struct binder_alloc_fault_test *priv = test->priv;
	struct binder_buffer *buffer;

	fault_test_unmap(priv);
	KUNIT_EXPECT_FALSE(test, priv->alloc.mapped);

	buffer = binder_alloc_new_buf(&priv->alloc, 64, 0, 0, 0);
	KUNIT_EXPECT_TRUE(test, IS_ERR(buffer));
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(buffer), -ESRCH);
}

/*
 * Freeing a clear_on_free buffer zeroes it: a new buffer on the same pages
 * reads zeros, through the kernel copy and through the mapping.
 */
static void binder_alloc_fault_test_clear_on_free_leaves_zeros(struct kunit *test)
{
	struct binder_alloc_fault_test *priv = test->priv;
	struct binder_buffer *buffer;
	unsigned long left;
	u8 *zeros;
	int ret;

	zeros = kunit_kzalloc(test, FAULT_TEST_BUF_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, zeros);

	buffer = fault_test_new_filled(test);
	buffer->clear_on_free = true;
	binder_alloc_free_buf(&priv->alloc, buffer);

	buffer = binder_alloc_new_buf(&priv->alloc, FAULT_TEST_BUF_SIZE, 0, 0, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(buffer));
	KUNIT_ASSERT_EQ(test, buffer->user_data, priv->alloc.vm_start);

	memset(priv->readback, 0x5a, sizeof(priv->readback));
	ret = binder_alloc_copy_from_buffer(&priv->alloc, priv->readback, buffer,
					    0, FAULT_TEST_BUF_SIZE);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_MEMEQ(test, priv->readback, zeros, FAULT_TEST_BUF_SIZE);

	left = fault_test_read_user(priv, buffer->user_data, FAULT_TEST_BUF_SIZE);
	KUNIT_EXPECT_EQ(test, left, 0);
	KUNIT_EXPECT_MEMEQ(test, priv->readback, zeros, FAULT_TEST_BUF_SIZE);

	binder_alloc_free_buf(&priv->alloc, buffer);
	fault_test_unmap(priv);
}

/*
 * A new buffer has the fields the allocator defines set as C's
 * binder_alloc_new_buf() sets them, also when it takes the place (and the
 * memory: C reuses the free buffer it splits, the Rust allocator the last
 * buffer freed) of a buffer that binder.c used and freed. debug_id and
 * target_node are binder.c's to set: C leaves a reused buffer's as they were.
 */
static void binder_alloc_fault_test_new_buf_fields_fresh(struct kunit *test)
{
	struct binder_alloc_fault_test *priv = test->priv;
	struct binder_buffer *first, *second;

	first = binder_alloc_new_buf(&priv->alloc, 64, 16, 8, 1);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(first));
	KUNIT_EXPECT_TRUE(test, first->async_transaction);
	/*
	 * binder.c has set allow_user_free by the time it frees a buffer (and
	 * cleared ->transaction: C's free BUG()s on a buffer that has one).
	 */
	first->allow_user_free = 1;
	first->clear_on_free = true;
	binder_alloc_free_buf(&priv->alloc, first);

	second = binder_alloc_new_buf(&priv->alloc, 32, 8, 0, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(second));
#if IS_ENABLED(CONFIG_ANDROID_BINDER_ALLOC_RUST) && !IS_ENABLED(CONFIG_KASAN)
	/* The Rust allocator keeps the last freed buffer for the next one. */
	KUNIT_EXPECT_PTR_EQ(test, second, first);
#endif
	KUNIT_EXPECT_EQ(test, second->user_data, priv->alloc.vm_start);
	KUNIT_EXPECT_EQ(test, second->data_size, 32);
	KUNIT_EXPECT_EQ(test, second->offsets_size, 8);
	KUNIT_EXPECT_EQ(test, second->extra_buffers_size, 0);
	KUNIT_EXPECT_EQ(test, second->pid, current->tgid);
	KUNIT_EXPECT_FALSE(test, second->free);
	KUNIT_EXPECT_FALSE(test, second->clear_on_free);
	KUNIT_EXPECT_FALSE(test, second->allow_user_free);
	KUNIT_EXPECT_FALSE(test, second->async_transaction);
	KUNIT_EXPECT_FALSE(test, second->oneway_spam_suspect);
	KUNIT_EXPECT_NULL(test, second->transaction);

	binder_alloc_free_buf(&priv->alloc, second);
	fault_test_unmap(priv);
}

/* Fills @len bytes of @dst with a pattern that differs from page to page. */
static void fault_test_page_pattern(u8 *dst, size_t len, unsigned long page)
{
	size_t i;

	for (i = 0; i < len; i++)
		dst[i] = (u8)(page * 13 + i * 7 + 1);
}

/*
 * A buffer whose pages straddle three chunks of the Rust allocator's page
 * slots (allocated 32 at a time, when the first page of a chunk is
 * installed), placed after a first buffer so that its pages start at index
 * 30: every page is in use, the bytes copied in are read back with
 * binder_alloc_copy_from_buffer() and through the mapping, and once both
 * buffers are freed the pages are on the LRU. Both allocators run it.
 */
static void binder_alloc_fault_test_buffer_across_slot_chunks(struct kunit *test)
{
	struct binder_alloc_fault_test *priv = test->priv;
	const size_t first_size = 30 * PAGE_SIZE;
	const size_t size = 40 * PAGE_SIZE + 64;
	const unsigned long first_page = 30, end_page = 71;
	struct binder_buffer *first, *buffer;
	unsigned long i, left;
	size_t off, len;
	int ret;

	first = binder_alloc_new_buf(&priv->alloc, first_size, 0, 0, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(first));
	buffer = binder_alloc_new_buf(&priv->alloc, size, 0, 0, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(buffer));
	KUNIT_ASSERT_EQ(test, buffer->user_data,
			priv->alloc.vm_start + first_page * PAGE_SIZE);

	for (i = first_page; i < end_page; i++)
		KUNIT_EXPECT_EQ_MSG(test, binder_alloc_page_state(&priv->alloc, i),
				    BINDER_PAGE_IN_USE, "page %lu", i);
	KUNIT_EXPECT_EQ(test, binder_alloc_page_state(&priv->alloc, end_page),
			BINDER_PAGE_ABSENT);

	for (off = 0; off < size; off += PAGE_SIZE) {
		len = min_t(size_t, PAGE_SIZE, size - off);
		fault_test_page_pattern(priv->pattern, len, off / PAGE_SIZE);
		ret = binder_alloc_copy_to_buffer(&priv->alloc, buffer, off,
						  priv->pattern, len);
		KUNIT_ASSERT_EQ(test, ret, 0);
	}
	for (off = 0; off < size; off += PAGE_SIZE) {
		len = min_t(size_t, PAGE_SIZE, size - off);
		fault_test_page_pattern(priv->pattern, len, off / PAGE_SIZE);

		memset(priv->readback, 0x5a, sizeof(priv->readback));
		ret = binder_alloc_copy_from_buffer(&priv->alloc, priv->readback,
						    buffer, off, len);
		KUNIT_EXPECT_EQ(test, ret, 0);
		KUNIT_EXPECT_MEMEQ_MSG(test, priv->readback, priv->pattern, len,
				       "copy_from_buffer at %zu", off);

		left = fault_test_read_user(priv, buffer->user_data + off, len);
		KUNIT_EXPECT_EQ(test, left, 0);
		KUNIT_EXPECT_MEMEQ_MSG(test, priv->readback, priv->pattern, len,
				       "mapping at %zu", off);
	}

	binder_alloc_free_buf(&priv->alloc, buffer);
	binder_alloc_free_buf(&priv->alloc, first);
	for (i = first_page; i < end_page; i++)
		KUNIT_EXPECT_EQ_MSG(test, binder_alloc_page_state(&priv->alloc, i),
				    BINDER_PAGE_ON_LRU, "page %lu", i);
	fault_test_unmap(priv);
}

/* One-page remote lookup in @mm, as binder's old code and the GUP paths do. */
static long fault_test_gup(struct mm_struct *mm, unsigned long addr,
			   unsigned int gup_flags, struct page **page)
{
	long n;

	mmap_read_lock(mm);
	n = get_user_pages_remote(mm, addr, 1, gup_flags, page, NULL);
	mmap_read_unlock(mm);
	return n;
}

/*
 * A FOLL_WRITE lookup of a buffer page fails, even with FOLL_FORCE: the
 * mapping is read-only and VM_MAYWRITE is cleared, so GUP can neither write
 * nor break COW. A read lookup of the same address returns the buffer's
 * page.
 */
static void binder_alloc_fault_test_foll_write_remote_fails(struct kunit *test)
{
	struct binder_alloc_fault_test *priv = test->priv;
	struct mm_struct *mm = current->mm;
	struct binder_buffer *buffer;
	struct page *page = NULL;
	void *kaddr;
	long n;

	buffer = fault_test_new_filled(test);

	n = fault_test_gup(mm, buffer->user_data, FOLL_WRITE, &page);
	KUNIT_EXPECT_EQ(test, n, -EFAULT);
	n = fault_test_gup(mm, buffer->user_data, FOLL_WRITE | FOLL_FORCE, &page);
	KUNIT_EXPECT_EQ(test, n, -EFAULT);

	n = fault_test_gup(mm, buffer->user_data, 0, &page);
	KUNIT_ASSERT_EQ(test, n, 1);
	kaddr = kmap_local_page(page);
	KUNIT_EXPECT_MEMEQ(test, kaddr, priv->pattern, PAGE_SIZE);
	kunmap_local(kaddr);
	put_page(page);

	binder_alloc_free_buf(&priv->alloc, buffer);
	fault_test_unmap(priv);
}

#define FAULT_RACE_ROUNDS	1000
#define FAULT_RACE_PAUSE_EVERY	16

struct fault_race {
	struct list_lru *freelist;
	atomic_t stop;
	/* Odd while the test asks the thread not to walk; the thread acks it. */
	atomic_t pause_req;
	atomic_t pause_ack;
	unsigned long walks;
	unsigned long reclaimed;
	struct completion done;
};

/* The shrinker's side: walk the freelist as binder's shrinker scan does. */
static int fault_race_shrinker(void *data)
{
	struct fault_race *race = data;

	while (!atomic_read(&race->stop)) {
		int req = atomic_read_acquire(&race->pause_req);

		if (req & 1) {
			atomic_set_release(&race->pause_ack, req);
			cond_resched();
			continue;
		}
		race->reclaimed += list_lru_walk(race->freelist,
						 binder_alloc_free_page, NULL,
						 ULONG_MAX);
		race->walks++;
		cond_resched();
	}
	complete(&race->done);
	return 0;
}

/* Stops the shrinker thread between two walks, until fault_race_resume(). */
static void fault_race_pause(struct fault_race *race)
{
	int req = atomic_inc_return(&race->pause_req);

	/* The thread may share this CPU: let it run. */
	while (atomic_read_acquire(&race->pause_ack) != req)
		cond_resched();
}

static void fault_race_resume(struct fault_race *race)
{
	atomic_inc(&race->pause_req);
}

/*
 * Faults race the shrinker: a thread reclaims the freelist in a loop while
 * the test allocates, fills and frees a buffer and reads it back through
 * the mapping, FAULT_RACE_ROUNDS times. A read either faults or returns the
 * bytes written; once everything is reclaimed no page of the buffer is
 * present and no read succeeds, so no PTE to a freed page survived (KASAN
 * and DEBUG_VM watch the frees on the debug config). Which way a racing
 * read goes is up to the scheduler (the thread often wins every round), so
 * every FAULT_RACE_PAUSE_EVERY-th round pauses the thread around the free
 * and the read: that read must return the bytes (a freed page on the LRU
 * is still mapped, or mapped by the fault).
 */
static void binder_alloc_fault_test_fault_races_shrinker(struct kunit *test)
{
	struct binder_alloc_fault_test *priv = test->priv;
	struct binder_alloc *alloc = &priv->alloc;
	unsigned long hits = 0, misses = 0, bad = 0;
	unsigned long paused = 0, paused_hits = 0;
	struct binder_buffer *buffer;
	struct task_struct *task;
	struct fault_race race;
	bool pause;
	unsigned long left, i;
	int round, ret;

	race.freelist = &priv->freelist;
	race.walks = 0;
	race.reclaimed = 0;
	atomic_set(&race.stop, 0);
	atomic_set(&race.pause_req, 0);
	atomic_set(&race.pause_ack, 0);
	init_completion(&race.done);
	task = kthread_run(fault_race_shrinker, &race, "binder_fault_race");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));

	for (round = 0; round < FAULT_RACE_ROUNDS; round++) {
		buffer = binder_alloc_new_buf(alloc, FAULT_TEST_BUF_SIZE, 0, 0, 0);
		if (IS_ERR_OR_NULL(buffer)) {
			KUNIT_FAIL(test, "round %d: new_buf failed: %ld", round,
				   PTR_ERR(buffer));
			break;
		}
		ret = binder_alloc_copy_to_buffer(alloc, buffer, 0, priv->pattern,
						  FAULT_TEST_BUF_SIZE);
		KUNIT_EXPECT_EQ(test, ret, 0);
		pause = round % FAULT_RACE_PAUSE_EVERY == FAULT_RACE_PAUSE_EVERY - 1;
		if (pause)
			fault_race_pause(&race);
		binder_alloc_free_buf(alloc, buffer);
		/* Vary how far the shrinker gets before the read. */
		udelay((round * 37) % 256);

		left = fault_test_read_user(priv, alloc->vm_start, FAULT_TEST_BUF_SIZE);
		if (memcmp(priv->readback, priv->pattern, FAULT_TEST_BUF_SIZE - left))
			bad++;
		if (pause) {
			fault_race_resume(&race);
			paused++;
			if (!left)
				paused_hits++;
			continue;
		}
		if (left < FAULT_TEST_BUF_SIZE)
			hits++;
		if (left)
			misses++;
	}
	atomic_set(&race.stop, 1);
	wait_for_completion(&race.done);

	list_lru_walk(&priv->freelist, binder_alloc_free_page, NULL, ULONG_MAX);
	KUNIT_EXPECT_EQ(test, list_lru_count(&priv->freelist), 0);
	for (i = 0; i < DIV_ROUND_UP(FAULT_TEST_BUF_SIZE, PAGE_SIZE); i++) {
		KUNIT_EXPECT_EQ(test, binder_alloc_page_state(alloc, i),
				BINDER_PAGE_ABSENT);
		left = fault_test_read_user(priv, alloc->vm_start + i * PAGE_SIZE, 1);
		KUNIT_EXPECT_EQ_MSG(test, left, 1, "page %lu still mapped", i);
	}

	kunit_info(test, "%d rounds, %lu racing: %lu reads hit, %lu faulted; %lu paused: %lu hit; %lu walks reclaimed %lu pages\n",
		   round, round - paused, hits, misses, paused, paused_hits,
		   race.walks, race.reclaimed);
	KUNIT_EXPECT_EQ(test, bad, 0);
	KUNIT_EXPECT_GT(test, paused, 0);
	KUNIT_EXPECT_EQ(test, paused_hits, paused);
	KUNIT_EXPECT_GT(test, race.reclaimed, 0);
	fault_test_unmap(priv);
}

struct fault_sender {
	struct binder_alloc *alloc;
	const u8 *pattern;
	int ret;
	struct completion done;
};

/* A sender: allocate a buffer in the receiver, fill it, free it. */
static int fault_test_sender(void *data)
{
	struct fault_sender *sender = data;
	struct binder_buffer *buffer;

	buffer = binder_alloc_new_buf(sender->alloc, FAULT_TEST_BUF_SIZE, 0, 0, 0);
	if (IS_ERR_OR_NULL(buffer)) {
		sender->ret = buffer ? PTR_ERR(buffer) : -ENOMEM;
	} else {
		sender->ret = binder_alloc_copy_to_buffer(sender->alloc, buffer, 0,
							  (void *)sender->pattern,
							  FAULT_TEST_BUF_SIZE);
		binder_alloc_free_buf(sender->alloc, buffer);
	}
	complete(&sender->done);
	return 0;
}

/*
 * The receiver holds its mmap lock for writing, and its binder VMA's lock
 * (as munmap, mprotect or mremap do) while a sender allocates and fills a
 * buffer in it. The Rust allocator takes no lock of the receiver's mm on
 * that path, so the sender completes with the locks held. Designed
 * divergence: the C allocator inserts pages from the sender, falls back to
 * mmap_read_lock() and waits until the receiver lets go.
 */
static void binder_alloc_fault_test_sender_takes_no_receiver_mm_lock(struct kunit *test)
{
	struct binder_alloc_fault_test *priv = test->priv;
	struct mm_struct *mm = current->mm;
	struct fault_sender sender = {
		.alloc = &priv->alloc,
		.pattern = priv->pattern,
		.ret = -EINPROGRESS,
	};
	struct vm_area_struct *vma;
	struct task_struct *task;
	bool finished;

	init_completion(&sender.done);
	mmap_write_lock(mm);
	vma = vma_lookup(mm, priv->mmap_uaddr);
	if (!vma) {
		mmap_write_unlock(mm);
		KUNIT_FAIL(test, "no VMA at the mapping");
		return;
	}
	vma_start_write(vma);

	task = kthread_run(fault_test_sender, &sender, "binder_fault_sender");
	if (IS_ERR(task)) {
		mmap_write_unlock(mm);
		KUNIT_FAIL(test, "kthread_run: %ld", PTR_ERR(task));
		return;
	}
	finished = wait_for_completion_timeout(&sender.done,
			IS_ENABLED(CONFIG_ANDROID_BINDER_ALLOC_RUST) ? 30 * HZ : 3 * HZ);
	mmap_write_unlock(mm);

	if (IS_ENABLED(CONFIG_ANDROID_BINDER_ALLOC_RUST)) {
		KUNIT_EXPECT_TRUE_MSG(test, finished,
				      "the sender waited for the receiver's mm lock");
	} else {
		KUNIT_EXPECT_FALSE_MSG(test, finished,
				       "C allocator: expected the sender to wait");
	}
	if (!finished)
		wait_for_completion(&sender.done);
	KUNIT_EXPECT_EQ(test, sender.ret, 0);
	fault_test_unmap(priv);
}

#if IS_ENABLED(CONFIG_ANDROID_BINDER_ALLOC_RUST)
/*
 * The opt-in GUP-copy strategy (the 2023 proposal): kernel copies look the
 * page up in the receiver's VMA, so the copy itself maps the page in the
 * receiver (nothing was mapped before it). After munmap and an anonymous
 * mapping placed at the same address, the VMA-identity check makes the
 * copy fail and the anonymous memory stays untouched, while the default
 * slot strategy still reaches the driver's page.
 */
static void binder_alloc_fault_test_gup_copy_strategy(struct kunit *test)
{
	struct binder_alloc_fault_test *priv = test->priv;
	struct mm_struct *mm = current->mm;
	struct binder_buffer *buffer;
	unsigned long start, anon;
	struct page *page;
	u8 byte = 0x5a;
	long n;
	int ret;

	binder_alloc_set_gup_copy(true);
	buffer = binder_alloc_new_buf(&priv->alloc, FAULT_TEST_BUF_SIZE, 0, 0, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(buffer));
	start = buffer->user_data;

	n = fault_test_gup(mm, start, FOLL_NOFAULT, &page);
	KUNIT_EXPECT_EQ(test, n, -EFAULT);

	ret = binder_alloc_copy_to_buffer(&priv->alloc, buffer, 0, priv->pattern,
					  FAULT_TEST_BUF_SIZE);
	KUNIT_EXPECT_EQ(test, ret, 0);
	n = fault_test_gup(mm, start, FOLL_NOFAULT, &page);
	KUNIT_EXPECT_EQ(test, n, 1);
	if (n == 1)
		put_page(page);

	memset(priv->readback, 0, sizeof(priv->readback));
	ret = binder_alloc_copy_from_buffer(&priv->alloc, priv->readback, buffer,
					    0, FAULT_TEST_BUF_SIZE);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_MEMEQ(test, priv->readback, priv->pattern, FAULT_TEST_BUF_SIZE);
	KUNIT_EXPECT_EQ(test, fault_test_read_user(priv, start, FAULT_TEST_BUF_SIZE), 0);
	KUNIT_EXPECT_MEMEQ(test, priv->readback, priv->pattern, FAULT_TEST_BUF_SIZE);

	fault_test_unmap(priv);
	anon = vm_mmap(NULL, start, FAULT_TEST_MMAP_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
	KUNIT_ASSERT_EQ(test, anon, start);
	ret = binder_alloc_copy_to_buffer(&priv->alloc, buffer, 0, &byte, 4);
	KUNIT_EXPECT_EQ(test, ret, -EINVAL);
	KUNIT_EXPECT_EQ(test, fault_test_read_user(priv, start, 4), 0);
	KUNIT_EXPECT_EQ(test, priv->readback[0], 0);

	binder_alloc_set_gup_copy(false);
	ret = binder_alloc_copy_to_buffer(&priv->alloc, buffer, 0, &byte, 4);
	KUNIT_EXPECT_EQ(test, ret, 0);

	binder_alloc_free_buf(&priv->alloc, buffer);
	vm_munmap(anon, FAULT_TEST_MMAP_SIZE);
}

/* Unmaps @len bytes at @uaddr of the mapping, as MADV_DONTNEED does. */
static void fault_test_zap(struct mm_struct *mm, unsigned long uaddr,
			   unsigned long len)
{
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, uaddr);
	if (vma)
		zap_vma_range(vma, uaddr, len);
	mmap_read_unlock(mm);
}

/*
 * The index of the first of @npages pages at @uaddr whose FOLL_NOFAULT
 * lookup does not find it mapped when @mapped is true, or does not fail
 * with -EFAULT (not mapped) when it is false; -1 if there is none.
 */
static long fault_test_first_mismatch(struct mm_struct *mm, unsigned long uaddr,
				      unsigned long npages, bool mapped)
{
	struct page *page;
	unsigned long i;
	long n;

	for (i = 0; i < npages; i++) {
		n = fault_test_gup(mm, uaddr + i * PAGE_SIZE, FOLL_NOFAULT, &page);
		if (n == 1)
			put_page(page);
		if (n != (mapped ? 1 : -EFAULT))
			return i;
	}
	return -1;
}

/*
 * Beyond its 64 KiB window, a fault follows the run of pages under live
 * buffers in each direction (up to 1 MiB): one read maps the whole of a
 * 41-page buffer, from its first page (forward) or from its last window
 * (backward), and nothing past it.
 */
static void binder_alloc_fault_test_fault_around_run(struct kunit *test)
{
	struct binder_alloc_fault_test *priv = test->priv;
	const unsigned long npages = 41;
	struct mm_struct *mm = current->mm;
	struct binder_buffer *buffer;
	unsigned long base;

	buffer = binder_alloc_new_buf(&priv->alloc, (npages - 1) * PAGE_SIZE + 64,
				      0, 0, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(buffer));
	base = buffer->user_data;
	KUNIT_ASSERT_EQ(test, base, priv->alloc.vm_start);
	KUNIT_EXPECT_EQ(test, fault_test_first_mismatch(mm, base, npages + 1, false), -1);

	/* Forward: page 0's window is pages 0-15, the run goes on to page 40. */
	KUNIT_EXPECT_EQ(test, fault_test_read_user(priv, base, 1), 0);
	KUNIT_EXPECT_EQ(test, fault_test_first_mismatch(mm, base, npages, true), -1);
	KUNIT_EXPECT_EQ(test, fault_test_first_mismatch(mm, base + npages * PAGE_SIZE,
							1, false), -1);

	/* Backward: page 35's window is pages 32-47, the run goes back to page 0. */
	fault_test_zap(mm, base, npages * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fault_test_first_mismatch(mm, base, npages, false), -1);
	KUNIT_EXPECT_EQ(test, fault_test_read_user(priv, base + 35 * PAGE_SIZE, 1), 0);
	KUNIT_EXPECT_EQ(test, fault_test_first_mismatch(mm, base, npages, true), -1);
	KUNIT_EXPECT_EQ(test, fault_test_first_mismatch(mm, base + npages * PAGE_SIZE,
							1, false), -1);

	binder_alloc_free_buf(&priv->alloc, buffer);
	fault_test_unmap(priv);
}

/*
 * A fault maps the faulting page and, around it (the aligned 64 KiB
 * window), the other pages under live buffers; not pages on the LRU and
 * not holes. Here buffer A covers pages 0-2, buffer B covered pages 2-4
 * and was freed (3 and 4 are on the LRU), nothing is past page 4. A read
 * of page 0 maps pages 0-2 only.
 */
static void binder_alloc_fault_test_fault_around(struct kunit *test)
{
	struct binder_alloc_fault_test *priv = test->priv;
	struct mm_struct *mm = current->mm;
	struct binder_buffer *a, *b;

	a = fault_test_new_filled(test);
	b = binder_alloc_new_buf(&priv->alloc, 2 * PAGE_SIZE, 0, 0, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_OR_NULL(b));
	KUNIT_ASSERT_EQ(test, b->user_data, a->user_data + FAULT_TEST_BUF_SIZE);
	binder_alloc_free_buf(&priv->alloc, b);
	KUNIT_EXPECT_EQ(test, binder_alloc_page_state(&priv->alloc, 2),
			BINDER_PAGE_IN_USE);
	KUNIT_EXPECT_EQ(test, binder_alloc_page_state(&priv->alloc, 3),
			BINDER_PAGE_ON_LRU);
	KUNIT_EXPECT_EQ(test, binder_alloc_page_state(&priv->alloc, 4),
			BINDER_PAGE_ON_LRU);
	KUNIT_EXPECT_EQ(test, binder_alloc_page_state(&priv->alloc, 5),
			BINDER_PAGE_ABSENT);

	KUNIT_EXPECT_EQ_MSG(test, fault_test_first_mismatch(mm, a->user_data, 6, false), -1,
			    "page mapped before the read");
	KUNIT_EXPECT_EQ(test, fault_test_read_user(priv, a->user_data, 1), 0);
	KUNIT_EXPECT_EQ(test, fault_test_first_mismatch(mm, a->user_data, 3, true), -1);
	KUNIT_EXPECT_EQ(test, fault_test_first_mismatch(mm, a->user_data + 3 * PAGE_SIZE,
							3, false), -1);
	/* What fault-around mapped is the buffer's content. */
	KUNIT_EXPECT_EQ(test, fault_test_read_user(priv, a->user_data, FAULT_TEST_BUF_SIZE), 0);
	KUNIT_EXPECT_MEMEQ(test, priv->readback, priv->pattern, FAULT_TEST_BUF_SIZE);

	binder_alloc_free_buf(&priv->alloc, a);
	fault_test_unmap(priv);
}

/*
 * The debug check (alloc_debug_gup_check) runs when the receiver frees a
 * buffer: each page of the buffer that the receiver mapped is looked up
 * with FOLL_NOFAULT and compared with the slot's page. Here one of three
 * pages stays mapped (the read maps all three, fault-around; two are then
 * unmapped as MADV_DONTNEED does): one "same" and two "not mapped"
 * results, no mismatch.
 */
static void binder_alloc_fault_test_debug_gup_check(struct kunit *test)
{
	struct binder_alloc_fault_test *priv = test->priv;
	long same, unmapped, different, foreign;
	struct binder_buffer *buffer;

	same = binder_alloc_gup_check_count(BINDER_ALLOC_GUP_SAME);
	unmapped = binder_alloc_gup_check_count(BINDER_ALLOC_GUP_NOT_MAPPED);
	different = binder_alloc_gup_check_count(BINDER_ALLOC_GUP_DIFFERENT);
	foreign = binder_alloc_gup_check_count(BINDER_ALLOC_GUP_NOT_OWN_VMA);

	binder_alloc_set_debug_gup_check(true);
	buffer = fault_test_new_filled(test);
	KUNIT_EXPECT_EQ(test, fault_test_read_user(priv, buffer->user_data, 1), 0);
	fault_test_zap(current->mm, buffer->user_data + PAGE_SIZE, 2 * PAGE_SIZE);
	binder_alloc_free_buf(&priv->alloc, buffer);
	binder_alloc_set_debug_gup_check(false);

	KUNIT_EXPECT_EQ(test, binder_alloc_gup_check_count(BINDER_ALLOC_GUP_SAME),
			same + 1);
	KUNIT_EXPECT_EQ(test, binder_alloc_gup_check_count(BINDER_ALLOC_GUP_NOT_MAPPED),
			unmapped + 2);
	KUNIT_EXPECT_EQ(test, binder_alloc_gup_check_count(BINDER_ALLOC_GUP_DIFFERENT),
			different);
	KUNIT_EXPECT_EQ(test, binder_alloc_gup_check_count(BINDER_ALLOC_GUP_NOT_OWN_VMA),
			foreign);
	fault_test_unmap(priv);
}
#endif /* CONFIG_ANDROID_BINDER_ALLOC_RUST */

#ifdef CONFIG_TRACEPOINTS
#include "../binder_trace.h"

/* How often the allocator's page tracepoints fired for one allocator. */
struct fault_test_trace_counts {
	struct binder_alloc *alloc;
	int range_alloc;
	int range_free;
	int alloc_page;
	int alloc_lru;
	int free_lru;
};

static void fault_test_probe_range(void *data, struct binder_alloc *alloc,
				   bool allocate, unsigned long start,
				   unsigned long end)
{
	struct fault_test_trace_counts *c = data;

	if (alloc != c->alloc)
		return;
	if (allocate)
		c->range_alloc++;
	else
		c->range_free++;
}

#define FAULT_TEST_PAGE_PROBE(name, field)				\
static void fault_test_probe_##name(void *data,				\
				    const struct binder_alloc *alloc,	\
				    size_t index)			\
{									\
	struct fault_test_trace_counts *c = data;			\
									\
	if (alloc == c->alloc)						\
		c->field++;						\
}

FAULT_TEST_PAGE_PROBE(alloc_page_start, alloc_page)
FAULT_TEST_PAGE_PROBE(alloc_lru_start, alloc_lru)
FAULT_TEST_PAGE_PROBE(free_lru_start, free_lru)

/*
 * The allocator's tracepoints fire when they are enabled (the Rust
 * allocator asks the shim once per operation whether any is): a new
 * three-page buffer installs its three pages, freeing it puts pages on the
 * LRU, and the same buffer allocated again takes exactly those off the LRU
 * and installs nothing.
 */
static void fault_test_unregister_probes(void *data)
{
	unregister_trace_binder_free_lru_start(fault_test_probe_free_lru_start, data);
	unregister_trace_binder_alloc_lru_start(fault_test_probe_alloc_lru_start, data);
	unregister_trace_binder_alloc_page_start(fault_test_probe_alloc_page_start, data);
	unregister_trace_binder_update_page_range(fault_test_probe_range, data);
	tracepoint_synchronize_unregister();
}

static void binder_alloc_fault_test_tracepoints_fire(struct kunit *test)
{
	struct binder_alloc_fault_test *priv = test->priv;
	struct fault_test_trace_counts *c;
	struct binder_buffer *buffer;
	int ret;

	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	c->alloc = &priv->alloc;
	ret = register_trace_binder_update_page_range(fault_test_probe_range, c);
	ret = ret ?: register_trace_binder_alloc_page_start(
			     fault_test_probe_alloc_page_start, c);
	ret = ret ?: register_trace_binder_alloc_lru_start(
			     fault_test_probe_alloc_lru_start, c);
	ret = ret ?: register_trace_binder_free_lru_start(
			     fault_test_probe_free_lru_start, c);
	/* Unregisters (what was registered) when the case ends, even on failure. */
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
			fault_test_unregister_probes, c), 0);
	KUNIT_ASSERT_EQ(test, ret, 0);

	buffer = fault_test_new_filled(test);
	KUNIT_EXPECT_EQ(test, c->alloc_page, 3);
	KUNIT_EXPECT_EQ(test, c->alloc_lru, 0);
	KUNIT_EXPECT_GE(test, c->range_alloc, 1);
	binder_alloc_free_buf(&priv->alloc, buffer);
	KUNIT_EXPECT_GE(test, c->free_lru, 1);
	KUNIT_EXPECT_GE(test, c->range_free, 1);
	buffer = fault_test_new_filled(test);
	KUNIT_EXPECT_EQ(test, c->alloc_lru, c->free_lru);
	KUNIT_EXPECT_EQ(test, c->alloc_page, 3);
	KUNIT_EXPECT_GE(test, c->range_alloc, 2);
	binder_alloc_free_buf(&priv->alloc, buffer);
	fault_test_unmap(priv);
}
#endif /* CONFIG_TRACEPOINTS */

static vm_fault_t binder_alloc_fault_test_vm_fault(struct vm_fault *vmf)
{
	return binder_alloc_vm_fault(vmf->vma->vm_private_data, vmf);
}

static void binder_alloc_fault_test_vma_close(struct vm_area_struct *vma)
{
	binder_alloc_vma_close(vma->vm_private_data);
}

static const struct vm_operations_struct binder_alloc_fault_test_vm_ops = {
	.close = binder_alloc_fault_test_vma_close,
	.fault = binder_alloc_fault_test_vm_fault,
};

static int binder_alloc_fault_test_mmap_handler(struct file *filp,
						struct vm_area_struct *vma)
{
	struct binder_alloc *alloc = filp->private_data;

	vm_flags_mod(vma, VM_DONTCOPY | VM_MIXEDMAP, VM_MAYWRITE);

	vma->vm_ops = &binder_alloc_fault_test_vm_ops;
	vma->vm_private_data = alloc;

	return binder_alloc_mmap_handler(alloc, vma);
}

static const struct file_operations binder_alloc_fault_test_fops = {
	.mmap = binder_alloc_fault_test_mmap_handler,
};

static int binder_alloc_fault_test_init(struct kunit *test)
{
	struct binder_alloc_fault_test *priv;
	int ret;
	int i;

	priv = kunit_kzalloc(test, sizeof(*priv), GFP_KERNEL);
	if (!priv)
		return -ENOMEM;
	test->priv = priv;

	/* Differs between pages: a page mapped at the wrong index shows. */
	for (i = 0; i < FAULT_TEST_BUF_SIZE; i++)
		priv->pattern[i] = (u8)(i * 7 + 1 + (i / PAGE_SIZE) * 101);

	ret = list_lru_init(&priv->freelist);
	if (ret)
		return ret;

	ret = kunit_attach_mm();
	if (ret)
		return ret;
	__binder_alloc_init(&priv->alloc, &priv->freelist);

	priv->filp = anon_inode_getfile("binder_alloc_fault_kunit",
					&binder_alloc_fault_test_fops,
					&priv->alloc, O_RDWR | O_CLOEXEC);
	if (IS_ERR_OR_NULL(priv->filp))
		return priv->filp ? PTR_ERR(priv->filp) : -ENOMEM;

	priv->mmap_uaddr = kunit_vm_mmap(test, priv->filp, 0,
					 FAULT_TEST_MMAP_SIZE, PROT_READ,
					 MAP_PRIVATE | MAP_NORESERVE, 0);
	if (!priv->mmap_uaddr)
		return -ENOMEM;

	return 0;
}

static void binder_alloc_fault_test_exit(struct kunit *test)
{
	struct binder_alloc_fault_test *priv = test->priv;
	unsigned long count;

#if IS_ENABLED(CONFIG_ANDROID_BINDER_ALLOC_RUST)
	/* A failed assertion may have left a strategy switched on. */
	binder_alloc_set_gup_copy(false);
	binder_alloc_set_debug_gup_check(false);
#endif
	if (!IS_ERR_OR_NULL(priv->filp))
		fput(priv->filp);

	/* Every case unmapped from its own thread: the VMA is closed. */
	if (priv->alloc.mm && !priv->alloc.mapped)
		binder_alloc_deferred_release(&priv->alloc);
	else if (priv->alloc.mm)
		kunit_err(test, "the mapping is still alive: allocator leaked\n");

	/* Release took every page off the freelist. */
	count = list_lru_count(&priv->freelist);
	KUNIT_EXPECT_EQ(test, count, 0);
	list_lru_destroy(&priv->freelist);
}

static struct kunit_case binder_alloc_fault_test_cases[] = {
	KUNIT_CASE(binder_alloc_fault_test_copy_to_buffer_read_through_mapping),
	KUNIT_CASE(binder_alloc_fault_test_dontneed_then_reread),
	KUNIT_CASE(binder_alloc_fault_test_hole_and_past_end_fail),
	KUNIT_CASE(binder_alloc_fault_test_munmap_then_new_buf_esrch),
	KUNIT_CASE(binder_alloc_fault_test_clear_on_free_leaves_zeros),
	KUNIT_CASE(binder_alloc_fault_test_new_buf_fields_fresh),
	KUNIT_CASE(binder_alloc_fault_test_buffer_across_slot_chunks),
	KUNIT_CASE(binder_alloc_fault_test_foll_write_remote_fails),
	KUNIT_CASE(binder_alloc_fault_test_fault_races_shrinker),
	KUNIT_CASE(binder_alloc_fault_test_sender_takes_no_receiver_mm_lock),
#ifdef CONFIG_TRACEPOINTS
	KUNIT_CASE(binder_alloc_fault_test_tracepoints_fire),
#endif
#if IS_ENABLED(CONFIG_ANDROID_BINDER_ALLOC_RUST)
	KUNIT_CASE(binder_alloc_fault_test_fault_around),
	KUNIT_CASE(binder_alloc_fault_test_fault_around_run),
	KUNIT_CASE(binder_alloc_fault_test_gup_copy_strategy),
	KUNIT_CASE(binder_alloc_fault_test_debug_gup_check),
#endif
	{}
};

static struct kunit_suite binder_alloc_fault_test_suite = {
	.name = "binder_alloc_fault",
	.test_cases = binder_alloc_fault_test_cases,
	.init = binder_alloc_fault_test_init,
	.exit = binder_alloc_fault_test_exit,
};

kunit_test_suite(binder_alloc_fault_test_suite);

MODULE_DESCRIPTION("Binder allocator KUnit tests through the user mapping");
MODULE_LICENSE("GPL");
