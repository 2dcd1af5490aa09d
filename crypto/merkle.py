"""RFC 6962 / RFC 9162 Merkle tree hashing: roots, inclusion, consistency and range proofs, compact trees.

Hashes are SHA-256 with domain separation: a leaf is SHA-256(0x00 || data), an interior node is
SHA-256(0x01 || left || right), and the empty tree hashes to SHA-256(""). The tree over n leaves
splits at k, the largest power of two smaller than n (RFC 6962 §2.1).

Proof generators take either a list of leaf hashes or a `SubtreeLookup` — a function returning the
hash of the perfect subtree (level, index) that covers leaves [index * 2**level, (index+1) * 2**level)
— so a log stored in a database answers any proof with O(log n) look-ups. Verifiers never raise
on bad input: they return False.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

SubtreeLookup = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _check_leaves(leaves: Sequence[bytes]) -> None:
    for i, h in enumerate(leaves):
        if not _is_hash(h):
            raise ValueError(f"leaf hash {i} is not {HASH_SIZE} bytes")


def lookup_from_leaves(leaves: Sequence[bytes]) -> SubtreeLookup:
    """A SubtreeLookup over an in-memory list of leaf hashes (computes each level once, lazily)."""
    _check_leaves(leaves)
    levels: list[list[bytes]] = [list(leaves)]

    def lookup(level: int, index: int) -> bytes:
        while len(levels) <= level:
            below = levels[-1]
            levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
        row = levels[level]
        if not 0 <= index < len(row):
            raise ValueError(f"no complete subtree at level {level}, index {index}")
        return row[index]

    return lookup


def subtree_hash(start: int, end: int, lookup: SubtreeLookup) -> bytes:
    """MTH(D[start:end]) for a node of the RFC 6962 tree (start aligned, as every such node is).

    The range splits into perfect subtrees whose sizes are the binary digits of end - start, largest
    first; the hash folds them from the right, as the RFC's recursion does.
    """
    if end <= start:
        return EMPTY_ROOT
    blocks: list[bytes] = []
    pos = start
    remaining = end - start
    while remaining:
        level = remaining.bit_length() - 1
        size = 1 << level
        if pos % size:
            raise ValueError(f"range [{start}, {end}) is not a node of the tree")
        blocks.append(lookup(level, pos >> level))
        pos += size
        remaining -= size
    result = blocks[-1]
    for h in reversed(blocks[:-1]):
        result = node_hash(h, result)
    return result


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """MTH over a list of leaf hashes; EMPTY_ROOT for no leaves."""
    return subtree_hash(0, len(leaves), lookup_from_leaves(leaves))


# --- inclusion ------------------------------------------------------------------------------------


def inclusion_proof_with(index: int, size: int, lookup: SubtreeLookup) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 6962 §2.1.1, leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(subtree_hash(start + k, end, lookup))
            end = start + k
        else:
            path.append(subtree_hash(start, start + k, lookup))
            start += k
    path.reverse()
    return path


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int | None = None) -> list[bytes]:
    size = len(leaves) if size is None else size
    if size > len(leaves):
        raise ValueError(f"tree size {size} exceeds the {len(leaves)} leaves given")
    return inclusion_proof_with(index, size, lookup_from_leaves(leaves[:size]))


def root_from_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes | None:
    """The root implied by an inclusion proof (RFC 9162 §2.1.3.2), or None when the proof is malformed."""
    if not (_is_hash(leaf) and 0 <= index < size and all(_is_hash(p) for p in proof)):
        return None
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return r


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """True when `proof` shows that `leaf` is leaf number `index` of the tree of `size` with `root`."""
    return root_from_inclusion(leaf, index, size, proof) == root and _is_hash(root)


# --- consistency ----------------------------------------------------------------------------------


def consistency_proof_with(first: int, second: int, lookup: SubtreeLookup) -> list[bytes]:
    """PROOF(first, D[0:second]) of RFC 6962 §2.1.2; empty when first is 0 or equals second."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first in (0, second):
        return []
    proof: list[bytes] = []
    start, end, complete = 0, second, True
    m = first
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(subtree_hash(start + k, end, lookup))
            end = start + k
        else:
            proof.append(subtree_hash(start, start + k, lookup))
            start += k
            m -= k
            complete = False
    if not complete:
        proof.append(subtree_hash(start, end, lookup))
    proof.reverse()
    return proof


def consistency_proof(leaves: Sequence[bytes], first: int, second: int | None = None) -> list[bytes]:
    second = len(leaves) if second is None else second
    if second > len(leaves):
        raise ValueError(f"tree size {second} exceeds the {len(leaves)} leaves given")
    return consistency_proof_with(first, second, lookup_from_leaves(leaves[:second]))


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> bool:
    """True when `proof` shows that the tree (first, first_root) is a prefix of (second, second_root).

    Follows RFC 9162 §2.1.4.2. A tree of size 0 is a prefix of every tree (its root must be
    EMPTY_ROOT and the proof empty); equal sizes need equal roots and an empty proof.
    """
    if not (_is_hash(first_root) and _is_hash(second_root) and all(_is_hash(p) for p in proof)):
        return False
    if not 0 <= first <= second:
        return False
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: the old root is itself a node of the new tree
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


