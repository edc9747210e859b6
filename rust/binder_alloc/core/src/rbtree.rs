// SPDX-License-Identifier: GPL-2.0-only

//! A safe port of the kernel's red-black tree (`lib/rbtree.c`, Linux 7.3) over an index arena.
//!
//! The C allocator keeps free buffers in an rbtree keyed by size only, with equal sizes going
//! right, and its best-fit search stops at the first node of exactly the requested size. Which of
//! several equal-size buffers it picks therefore depends on the *shape* of the tree, which in turn
//! depends on the exact rebalancing of `rb_insert_color()` and `rb_erase()`. To reproduce C's
//! placement for every request sequence, this module transcribes those two functions (the
//! non-augmented paths: `__rb_insert()`, `__rb_erase_augmented()` with dummy callbacks and
//! `____rb_erase_color()`) statement by statement. Nodes are indices into an arena owned by the
//! caller, reached through [`RbNodes`]; a node's parent and colour are kept apart instead of
//! being packed into one word, which changes no decision of the algorithm.
//!
//! As in C, the tree never compares keys: the caller finds the link position (`rb_link_node()`)
//! and then calls [`insert_color`].

#![forbid(unsafe_code)]

/// Index of a node in the caller's arena.
pub type NodeId = u32;

/// Colour of a node (`RB_RED` / `RB_BLACK`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Color {
    /// `RB_RED`.
    Red,
    /// `RB_BLACK`.
    Black,
}

/// The links of one node (`struct rb_node`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RbLinks {
    /// Parent node, `None` for the root.
    pub parent: Option<NodeId>,
    /// Colour of the node.
    pub color: Color,
    /// Left child.
    pub left: Option<NodeId>,
    /// Right child.
    pub right: Option<NodeId>,
}

impl RbLinks {
    /// Links of a node that is in no tree.
    pub const EMPTY: RbLinks = RbLinks {
        parent: None,
        color: Color::Black,
        left: None,
        right: None,
    };
}

/// A tree root (`struct rb_root`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RbRoot {
    /// The root node, `None` when the tree is empty.
    pub node: Option<NodeId>,
}

/// Access to the links of the nodes of an arena.
pub trait RbNodes {
    /// The links of node `n`.
    fn rb(&self, n: NodeId) -> &RbLinks;
    /// The links of node `n`, mutably.
    fn rb_mut(&mut self, n: NodeId) -> &mut RbLinks;
}

/// Which child link of `parent` a new node is attached to (`struct rb_node **rb_link`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// The tree is empty: the node becomes the root.
    Root,
    /// `&parent->rb_left`.
    Left(NodeId),
    /// `&parent->rb_right`.
    Right(NodeId),
}

#[inline]
fn is_red<A: RbNodes>(a: &A, n: Option<NodeId>) -> bool {
    matches!(n, Some(n) if a.rb(n).color == Color::Red)
}

#[inline]
fn is_black<A: RbNodes>(a: &A, n: Option<NodeId>) -> bool {
    !is_red(a, n)
}

#[inline]
fn set_parent_color<A: RbNodes>(a: &mut A, n: NodeId, parent: Option<NodeId>, color: Color) {
    let l = a.rb_mut(n);
    l.parent = parent;
    l.color = color;
}

/// `__rb_change_child()`.
#[inline]
fn change_child<A: RbNodes>(
    a: &mut A,
    old: NodeId,
    new: Option<NodeId>,
    parent: Option<NodeId>,
    root: &mut RbRoot,
) {
    match parent {
        Some(p) => {
            if a.rb(p).left == Some(old) {
                a.rb_mut(p).left = new;
            } else {
                a.rb_mut(p).right = new;
            }
        }
        None => root.node = new,
    }
}

/// `__rb_rotate_set_parents()`: `old`'s parent and colour go to `new`; `old` gets `new` as
/// parent and `color` as colour.
#[inline]
fn rotate_set_parents<A: RbNodes>(
    a: &mut A,
    old: NodeId,
    new: NodeId,
    root: &mut RbRoot,
    color: Color,
) {
    let parent = a.rb(old).parent;
    let old_color = a.rb(old).color;
    set_parent_color(a, new, parent, old_color);
    set_parent_color(a, old, Some(new), color);
    change_child(a, old, Some(new), parent, root);
}

