// SPDX-License-Identifier: GPL-2.0-only
/*
 * binder_alloc.h implemented on the Rust binder buffer allocator.
 *
 * Plain glue: every function forwards to binder_alloc_rust.rs or gives the
 * Rust object access to a C structure, tracepoint or seq_file. The
 * allocator's logic and its locking live in Rust.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/list_lru.h>
#include <linux/module.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <kunit/visibility.h>
#include "binder_alloc.h"
#include "binder_trace.h"

static struct list_lru binder_freelist;
static void *binder_shrinker;

static uint32_t binder_alloc_debug_mask = 1U << 0; /* BINDER_DEBUG_USER_ERROR */

module_param_named(alloc_debug_mask, binder_alloc_debug_mask,
		   uint, 0644);

/*
 * Whether a binder_alloc_debug() message of class @mask (one BINDER_DEBUG_*
 * bit) is printed now: the class is enabled in alloc_debug_mask and the
 * message is within the rate limit. C prints these with
 * pr_info_ratelimited(), whose state is per call site; the Rust allocator
 * gets one state per class, as it cannot define a C static per call site.
 * Without the limit, every failed oneway send of a flood would print a line.
 */
bool binder_alloc_rust_debug_print(u32 mask)
{
	static DEFINE_RATELIMIT_STATE(rs_user_error, DEFAULT_RATELIMIT_INTERVAL,
				      DEFAULT_RATELIMIT_BURST);
	static DEFINE_RATELIMIT_STATE(rs_open_close, DEFAULT_RATELIMIT_INTERVAL,
				      DEFAULT_RATELIMIT_BURST);
	static DEFINE_RATELIMIT_STATE(rs_buffer_alloc, DEFAULT_RATELIMIT_INTERVAL,
				      DEFAULT_RATELIMIT_BURST);
	static DEFINE_RATELIMIT_STATE(rs_other, DEFAULT_RATELIMIT_INTERVAL,
				      DEFAULT_RATELIMIT_BURST);
	struct ratelimit_state *rs;

	if (!(READ_ONCE(binder_alloc_debug_mask) & mask))
		return false;
	switch (mask) {
	case 1U << 0: /* BINDER_DEBUG_USER_ERROR */
		rs = &rs_user_error;
		break;
	case 1U << 1: /* BINDER_DEBUG_OPEN_CLOSE */
		rs = &rs_open_close;
		break;
	case 1U << 2: /* BINDER_DEBUG_BUFFER_ALLOC */
		rs = &rs_buffer_alloc;
		break;
	default:
		rs = &rs_other;
		break;
	}
	return __ratelimit(rs);
}

/*
 * alloc_gup_copy: the opt-in strategy of the 2023 proposal. Kernel copies
 * look each page up in the receiver's VMA with GUP (from the sender's
 * context, under the receiver's mmap lock) and proceed only if the VMA is
 * the allocator's and the page is the slot's. Off by default: copies go
 * through the driver's page slots and the sender takes no receiver mm lock.
 */
static bool binder_alloc_gup_copy;
module_param_named(alloc_gup_copy, binder_alloc_gup_copy, bool, 0644);
MODULE_PARM_DESC(alloc_gup_copy,
		 "copy through the receiver's VMA with GUP (2023 proposal)");

/*
 * alloc_debug_gup_check: before a buffer is freed from the receiver's own
 * context, check with a FOLL_NOFAULT GUP lookup that every page of it the
 * receiver has mapped is the slot's page.
 */
static bool binder_alloc_debug_gup_check;
module_param_named(alloc_debug_gup_check, binder_alloc_debug_gup_check,
		   bool, 0644);
MODULE_PARM_DESC(alloc_debug_gup_check,
		 "check with GUP that mapped buffer pages are the slot's pages");

/* Results of the debug check, indexed by the Rust VmaPage value. */
static atomic_long_t binder_alloc_gup_checks[BINDER_ALLOC_GUP_RESULTS];

/*
 * What is on for the operation the caller starts: the two parameters above
 * and whether any tracepoint the allocator's paths fire is enabled. One call
 * per operation instead of one per parameter read and per tracepoint: C
 * tests its tracepoints' static keys inline, which Rust cannot.
 */
