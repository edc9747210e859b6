# Group the functions of sym.py output into allocator, slab, mutex, list_lru, copies, rest.
import re, sys
def cats(path):
    tot = 0; c = {}
    for line in open(path).readlines()[1:]:
        n, pct, name = line.split(None, 2); n = int(n); name = name.strip()
        tot += n
        if re.search(r"binder_alloc_rust|rust_binder_alloc|_RN", name): k = "rust allocator code (incl. kernel crate)"
        elif re.search(r"binder_alloc|binder_install|binder_lru|binder_free_buf_locked|check_buffer|binder_get_installed|binder_delete_free|binder_insert|buffer_start_page|binder_alloc_get_page|binder_alloc_do_buffer", name): k = "C allocator code"
        elif re.search(r"slab|kmalloc|kfree|krealloc|kmem_cache|__kmalloc|kvfree|kvrealloc", name): k = "slab (kmalloc/kfree)"
        elif re.search(r"mutex", name): k = "mutex"
        elif re.search(r"list_lru", name): k = "list_lru"
        elif re.search(r"memset|memcpy|rep_mov|copy_(from|to)_user|_copy_", name): k = "copies"
        else: k = "rest"
        c[k] = c.get(k, 0) + n
    return tot, c
for p in sys.argv[1:]:
    tot, c = cats(p)
    print(p, tot, {k: f"{v} ({100*v/tot:.1f}%)" for k, v in sorted(c.items(), key=lambda x: -x[1])})
