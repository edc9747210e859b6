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
 *
 * Every case unmaps its mapping itself, from the test thread that mapped
 * it, so that the allocator is released only after its VMA is closed.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/test.h>
#include <linux/anon_inodes.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/list_lru.h>
#include <linux/mm.h>
#include <linux/mman.h>
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

	for (i = 0; i < FAULT_TEST_BUF_SIZE; i++)
		priv->pattern[i] = (u8)(i * 7 + 1);

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