u32 binder_alloc_rust_op_flags(void)
{
	u32 flags = 0;

	if (READ_ONCE(binder_alloc_gup_copy))
		flags |= BINDER_ALLOC_RUST_OP_GUP_COPY;
	if (READ_ONCE(binder_alloc_debug_gup_check))
		flags |= BINDER_ALLOC_RUST_OP_DEBUG_GUP_CHECK;
	if (trace_binder_update_page_range_enabled() ||
	    trace_binder_alloc_lru_start_enabled() ||
	    trace_binder_alloc_lru_end_enabled() ||
	    trace_binder_free_lru_start_enabled() ||
	    trace_binder_free_lru_end_enabled() ||
	    trace_binder_alloc_page_start_enabled() ||
	    trace_binder_alloc_page_end_enabled() ||
	    trace_binder_unmap_user_start_enabled() ||
	    trace_binder_unmap_user_end_enabled() ||
	    trace_binder_unmap_kernel_start_enabled() ||
	    trace_binder_unmap_kernel_end_enabled())
		flags |= BINDER_ALLOC_RUST_OP_TRACE;
	return flags;
}

void binder_alloc_rust_gup_check_done(int result)
{
	if (WARN_ON_ONCE(result < 0 || result >= BINDER_ALLOC_GUP_RESULTS))
		return;
	WARN_ONCE(result == BINDER_ALLOC_GUP_DIFFERENT,
		  "binder_alloc: a mapped buffer page is not the slot's page\n");
	atomic_long_inc(&binder_alloc_gup_checks[result]);
}

VISIBLE_IF_KUNIT void __binder_alloc_init(struct binder_alloc *alloc,
					  struct list_lru *freelist)
{
	alloc->pid = current->tgid;
	alloc->mm = current->mm;
	mmgrab(alloc->mm);
	alloc->freelist = freelist;
	alloc->rust = rust_binder_alloc_new(alloc, alloc->mm, freelist,
					    alloc->pid);
}
EXPORT_SYMBOL_IF_KUNIT(__binder_alloc_init);

/**
 * binder_alloc_init() - called by binder_open() for per-proc initialization
 * @alloc: binder_alloc for this proc
 */
void binder_alloc_init(struct binder_alloc *alloc)
{
	__binder_alloc_init(alloc, &binder_freelist);
}

struct binder_buffer *binder_alloc_new_buf(struct binder_alloc *alloc,
					   size_t data_size,
					   size_t offsets_size,
					   size_t extra_buffers_size,
					   int is_async)
{
	struct binder_buffer *buffer = NULL;
	int ret;

	ret = rust_binder_alloc_new_buf(alloc->rust, data_size, offsets_size,
					extra_buffers_size, is_async,
					current->tgid, &buffer);
	return ret ? ERR_PTR(ret) : buffer;
}
EXPORT_SYMBOL_IF_KUNIT(binder_alloc_new_buf);

void binder_alloc_free_buf(struct binder_alloc *alloc,
			   struct binder_buffer *buffer)
{
	rust_binder_alloc_free_buf(alloc->rust, buffer);
}
EXPORT_SYMBOL_IF_KUNIT(binder_alloc_free_buf);

struct binder_buffer *binder_alloc_prepare_to_free(struct binder_alloc *alloc,
						   unsigned long user_ptr)
{
	struct binder_buffer *buffer = NULL;
	int ret;

	ret = rust_binder_alloc_prepare_to_free(alloc->rust, user_ptr, &buffer);
	return ret ? ERR_PTR(ret) : buffer;
}

unsigned long
binder_alloc_copy_user_to_buffer(struct binder_alloc *alloc,
				 struct binder_buffer *buffer,
				 binder_size_t buffer_offset,
				 const void __user *from,
				 size_t bytes)
{
	/*
	 * binder.c copies the offsets of every transaction, and the data of
	 * every empty reply, with 0 bytes. C returns the bytes not copied: 0
	 * then, whether check_buffer() passes or not. Return it here rather
	 * than cross into Rust to find the buffer's view for nothing.
	 */
	if (!bytes)
		return 0;
	return rust_binder_alloc_copy_user_to_buffer(alloc->rust, buffer,
						     buffer_offset, from, bytes);
}

int binder_alloc_copy_to_buffer(struct binder_alloc *alloc,
				struct binder_buffer *buffer,
				binder_size_t buffer_offset,
				void *src,
				size_t bytes)
{
	return rust_binder_alloc_copy_buffer(alloc->rust, true, buffer,
					     buffer_offset, src, bytes);
}
EXPORT_SYMBOL_IF_KUNIT(binder_alloc_copy_to_buffer);

int binder_alloc_copy_from_buffer(struct binder_alloc *alloc,
				  void *dest,
				  struct binder_buffer *buffer,
				  binder_size_t buffer_offset,
				  size_t bytes)
{
	return rust_binder_alloc_copy_buffer(alloc->rust, false, buffer,
					     buffer_offset, dest, bytes);
}
EXPORT_SYMBOL_IF_KUNIT(binder_alloc_copy_from_buffer);

