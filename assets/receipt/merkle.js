// RFC 6962 / RFC 9162 hashing as crypto/merkle.py does it: leaf = SHA-256(0x00 || data),
// node = SHA-256(0x01 || left || right), and the root implied by an inclusion proof (RFC 9162 §2.1.3.2).
import { sha256 } from "@noble/hashes/sha2.js";

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function leafHash(data) {
  return sha256(concat(new Uint8Array([0]), data));
}

export function nodeHash(left, right) {
  return sha256(concat(new Uint8Array([1]), left, right));
}

/** The root implied by `proof` for leaf hash `leaf` at `index` of a tree of `size` leaves, or null. */
export function rootFromInclusion(leaf, index, size, proof) {
  if (!(leaf.length === 32 && Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) return null;
  if (!proof.every((p) => p.length === 32)) return null;
  // Safe integers exceed 32 bits: use BigInt for the shifts.
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) return null;
    if (fn & 1n || fn === sn) {
      r = nodeHash(p, r);
      while (!(fn & 1n) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : null;
}