# --- range proofs: a contiguous run of leaves against a root --------------------------------------


def _range_walk(start: int, end: int, size: int, inside: Callable[[int], bytes], outside: Iterator[bytes]) -> bytes:
    # Same recursion for generating and checking: subtrees wholly outside [start, end) come from
    # `outside` in left-to-right order; leaves inside come from `inside`.
    def walk(a: int, b: int) -> bytes:
        if b <= start or a >= end:
            return next(outside)
        if b - a == 1:
            return inside(a)
        k = _split(b - a)
        left = walk(a, a + k)
        return node_hash(left, walk(a + k, b))

    return walk(0, size)


def range_proof_with(start: int, end: int, size: int, lookup: SubtreeLookup) -> list[bytes]:
    """The hashes of the maximal subtrees outside leaves [start, end), left to right (at most ~2 log2 size).

    Together with the leaf hashes of [start, end) they rebuild the root of the tree of `size`.
    """
    if not 0 <= start < end <= size:
        raise ValueError(f"range [{start}, {end}) is not a non-empty part of a tree of size {size}")
    proof: list[bytes] = []

    def collect(a: int, b: int) -> None:
        if b <= start or a >= end:
            proof.append(subtree_hash(a, b, lookup))
            return
        if b - a == 1:
            return
        k = _split(b - a)
        collect(a, a + k)
        collect(a + k, b)

    collect(0, size)
    return proof


def range_proof(leaves: Sequence[bytes], start: int, end: int, size: int | None = None) -> list[bytes]:
    size = len(leaves) if size is None else size
    if size > len(leaves):
        raise ValueError(f"tree size {size} exceeds the {len(leaves)} leaves given")
    return range_proof_with(start, end, size, lookup_from_leaves(leaves[:size]))


def root_from_range(start: int, size: int, leaves: Sequence[bytes], proof: Sequence[bytes]) -> bytes | None:
    """The root implied by leaf hashes of [start, start + len(leaves)) and their range proof; None if malformed."""
    end = start + len(leaves)
    if not 0 <= start < end <= size:
        return None
    if not all(_is_hash(h) for h in leaves) or not all(_is_hash(p) for p in proof):
        return None
    outside = iter(proof)
    try:
        root = _range_walk(start, end, size, lambda i: leaves[i - start], outside)
    except StopIteration:
        return None
    if next(outside, None) is not None:
        return None
    return root


def verify_range(start: int, size: int, leaves: Sequence[bytes], proof: Sequence[bytes], root: bytes) -> bool:
    return _is_hash(root) and root_from_range(start, size, leaves, proof) == root


# --- compact tree: the right edge of an append-only log -------------------------------------------


@dataclass
class CompactTree:
    """The roots of the perfect subtrees that make up a tree of `size` leaves, largest first.

    Their sizes are the binary digits of `size`, so the state is at most log2(size) + 1 hashes and
    an append costs O(log size). Appending reports each perfect subtree it completes, so a store
    can keep every node it will later need for proofs.
    """

    size: int = 0
    frontier: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.size < 0 or len(self.frontier) != self.size.bit_count():
            raise ValueError(f"a tree of size {self.size} needs {max(self.size, 0).bit_count()} frontier hashes")
        _check_leaves(self.frontier)

    @classmethod
    def from_bytes(cls, size: int, state: bytes) -> CompactTree:
        if len(state) % HASH_SIZE:
            raise ValueError("compact tree state is not a whole number of hashes")
        return cls(size, [state[i : i + HASH_SIZE] for i in range(0, len(state), HASH_SIZE)])

    def to_bytes(self) -> bytes:
        return b"".join(self.frontier)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; returns (level, index, hash) of every perfect subtree of level >= 1 it completed."""
        if not _is_hash(leaf):
            raise ValueError(f"leaf hash is not {HASH_SIZE} bytes")
        completed: list[tuple[int, int, bytes]] = []
        h = leaf
        level = 0
        position = self.size  # index of the new leaf
        while position & 1:  # a left sibling of the same size is waiting on the frontier
            h = node_hash(self.frontier.pop(), h)
            level += 1
            position >>= 1
            completed.append((level, position, h))
        self.frontier.append(h)
        self.size += 1
        return completed

    def root(self) -> bytes:
        if not self.frontier:
            return EMPTY_ROOT
        result = self.frontier[-1]
        for h in reversed(self.frontier[:-1]):
            result = node_hash(h, result)
        return result