int binder_alloc_mmap_handler(struct binder_alloc *alloc,
			      struct vm_area_struct *vma)
{
	return rust_binder_alloc_mmap_handler(alloc->rust, vma);
}
EXPORT_SYMBOL_IF_KUNIT(binder_alloc_mmap_handler);

void binder_alloc_vma_close(struct binder_alloc *alloc)
{
	rust_binder_alloc_vma_close(alloc->rust);
}
EXPORT_SYMBOL_IF_KUNIT(binder_alloc_vma_close);

vm_fault_t binder_alloc_vm_fault(struct binder_alloc *alloc,
				 struct vm_fault *vmf)
{
	return rust_binder_alloc_vm_fault(alloc->rust, vmf);
}
EXPORT_SYMBOL_IF_KUNIT(binder_alloc_vm_fault);

void binder_alloc_deferred_release(struct binder_alloc *alloc)
{
	rust_binder_alloc_deferred_release(alloc->rust);
	alloc->rust = NULL;
	if (alloc->mm)
		mmdrop(alloc->mm);
}
EXPORT_SYMBOL_IF_KUNIT(binder_alloc_deferred_release);

int binder_alloc_get_allocated_count(struct binder_alloc *alloc)
{
	return rust_binder_alloc_get_allocated_count(alloc->rust);
}
EXPORT_SYMBOL_IF_KUNIT(binder_alloc_get_allocated_count);

void binder_alloc_print_allocated(struct seq_file *m,
				  struct binder_alloc *alloc)
{
	rust_binder_alloc_print_allocated(alloc->rust, m);
}

void binder_alloc_print_pages(struct seq_file *m,
			      struct binder_alloc *alloc)
{
	rust_binder_alloc_print_pages(alloc->rust, m);
}

enum lru_status binder_alloc_free_page(struct list_head *item,
				       struct list_lru_one *lru,
				       void *cb_arg)
	__must_hold(&lru->lock)
{
	return rust_binder_alloc_free_page(item, lru);
}
EXPORT_SYMBOL_IF_KUNIT(binder_alloc_free_page);

int binder_alloc_shrinker_init(void)
{
	int ret;

	ret = list_lru_init(&binder_freelist);
	if (ret)
		return ret;

	ret = rust_binder_alloc_shrinker_init(&binder_freelist,
					      &binder_shrinker);
	if (ret)
		list_lru_destroy(&binder_freelist);
	return ret;
}

void binder_alloc_shrinker_exit(void)
{
	rust_binder_alloc_shrinker_exit(binder_shrinker);
	list_lru_destroy(&binder_freelist);
}

VISIBLE_IF_KUNIT size_t binder_alloc_buffer_size(struct binder_alloc *alloc,
						 struct binder_buffer *buffer)
{
	return rust_binder_alloc_buffer_size(alloc->rust, buffer);
}
EXPORT_SYMBOL_IF_KUNIT(binder_alloc_buffer_size);

#if IS_ENABLED(CONFIG_KUNIT)
enum binder_alloc_page_state
binder_alloc_page_state(struct binder_alloc *alloc, unsigned long index)
{
	return rust_binder_alloc_page_state(alloc->rust, index);
}
EXPORT_SYMBOL_IF_KUNIT(binder_alloc_page_state);

void binder_alloc_set_gup_copy(bool on)
{
	WRITE_ONCE(binder_alloc_gup_copy, on);
}
EXPORT_SYMBOL_IF_KUNIT(binder_alloc_set_gup_copy);

void binder_alloc_set_debug_gup_check(bool on)
{
	WRITE_ONCE(binder_alloc_debug_gup_check, on);
}
EXPORT_SYMBOL_IF_KUNIT(binder_alloc_set_debug_gup_check);

long binder_alloc_gup_check_count(enum binder_alloc_gup_result result)
{
	return atomic_long_read(&binder_alloc_gup_checks[result]);
}
EXPORT_SYMBOL_IF_KUNIT(binder_alloc_gup_check_count);

bool binder_alloc_first_free(struct binder_alloc *alloc, size_t *size,
			     bool *is_last)
{
	return rust_binder_alloc_first_free(alloc->rust, size, is_last);
}
EXPORT_SYMBOL_IF_KUNIT(binder_alloc_first_free);
#endif

/* ===== Access for the Rust object to C structures ===== */

void binder_alloc_rust_set_mapped(struct binder_alloc *alloc,
				  unsigned long vm_start, size_t buffer_size,
				  bool mapped)
{
	alloc->vm_start = vm_start;
	alloc->buffer_size = buffer_size;
	/* Pairs with the acquire of readers of alloc->mapped. */
	smp_store_release(&alloc->mapped, mapped);
}

