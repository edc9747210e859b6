/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shims for compiling the range-allocator functions of
 * drivers/android/binder_alloc.c (Linux 7.3) verbatim, on the kernel's own
 * tools/lib/rbtree.c. Only the bookkeeping is kept: page handling
 * (binder_lru_freelist_add/del) is stubbed, it does not affect placement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/list.h>
#include <linux/rbtree.h>
#include <linux/err.h>

#define PAGE_SIZE 4096UL
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define PAGE_ALIGN(x) (((x) + PAGE_SIZE - 1) & PAGE_MASK)
#define PAGE_ALIGNED(x) (((unsigned long)(x) & (PAGE_SIZE - 1)) == 0)
#ifndef ALIGN
#define ALIGN(x, a) (((x) + ((a) - 1)) & ~((typeof(x))(a) - 1))
#endif
#define BUG_ON(c) do { if (c) { fprintf(stderr, "BUG at %d\n", __LINE__); abort(); } } while (0)
#define BUG() BUG_ON(1)
#undef WARN_ON
#define WARN_ON(c) ({ int __w = !!(c); if (__w) fprintf(stderr, "WARN at %d\n", __LINE__); __w; })
#define binder_alloc_debug(mask, ...) do { } while (0)
#define kfree(p) free(p)
#define kzalloc_obj(x) calloc(1, sizeof(x))
#define VISIBLE_IF_KUNIT static
#ifndef unlikely
#define unlikely(x) (x)
#endif
#undef max
#define max(a, b) ((a) > (b) ? (a) : (b))
#undef min
#define min(a, b) ((a) < (b) ? (a) : (b))

struct task { int tgid; };
static struct task current_task;
#define current (&current_task)

struct binder_buffer {
	struct list_head entry;
	struct rb_node rb_node;
	unsigned free:1;
	unsigned clear_on_free:1;
	unsigned allow_user_free:1;
	unsigned async_transaction:1;
	unsigned oneway_spam_suspect:1;
	unsigned debug_id:27;
	void *transaction;
	size_t data_size;
	size_t offsets_size;
	size_t extra_buffers_size;
	unsigned long user_data;
	int pid;
};

struct binder_alloc {
	unsigned long vm_start;
	struct list_head buffers;
	struct rb_root free_buffers;
	struct rb_root allocated_buffers;
	size_t free_async_space;
	size_t buffer_size;
	int pid;
	size_t pages_high;
	bool oneway_spam_detected;
};

static void binder_lru_freelist_add(struct binder_alloc *alloc,
				    unsigned long start, unsigned long end)
{
}

static void binder_lru_freelist_del(struct binder_alloc *alloc,
				    unsigned long start, unsigned long end)
{
}
