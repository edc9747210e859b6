// SPDX-License-Identifier: GPL-2.0-only

//! Tests of the `lib/rbtree.c` port and of the page-range arithmetic.

use binder_alloc_core::page::{free_range, install_range, lru_del_range, merged_page};
use binder_alloc_core::rbtree::{self, Link, NodeId, RbLinks, RbNodes, RbRoot};
use binder_alloc_core::PAGE_SIZE;
use proptest::prelude::*;

struct Arena {
    links: Vec<RbLinks>,
    keys: Vec<u32>,
}

impl RbNodes for Arena {
    fn rb(&self, n: NodeId) -> &RbLinks {
        &self.links[n as usize]
    }

    fn rb_mut(&mut self, n: NodeId) -> &mut RbLinks {
        &mut self.links[n as usize]
    }
}

impl Arena {
    /// Inserts like `binder_insert_free_buffer()`: equal keys go right.
    fn insert(&mut self, root: &mut RbRoot, key: u32) -> NodeId {
        let n = NodeId::try_from(self.links.len()).unwrap();
        self.links.push(RbLinks::EMPTY);
        self.keys.push(key);
        let (mut link, mut p) = (Link::Root, root.node);
        while let Some(parent) = p {
            if key < self.keys[parent as usize] {
                link = Link::Left(parent);
                p = self.rb(parent).left;
            } else {
                link = Link::Right(parent);
                p = self.rb(parent).right;
            }
        }
        rbtree::link_node(self, n, link, root);
        rbtree::insert_color(self, n, root);
        n
    }

    fn in_order(&self, root: &RbRoot) -> Vec<NodeId> {
        std::iter::successors(rbtree::first(self, root), |&n| rbtree::next(self, n)).collect()
    }
}

proptest! {
    /// Any sequence of inserts and erases keeps a valid red-black tree whose in-order walk is
    /// sorted by key and, among equal keys, by insertion order (equal keys go right).
    #[test]
    fn inserts_and_erases_keep_a_valid_sorted_tree(ops in prop::collection::vec((any::<bool>(), 0u32..16, any::<usize>()), 1..200)) {
        let mut a = Arena { links: Vec::new(), keys: Vec::new() };
        let mut root = RbRoot::default();
        let mut present: Vec<NodeId> = Vec::new();
        for (insert, key, pick) in ops {
            if insert || present.is_empty() {
                present.push(a.insert(&mut root, key));
            } else {
                let n = present.swap_remove(pick % present.len());
                rbtree::erase(&mut a, n, &mut root);
            }
            prop_assert!(rbtree::check(&a, &root).is_some());
            let order = a.in_order(&root);
            prop_assert_eq!(order.len(), present.len());
            for w in order.windows(2) {
                let (k0, k1) = (a.keys[w[0] as usize], a.keys[w[1] as usize]);
                prop_assert!(k0 < k1 || (k0 == k1 && w[0] < w[1]));
            }
        }
    }
}

/// Inserting 1..=7 in order gives the shape of the kernel's bottom-up insert (case 3 rotation
/// at 1, then colour flips and a rotation at 2's right subtree). The full cross-check against
/// `lib/rbtree.c` is the userspace C reference replay.
#[test]
fn sequential_inserts_give_the_kernel_shape() {
    let mut a = Arena {
        links: Vec::new(),
        keys: Vec::new(),
    };
    let mut root = RbRoot::default();
    for k in 1..=7 {
        a.insert(&mut root, k);
    }
    // Node ids are key - 1: root 2, children 1 and 4, 4's children 3 and 6, 6's children 5
    // and 7.
    let key = |n: Option<NodeId>| n.map(|n| n + 1);
    let r = root.node.unwrap();
    assert_eq!(key(Some(r)), Some(2));
    assert_eq!(key(a.rb(r).left), Some(1));
    assert_eq!(key(a.rb(r).right), Some(4));
    assert_eq!(key(a.rb(3).left), Some(3));
    assert_eq!(key(a.rb(3).right), Some(6));
    assert_eq!(key(a.rb(5).left), Some(5));
    assert_eq!(key(a.rb(5).right), Some(7));
    assert_eq!(rbtree::check(&a, &root), Some(3));
}

#[test]
fn page_ranges_follow_c() {
    let p = PAGE_SIZE;
    // A buffer inside one page touches that page; nothing is fully inside it.
    assert_eq!(install_range(8, 16), 0..1);
    assert!(free_range(8, 16).is_empty());
    // Page-aligned buffer of two pages.
    assert_eq!(install_range(p, 2 * p), 1..3);
    assert_eq!(free_range(p, 2 * p), 1..3);
    // Unaligned: partial first and last pages excluded from the free range.
    assert_eq!(install_range(100, 2 * p), 0..3);
    assert_eq!(free_range(100, 2 * p), 1..2);
    // lru_del stops at the page shared with the next used buffer.
    assert_eq!(lru_del_range(0, 100, p + 8), 0..1);
    assert_eq!(lru_del_range(0, p + 100, p + 200), 0..1);
    assert_eq!(lru_del_range(0, p + 100, 3 * p), 0..2);
    assert!(lru_del_range(100, 8, p - 100).is_empty());
    // merged_page: aligned buffers release nothing; a page shared with the byte before the
    // predecessor or with the next buffer stays.
    assert_eq!(merged_page(0, p, None), None);
    assert_eq!(merged_page(0, 100, None), Some(0));
    assert_eq!(merged_page(0, 100, Some(200)), None);
    assert_eq!(merged_page(50, 100, None), None);
    assert_eq!(merged_page(p, p + 100, Some(3 * p)), Some(1));
}
