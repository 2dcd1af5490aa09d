"""RFC 6962 Merkle hashing against the Certificate Transparency reference vectors, plus property tests."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import merkle
from crypto.merkle import (
    EMPTY_ROOT,
    CompactTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    range_proof,
    root_from_range,
    root_hash,
    verify_consistency,
    verify_inclusion,
    verify_range,
)

# The reference tree of the CT test suite (merkle_tree_test.cc) and RFC 9162 implementations.
CT_LEAVES = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (0-based leaf index, tree size, audit path)
CT_INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
# (first size, second size, proof)
CT_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        2,
        8,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
]

HASHES = [leaf_hash(d) for d in CT_LEAVES]


def test_hash_prefixes_follow_rfc_6962() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT


@pytest.mark.parametrize("size", range(9))
def test_reference_roots(size: int) -> None:
    assert root_hash(HASHES[:size]).hex() == CT_ROOTS[size]


@pytest.mark.parametrize(("index", "size", "path"), CT_INCLUSION)
def test_reference_inclusion_proofs(index: int, size: int, path: list[str]) -> None:
    proof = inclusion_proof(HASHES, index, size)
    assert [p.hex() for p in proof] == path
    assert verify_inclusion(HASHES[index], index, size, proof, bytes.fromhex(CT_ROOTS[size]))


@pytest.mark.parametrize(("first", "second", "path"), CT_CONSISTENCY)
def test_reference_consistency_proofs(first: int, second: int, path: list[str]) -> None:
    proof = consistency_proof(HASHES, first, second)
    assert [p.hex() for p in proof] == path
    assert verify_consistency(first, second, bytes.fromhex(CT_ROOTS[first]), bytes.fromhex(CT_ROOTS[second]), proof)


def test_reference_proofs_refuse_wrong_claims() -> None:
    root8 = bytes.fromhex(CT_ROOTS[8])
    proof = inclusion_proof(HASHES, 5, 8)
    assert not verify_inclusion(HASHES[4], 5, 8, proof, root8)  # another leaf
    assert not verify_inclusion(HASHES[5], 4, 8, proof, root8)  # another position
    assert not verify_inclusion(HASHES[5], 5, 6, proof, root8)  # a size whose path is shorter
    assert not verify_inclusion(HASHES[5], 8, 8, proof, root8)  # outside the tree
    assert not verify_inclusion(HASHES[5], 5, 8, proof, bytes.fromhex(CT_ROOTS[7]))
    cproof = consistency_proof(HASHES, 6, 8)
    root6 = bytes.fromhex(CT_ROOTS[6])
    assert not verify_consistency(6, 8, bytes.fromhex(CT_ROOTS[5]), root8, cproof)
    assert not verify_consistency(8, 6, root8, root6, cproof)
    assert not verify_consistency(6, 8, root6, root8, [])
    assert not verify_consistency(6, 8, root6, root8, [b"short", *cproof[1:]])


def test_edge_cases_of_consistency() -> None:
    root8 = bytes.fromhex(CT_ROOTS[8])
    assert verify_consistency(0, 8, EMPTY_ROOT, root8, [])
    assert not verify_consistency(0, 8, bytes.fromhex(CT_ROOTS[1]), root8, [])
    assert not verify_consistency(0, 8, EMPTY_ROOT, root8, [root8])
    assert verify_consistency(8, 8, root8, root8, [])
    assert not verify_consistency(8, 8, root8, bytes.fromhex(CT_ROOTS[7]), [])
    assert not verify_consistency(8, 8, root8, root8, [root8])


def test_generators_refuse_impossible_requests() -> None:
    with pytest.raises(ValueError):
        inclusion_proof(HASHES, 8, 8)
    with pytest.raises(ValueError):
        inclusion_proof(HASHES, 0, 9)
    with pytest.raises(ValueError):
        consistency_proof(HASHES, 5, 3)
    with pytest.raises(ValueError):
        range_proof(HASHES, 3, 3)
    with pytest.raises(ValueError):
        root_hash([b"too short"])


def test_compact_tree_matches_full_tree_and_reports_completed_subtrees() -> None:
    tree = CompactTree()
    lookup = merkle.lookup_from_leaves(HASHES)
    completed = []
    for size, h in enumerate(HASHES, start=1):
        completed += tree.append(h)
        assert tree.root().hex() == CT_ROOTS[size]
        restored = CompactTree.from_bytes(tree.size, tree.to_bytes())
        assert restored.root() == tree.root()
    assert sorted((lvl, i) for lvl, i, _ in completed) == [(1, 0), (1, 1), (1, 2), (1, 3), (2, 0), (2, 1), (3, 0)]
    for level, index, h in completed:
        assert h == lookup(level, index)
    with pytest.raises(ValueError):
        CompactTree(3, [HASHES[0]])  # a tree of 3 needs two frontier hashes


leaf_lists = st.lists(st.binary(max_size=16), min_size=1, max_size=70).map(lambda ds: [leaf_hash(d) for d in ds])


def _flip(h: bytes, bit: int) -> bytes:
    b = bytearray(h)
    b[bit // 8 % len(b)] ^= 1 << (bit % 8)
    return bytes(b)


@settings(max_examples=150, deadline=None)
@given(leaves=leaf_lists, data=st.data())
def test_every_inclusion_proof_verifies_and_tampering_breaks_it(leaves: list[bytes], data: st.DataObject) -> None:
    size = data.draw(st.integers(1, len(leaves)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    root = root_hash(leaves[:size])
    proof = inclusion_proof(leaves, index, size)
    assert verify_inclusion(leaves[index], index, size, proof, root)
    bit = data.draw(st.integers(0, 255), label="bit")
    assert not verify_inclusion(_flip(leaves[index], bit), index, size, proof, root)
    assert not verify_inclusion(leaves[index], index, size, proof, _flip(root, bit))
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1), label="k")
        bad = list(proof)
        bad[k] = _flip(bad[k], bit)
        assert not verify_inclusion(leaves[index], index, size, bad, root)
        assert not verify_inclusion(leaves[index], index, size, proof[:-1], root)
    assert not verify_inclusion(leaves[index], index, size, [*proof, root], root)
    if size > 1:
        other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index), label="other")
        if leaves[other] != leaves[index]:
            assert not verify_inclusion(leaves[index], other, size, proof, root)


@settings(max_examples=150, deadline=None)
@given(leaves=leaf_lists, data=st.data())
def test_every_consistency_proof_verifies_and_tampering_breaks_it(leaves: list[bytes], data: st.DataObject) -> None:
    second = data.draw(st.integers(1, len(leaves)), label="second")
    first = data.draw(st.integers(1, second), label="first")
    r1, r2 = root_hash(leaves[:first]), root_hash(leaves[:second])
    proof = consistency_proof(leaves, first, second)
    assert verify_consistency(first, second, r1, r2, proof)
    bit = data.draw(st.integers(0, 255), label="bit")
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1), label="k")
        bad = list(proof)
        bad[k] = _flip(bad[k], bit)
        assert not verify_consistency(first, second, r1, r2, bad)
        assert not verify_consistency(first, second, r1, r2, proof[:-1])
        assert not verify_consistency(first, second, _flip(r1, bit), r2, proof)
        assert not verify_consistency(first, second, r1, _flip(r2, bit), proof)
    assert not verify_consistency(first, second, r1, r2, [*proof, r2])


@settings(max_examples=150, deadline=None)
@given(leaves=leaf_lists, data=st.data())
def test_range_proofs_rebuild_the_root(leaves: list[bytes], data: st.DataObject) -> None:
    size = len(leaves)
    start = data.draw(st.integers(0, size - 1), label="start")
    end = data.draw(st.integers(start + 1, size), label="end")
    root = root_hash(leaves)
    proof = range_proof(leaves, start, end)
    assert len(proof) <= 2 * size.bit_length()
    assert verify_range(start, size, leaves[start:end], proof, root)
    bit = data.draw(st.integers(0, 255), label="bit")
    k = data.draw(st.integers(start, end - 1), label="k")
    tampered = list(leaves[start:end])
    tampered[k - start] = _flip(tampered[k - start], bit)
    assert not verify_range(start, size, tampered, proof, root)
    if proof:
        assert root_from_range(start, size, leaves[start:end], proof[:-1]) is None
        assert not verify_range(start, size, leaves[start:end], [_flip(proof[0], bit), *proof[1:]], root)
    assert root_from_range(start, size, leaves[start:end], [*proof, root]) is None


@settings(max_examples=60, deadline=None)
@given(leaves=leaf_lists)
def test_compact_tree_root_equals_mth_at_every_size(leaves: list[bytes]) -> None:
    tree = CompactTree()
    for n, h in enumerate(leaves, start=1):
        tree.append(h)
        assert len(tree.frontier) == n.bit_count()
        assert tree.root() == root_hash(leaves[:n])