/// `rb_link_node()`: attach `node` as a red leaf at `link`.
///
/// Always inlined, as C's `static inline`: a few stores, which out of line cost a call per
/// insertion.
#[inline(always)]
pub fn link_node<A: RbNodes>(a: &mut A, node: NodeId, link: Link, root: &mut RbRoot) {
    let parent = match link {
        Link::Root => {
            root.node = Some(node);
            None
        }
        Link::Left(p) => {
            a.rb_mut(p).left = Some(node);
            Some(p)
        }
        Link::Right(p) => {
            a.rb_mut(p).right = Some(node);
            Some(p)
        }
    };
    *a.rb_mut(node) = RbLinks {
        parent,
        color: Color::Red,
        left: None,
        right: None,
    };
}

/// `rb_insert_color()` (`__rb_insert()` with a dummy rotate callback).
pub fn insert_color<A: RbNodes>(a: &mut A, mut node: NodeId, root: &mut RbRoot) {
    let mut parent = a.rb(node).parent;
    loop {
        // The inserted node is red, so its parent's link is its "red parent".
        let Some(p) = parent else {
            set_parent_color(a, node, None, Color::Black);
            break;
        };
        if a.rb(p).color == Color::Black {
            break;
        }
        // A red parent is never the root, so it has a parent.
        let Some(gparent) = a.rb(p).parent else {
            break;
        };
        let tmp = a.rb(gparent).right;
        if tmp != Some(p) {
            // parent == gparent->rb_left
            if is_red(a, tmp) {
                // Case 1 - node's uncle is red (colour flips).
                if let Some(t) = tmp {
                    set_parent_color(a, t, Some(gparent), Color::Black);
                }
                set_parent_color(a, p, Some(gparent), Color::Black);
                node = gparent;
                parent = a.rb(node).parent;
                set_parent_color(a, node, parent, Color::Red);
                continue;
            }
            let mut p = p;
            let mut tmp = a.rb(p).right;
            if tmp == Some(node) {
                // Case 2 - node's uncle is black and node is the parent's right child
                // (left rotate at parent).
                tmp = a.rb(node).left;
                a.rb_mut(p).right = tmp;
                a.rb_mut(node).left = Some(p);
                if let Some(t) = tmp {
                    set_parent_color(a, t, Some(p), Color::Black);
                }
                set_parent_color(a, p, Some(node), Color::Red);
                p = node;
                tmp = a.rb(node).right;
            }
            // Case 3 - node's uncle is black and node is the parent's left child
            // (right rotate at gparent).
            a.rb_mut(gparent).left = tmp;
            a.rb_mut(p).right = Some(gparent);
            if let Some(t) = tmp {
                set_parent_color(a, t, Some(gparent), Color::Black);
            }
            rotate_set_parents(a, gparent, p, root, Color::Red);
            break;
        } else {
            let tmp = a.rb(gparent).left;
            if is_red(a, tmp) {
                // Case 1 - colour flips.
                if let Some(t) = tmp {
                    set_parent_color(a, t, Some(gparent), Color::Black);
                }
                set_parent_color(a, p, Some(gparent), Color::Black);
                node = gparent;
                parent = a.rb(node).parent;
                set_parent_color(a, node, parent, Color::Red);
                continue;
            }
            let mut p = p;
            let mut tmp = a.rb(p).left;
            if tmp == Some(node) {
                // Case 2 - right rotate at parent.
                tmp = a.rb(node).right;
                a.rb_mut(p).left = tmp;
                a.rb_mut(node).right = Some(p);
                if let Some(t) = tmp {
                    set_parent_color(a, t, Some(p), Color::Black);
                }
                set_parent_color(a, p, Some(node), Color::Red);
                p = node;
                tmp = a.rb(node).left;
            }
            // Case 3 - left rotate at gparent.
            a.rb_mut(gparent).right = tmp;
            a.rb_mut(p).left = Some(gparent);
            if let Some(t) = tmp {
                set_parent_color(a, t, Some(gparent), Color::Black);
            }
            rotate_set_parents(a, gparent, p, root, Color::Red);
            break;
        }
    }
}