/*
 * A buffer, allocated by the Rust allocator before it takes its lock, as
 * binder_alloc_new_buf() allocates its next buffer before mutex_lock(). Not
 * zeroed: binder_alloc_rust_buffer_init() writes every field.
 */
struct binder_buffer *binder_alloc_rust_buffer_alloc(void)
{
	return kmalloc_obj(struct binder_buffer);
}

/*
 * Sets every field of a buffer from binder_alloc_rust_buffer_alloc(), as
 * kzalloc() followed by C's field stores would: the buffer is either fresh
 * from kmalloc() or one that binder.c freed and the allocator kept for reuse.
 * Field stores, not a compound literal: the latter may become a string
 * instruction (see Node::clear() in the core).
 */
void binder_alloc_rust_buffer_init(struct binder_buffer *buffer,
				   const struct binder_alloc_rust_buffer_init *init)
{
	INIT_LIST_HEAD(&buffer->entry);
	RB_CLEAR_NODE(&buffer->rb_node);
	buffer->free = 0;
	buffer->clear_on_free = 0;
	buffer->allow_user_free = 0;
	buffer->async_transaction = init->async_transaction;
	buffer->oneway_spam_suspect = init->oneway_spam_suspect;
	buffer->debug_id = 0;
	buffer->transaction = NULL;
	buffer->target_node = NULL;
	buffer->data_size = init->data_size;
	buffer->offsets_size = init->offsets_size;
	buffer->extra_buffers_size = init->extra_buffers_size;
	buffer->user_data = init->user_data;
	buffer->pid = init->pid;
}

void binder_alloc_rust_buffer_delete(struct binder_buffer *buffer)
{
	kfree(buffer);
}

void binder_alloc_rust_buffer_view(const struct binder_buffer *buffer,
				   struct binder_alloc_rust_buffer_view *view)
{
	view->user_data = buffer->user_data;
	view->data_size = buffer->data_size;
	view->offsets_size = buffer->offsets_size;
	view->extra_buffers_size = buffer->extra_buffers_size;
	view->free = buffer->free;
	view->clear_on_free = buffer->clear_on_free;
	view->allow_user_free = buffer->allow_user_free;
	view->has_transaction = buffer->transaction;
}

bool binder_alloc_rust_buffer_take_user_free(struct binder_buffer *buffer)
{
	if (!buffer->allow_user_free)
		return false;
	buffer->allow_user_free = 0;
	return true;
}

void binder_alloc_rust_buffer_clear_clear_on_free(struct binder_buffer *buffer)
{
	buffer->clear_on_free = false;
}

void binder_alloc_rust_print_buffer(struct seq_file *m,
				    const struct binder_buffer *buffer,
				    unsigned long offset)
{
	seq_printf(m, "  buffer %d: %lx size %zd:%zd:%zd %s\n",
		   buffer->debug_id, offset,
		   buffer->data_size, buffer->offsets_size,
		   buffer->extra_buffers_size,
		   buffer->transaction ? "active" : "delivered");
}

void binder_alloc_rust_print_pages(struct seq_file *m, int active, int lru,
				   int free, size_t pages_high)
{
	seq_printf(m, "  pages: %d:%d:%d\n", active, lru, free);
	seq_printf(m, "  pages high watermark: %zu\n", pages_high);
}

void binder_alloc_rust_trace_update_page_range(struct binder_alloc *alloc,
					       bool allocate,
					       unsigned long start,
					       unsigned long end)
{
	trace_binder_update_page_range(alloc, allocate, start, end);
}

#define BINDER_ALLOC_RUST_TRACE(name)					\
void binder_alloc_rust_trace_##name(struct binder_alloc *alloc,	\
				    size_t index)			\
{									\
	trace_binder_##name(alloc, index);				\
}

BINDER_ALLOC_RUST_TRACE(alloc_lru_start)
BINDER_ALLOC_RUST_TRACE(alloc_lru_end)
BINDER_ALLOC_RUST_TRACE(free_lru_start)
BINDER_ALLOC_RUST_TRACE(free_lru_end)
BINDER_ALLOC_RUST_TRACE(alloc_page_start)
BINDER_ALLOC_RUST_TRACE(alloc_page_end)
BINDER_ALLOC_RUST_TRACE(unmap_user_start)
BINDER_ALLOC_RUST_TRACE(unmap_user_end)
BINDER_ALLOC_RUST_TRACE(unmap_kernel_start)
BINDER_ALLOC_RUST_TRACE(unmap_kernel_end)
