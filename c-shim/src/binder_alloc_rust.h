/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * struct binder_alloc of the Rust binder buffer allocator, and the
 * interface between the C shim (binder_alloc_shim.c) and the Rust object
 * (binder_alloc_rust.rs). Included by binder_alloc.h only; do not include
 * it directly.
 */

#ifndef _LINUX_BINDER_ALLOC_RUST_H
#define _LINUX_BINDER_ALLOC_RUST_H

#include <linux/list_lru.h>
#include <linux/mm_types.h>
#include <linux/seq_file.h>
#include <linux/types.h>

/* Rust-owned state: range allocator, page slots, lock. Opaque to C. */
struct binder_alloc_rust;

/**
 * struct binder_alloc - per-binder proc state for binder allocator
 * @mm:          copy of task->mm (invariant after init)
 * @vm_start:    base of per-proc address space mapped via mmap
 * @buffer_size: size of address space specified via mmap
 * @freelist:    lru list to use for free pages (invariant after init)
 * @rust:        the Rust allocator's state; NULL if it could not be
 *               allocated at init, then every mmap fails with -ENOMEM
 * @pid:         pid for associated binder_proc (invariant after init)
 * @mapped:      whether the vm area is mapped; written with release
 *               semantics by the Rust allocator
 *
 * Only the fields that binder.c, the tracepoints and the KUnit test read
 * are C-visible; the Rust allocator writes @vm_start, @buffer_size and
 * @mapped through binder_alloc_rust_set_mapped().
 */
struct binder_alloc {
	struct mm_struct *mm;
	unsigned long vm_start;
	size_t buffer_size;
	struct list_lru *freelist;
	struct binder_alloc_rust *rust;
	int pid;
	bool mapped;
};

/*
 * What a GUP lookup found at a buffer page's address of the receiver's
 * VMA (the Rust VmaPage): the slot's page, nothing, another page, or not
 * the allocator's VMA.
 */
enum binder_alloc_gup_result {
	BINDER_ALLOC_GUP_SAME,
	BINDER_ALLOC_GUP_NOT_MAPPED,
	BINDER_ALLOC_GUP_DIFFERENT,
	BINDER_ALLOC_GUP_NOT_OWN_VMA,
	BINDER_ALLOC_GUP_RESULTS,
};

/* Fields of a new buffer, set by binder_alloc_rust_buffer_init(). */
struct binder_alloc_rust_buffer_init {
	unsigned long user_data;
	size_t data_size;
	size_t offsets_size;
	size_t extra_buffers_size;
	int pid;
	bool async_transaction;
	bool oneway_spam_suspect;
};

/* Fields of a buffer that the Rust allocator reads. */
struct binder_alloc_rust_buffer_view {
	unsigned long user_data;
	size_t data_size;
	size_t offsets_size;
	size_t extra_buffers_size;
	bool free;
	bool clear_on_free;
	bool allow_user_free;
	bool has_transaction;
};

/* Exported by the Rust object. */
struct binder_alloc_rust *rust_binder_alloc_new(struct binder_alloc *alloc,
					       struct mm_struct *mm,
					       struct list_lru *freelist,
					       int pid);
int rust_binder_alloc_new_buf(struct binder_alloc_rust *ra,
			      size_t data_size, size_t offsets_size,
			      size_t extra_buffers_size, int is_async, int pid,
			      struct binder_buffer **buffer);
void rust_binder_alloc_free_buf(struct binder_alloc_rust *ra,
				struct binder_buffer *buffer);
int rust_binder_alloc_prepare_to_free(struct binder_alloc_rust *ra,
				      unsigned long user_ptr,
				      struct binder_buffer **buffer);
unsigned long
rust_binder_alloc_copy_user_to_buffer(struct binder_alloc_rust *ra,
				      struct binder_buffer *buffer,
				      binder_size_t buffer_offset,
				      const void __user *from, size_t bytes);
int rust_binder_alloc_copy_buffer(struct binder_alloc_rust *ra,
				  bool to_buffer, struct binder_buffer *buffer,
				  binder_size_t buffer_offset, void *ptr,
				  size_t bytes);
int rust_binder_alloc_mmap_handler(struct binder_alloc_rust *ra,
				   struct vm_area_struct *vma);
void rust_binder_alloc_vma_close(struct binder_alloc_rust *ra);
vm_fault_t rust_binder_alloc_vm_fault(struct binder_alloc_rust *ra,
				      struct vm_fault *vmf);
void rust_binder_alloc_deferred_release(struct binder_alloc_rust *ra);
int rust_binder_alloc_get_allocated_count(struct binder_alloc_rust *ra);
size_t rust_binder_alloc_free_async_space(struct binder_alloc_rust *ra);
void rust_binder_alloc_print_allocated(struct binder_alloc_rust *ra,
				       struct seq_file *m);