/// `____rb_erase_color()`: restore the properties after removing a black node whose place
/// (a NULL child of `parent`) is one black short.
fn erase_color<A: RbNodes>(a: &mut A, mut parent: NodeId, root: &mut RbRoot) {
    let mut node: Option<NodeId> = None;
    loop {
        // The sibling of a black-short subtree always exists; the `else` arms below are
        // unreachable on a valid tree and only stop the loop.
        let sibling = a.rb(parent).right;
        if node != sibling {
            // node == parent->rb_left
            let Some(mut sibling) = sibling else { break };
            if a.rb(sibling).color == Color::Red {
                // Case 1 - left rotate at parent.
                let tmp1 = a.rb(sibling).left;
                a.rb_mut(parent).right = tmp1;
                a.rb_mut(sibling).left = Some(parent);
                let Some(t1) = tmp1 else { break };
                set_parent_color(a, t1, Some(parent), Color::Black);
                rotate_set_parents(a, parent, sibling, root, Color::Red);
                sibling = t1;
            }
            let mut tmp1 = a.rb(sibling).right;
            if is_black(a, tmp1) {
                let tmp2 = a.rb(sibling).left;
                if is_black(a, tmp2) {
                    // Case 2 - sibling colour flip.
                    set_parent_color(a, sibling, Some(parent), Color::Red);
                    if a.rb(parent).color == Color::Red {
                        a.rb_mut(parent).color = Color::Black;
                    } else {
                        node = Some(parent);
                        if let Some(p) = a.rb(parent).parent {
                            parent = p;
                            continue;
                        }
                    }
                    break;
                }
                let Some(t2) = tmp2 else { break };
                // Case 3 - right rotate at sibling.
                tmp1 = a.rb(t2).right;
                a.rb_mut(sibling).left = tmp1;
                a.rb_mut(t2).right = Some(sibling);
                a.rb_mut(parent).right = Some(t2);
                if let Some(t1) = tmp1 {
                    set_parent_color(a, t1, Some(sibling), Color::Black);
                }
                tmp1 = Some(sibling);
                sibling = t2;
            }
            // Case 4 - left rotate at parent + colour flips.
            let tmp2 = a.rb(sibling).left;
            a.rb_mut(parent).right = tmp2;
            a.rb_mut(sibling).left = Some(parent);
            if let Some(t1) = tmp1 {
                set_parent_color(a, t1, Some(sibling), Color::Black);
            }
            if let Some(t2) = tmp2 {
                a.rb_mut(t2).parent = Some(parent);
            }
            rotate_set_parents(a, parent, sibling, root, Color::Black);
            break;
        } else {
            let Some(mut sibling) = a.rb(parent).left else {
                break;
            };
            if a.rb(sibling).color == Color::Red {
                // Case 1 - right rotate at parent.
                let tmp1 = a.rb(sibling).right;
                a.rb_mut(parent).left = tmp1;
                a.rb_mut(sibling).right = Some(parent);
                let Some(t1) = tmp1 else { break };
                set_parent_color(a, t1, Some(parent), Color::Black);
                rotate_set_parents(a, parent, sibling, root, Color::Red);
                sibling = t1;
            }
            let mut tmp1 = a.rb(sibling).left;
            if is_black(a, tmp1) {
                let tmp2 = a.rb(sibling).right;
                if is_black(a, tmp2) {
                    // Case 2 - sibling colour flip.
                    set_parent_color(a, sibling, Some(parent), Color::Red);
                    if a.rb(parent).color == Color::Red {
                        a.rb_mut(parent).color = Color::Black;
                    } else {
                        node = Some(parent);
                        if let Some(p) = a.rb(parent).parent {
                            parent = p;
                            continue;
                        }
                    }
                    break;
                }
                let Some(t2) = tmp2 else { break };
                // Case 3 - left rotate at sibling.
                tmp1 = a.rb(t2).left;
                a.rb_mut(sibling).right = tmp1;
                a.rb_mut(t2).left = Some(sibling);
                a.rb_mut(parent).left = Some(t2);
                if let Some(t1) = tmp1 {
                    set_parent_color(a, t1, Some(sibling), Color::Black);
                }
                tmp1 = Some(sibling);
                sibling = t2;
            }
            // Case 4 - right rotate at parent + colour flips.
            let tmp2 = a.rb(sibling).right;
            a.rb_mut(parent).left = tmp2;
            a.rb_mut(sibling).right = Some(parent);
            if let Some(t1) = tmp1 {
                set_parent_color(a, t1, Some(sibling), Color::Black);
            }
            if let Some(t2) = tmp2 {
                a.rb_mut(t2).parent = Some(parent);
            }
            rotate_set_parents(a, parent, sibling, root, Color::Black);
            break;
        }
    }
}

/// `rb_erase()`: unlink `node` from the tree and rebalance. The node's own links are reset.
pub fn erase<A: RbNodes>(a: &mut A, node: NodeId, root: &mut RbRoot) {
    let child = a.rb(node).right;
    let tmp = a.rb(node).left;
    let rebalance;

    if tmp.is_none() {
        // Case 1: node to erase has no more than 1 child (easy!).
        let pc_parent = a.rb(node).parent;
        let pc_color = a.rb(node).color;
        change_child(a, node, child, pc_parent, root);
        if let Some(c) = child {
            set_parent_color(a, c, pc_parent, pc_color);
            rebalance = None;
        } else {
            rebalance = if pc_color == Color::Black {
                pc_parent
            } else {
                None
            };
        }
    } else if child.is_none() {
        // Still case 1, but this time the child is node->rb_left.
        let pc_parent = a.rb(node).parent;
        let pc_color = a.rb(node).color;
        if let Some(t) = tmp {
            set_parent_color(a, t, pc_parent, pc_color);
        }
        change_child(a, node, tmp, pc_parent, root);
        rebalance = None;
    } else {
        let Some(child) = child else { return };
        let mut successor = child;
        let parent;
        let child2;
        let mut tmp = a.rb(child).left;
        if tmp.is_none() {
            // Case 2: node's successor is its right child.
            parent = successor;
            child2 = a.rb(successor).right;
        } else {
            // Case 3: node's successor is leftmost under node's right child subtree.
            let mut p = successor;
            while let Some(t) = tmp {
                p = successor;
                successor = t;
                tmp = a.rb(t).left;
            }
            parent = p;
            child2 = a.rb(successor).right;
            a.rb_mut(parent).left = child2;
            a.rb_mut(successor).right = Some(child);
            a.rb_mut(child).parent = Some(successor);
        }

        let left = a.rb(node).left;
        a.rb_mut(successor).left = left;
        if let Some(l) = left {
            a.rb_mut(l).parent = Some(successor);
        }

        let pc_parent = a.rb(node).parent;
        let pc_color = a.rb(node).color;
        change_child(a, node, Some(successor), pc_parent, root);

        if let Some(c2) = child2 {
            set_parent_color(a, c2, Some(parent), Color::Black);
            rebalance = None;
        } else {
            rebalance = if a.rb(successor).color == Color::Black {
                Some(parent)
            } else {
                None
            };
        }
        set_parent_color(a, successor, pc_parent, pc_color);
    }

    *a.rb_mut(node) = RbLinks::EMPTY;
    if let Some(r) = rebalance {
        erase_color(a, r, root);
    }
}

/// `rb_first()`: the leftmost node.
#[inline]
pub fn first<A: RbNodes>(a: &A, root: &RbRoot) -> Option<NodeId> {
    let mut n = root.node?;
    while let Some(l) = a.rb(n).left {
        n = l;
    }
    Some(n)
}

/// `rb_next()`: the in-order successor of `node`.
#[inline]
pub fn next<A: RbNodes>(a: &A, node: NodeId) -> Option<NodeId> {
    if let Some(mut n) = a.rb(node).right {
        while let Some(l) = a.rb(n).left {
            n = l;
        }
        return Some(n);
    }
    let mut node = node;
    while let Some(p) = a.rb(node).parent {
        if a.rb(p).right != Some(node) {
            return Some(p);
        }
        node = p;
    }
    None
}

/// Checks the red-black properties and the parent links of the tree; returns the black height.
///
/// Used by tests; a `None` return means the tree is malformed.
pub fn check<A: RbNodes>(a: &A, root: &RbRoot) -> Option<usize> {
    fn walk<A: RbNodes>(a: &A, n: Option<NodeId>, parent: Option<NodeId>) -> Option<usize> {
        let Some(n) = n else { return Some(1) };
        let l = a.rb(n);
        if l.parent != parent {
            return None;
        }
        if l.color == Color::Red && (is_red(a, l.left) || is_red(a, l.right)) {
            return None;
        }
        let hl = walk(a, l.left, Some(n))?;
        let hr = walk(a, l.right, Some(n))?;
        if hl != hr {
            return None;
        }
        Some(hl + usize::from(l.color == Color::Black))
    }
    if is_red(a, root.node) {
        return None;
    }
    walk(a, root.node, None)
}