void rust_binder_alloc_print_pages(struct binder_alloc_rust *ra,
				   struct seq_file *m);
enum lru_status rust_binder_alloc_free_page(struct list_head *item,
					    struct list_lru_one *lru);
int rust_binder_alloc_shrinker_init(struct list_lru *freelist,
				    void **shrinker);
void rust_binder_alloc_shrinker_exit(void *shrinker);
size_t rust_binder_alloc_buffer_size(struct binder_alloc_rust *ra,
				     struct binder_buffer *buffer);
int rust_binder_alloc_page_state(struct binder_alloc_rust *ra,
				 unsigned long index);
bool rust_binder_alloc_first_free(struct binder_alloc_rust *ra,
				  size_t *size, bool *is_last);

/* Provided by the C shim to the Rust object. */
void binder_alloc_rust_set_mapped(struct binder_alloc *alloc,
				  unsigned long vm_start, size_t buffer_size,
				  bool mapped);
struct binder_buffer *binder_alloc_rust_buffer_alloc(void);
void binder_alloc_rust_buffer_init(struct binder_buffer *buffer,
				   const struct binder_alloc_rust_buffer_init *init);
void binder_alloc_rust_buffer_delete(struct binder_buffer *buffer);
void binder_alloc_rust_buffer_view(const struct binder_buffer *buffer,
				   struct binder_alloc_rust_buffer_view *view);
bool binder_alloc_rust_buffer_take_user_free(struct binder_buffer *buffer);
void binder_alloc_rust_buffer_clear_clear_on_free(struct binder_buffer *buffer);
void binder_alloc_rust_print_buffer(struct seq_file *m,
				    const struct binder_buffer *buffer,
				    unsigned long offset);
void binder_alloc_rust_print_pages(struct seq_file *m, int active, int lru,
				   int free, size_t pages_high);
bool binder_alloc_rust_debug_print(u32 mask);
/* Bits of binder_alloc_rust_op_flags(). */
#define BINDER_ALLOC_RUST_OP_GUP_COPY		(1U << 0)
#define BINDER_ALLOC_RUST_OP_DEBUG_GUP_CHECK	(1U << 1)
#define BINDER_ALLOC_RUST_OP_TRACE		(1U << 2)
u32 binder_alloc_rust_op_flags(void);
void binder_alloc_rust_gup_check_done(int result);
void binder_alloc_rust_trace_update_page_range(struct binder_alloc *alloc,
					       bool allocate,
					       unsigned long start,
					       unsigned long end);
void binder_alloc_rust_trace_alloc_lru_start(struct binder_alloc *alloc, size_t index);
void binder_alloc_rust_trace_alloc_lru_end(struct binder_alloc *alloc, size_t index);
void binder_alloc_rust_trace_free_lru_start(struct binder_alloc *alloc, size_t index);
void binder_alloc_rust_trace_free_lru_end(struct binder_alloc *alloc, size_t index);
void binder_alloc_rust_trace_alloc_page_start(struct binder_alloc *alloc, size_t index);
void binder_alloc_rust_trace_alloc_page_end(struct binder_alloc *alloc, size_t index);
void binder_alloc_rust_trace_unmap_user_start(struct binder_alloc *alloc, size_t index);
void binder_alloc_rust_trace_unmap_user_end(struct binder_alloc *alloc, size_t index);
void binder_alloc_rust_trace_unmap_kernel_start(struct binder_alloc *alloc, size_t index);
void binder_alloc_rust_trace_unmap_kernel_end(struct binder_alloc *alloc, size_t index);

/**
 * binder_alloc_get_free_async_space() - get free space available for async
 * @alloc:	binder_alloc for this proc
 *
 * Return:	the bytes remaining in the address-space for async transactions
 */
static inline size_t
binder_alloc_get_free_async_space(struct binder_alloc *alloc)
{
	return rust_binder_alloc_free_async_space(alloc->rust);
}

vm_fault_t binder_alloc_vm_fault(struct binder_alloc *alloc,
				 struct vm_fault *vmf);

#if IS_ENABLED(CONFIG_KUNIT)
enum binder_alloc_page_state
binder_alloc_page_state(struct binder_alloc *alloc, unsigned long index);
bool binder_alloc_first_free(struct binder_alloc *alloc, size_t *size,
			     bool *is_last);
void binder_alloc_set_gup_copy(bool on);
void binder_alloc_set_debug_gup_check(bool on);
long binder_alloc_gup_check_count(enum binder_alloc_gup_result result);
#endif

#endif /* _LINUX_BINDER_ALLOC_RUST_H */
