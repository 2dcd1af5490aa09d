// The evidence-log entry page's own check, in the browser, of the entry's inclusion proof (RFC 6962 / RFC 9162):
// recompute the leaf hash from the canonical entry, fold the audit path to a root, compare it with the signed
// checkpoint's root, and verify the checkpoint's Ed25519 signature with the platform key published at
// /.well-known/platform-keys.json (WebCrypto). It trusts none of the server's hashes or verdicts, only the
// published key. The hashing and the canonical JSON are the receipt verifier's (assets/receipt/), so the two
// pages check with one implementation of each.
//
// `verifyEntry(data, keys)` is exported for tests: it returns {ok: true, size, keyId} or {ok: false, reason}
// where reason is one of: entry, leaf, size, path, key, signature, unsupported, malformed.
import { sha256 } from "@noble/hashes/sha2.js";

import { canonicalize } from "./receipt/canonical.js";
import { leafHash, rootFromInclusion } from "./receipt/merkle.js";

export { leafHash }; // for tests: the leaf hash of an entry, as the check computes it

const encoder = new TextEncoder();

function hexToBytes(hex) {
  if (typeof hex !== "string" || !/^([0-9a-f]{2})*$/.test(hex)) throw new Error("malformed");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function base64ToBytes(text) {
  const raw = atob(text);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function equal(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function fail(reason) {
  return { ok: false, reason };
}

// data: {index, canonical (text), tree_size, proof: [hex], checkpoint: {payload, signature}}
// keys: the published key list ({keys: [{key_id, alg, public_key (raw, base64)}]}).
export async function verifyEntry(data, keys) {
  let entry, path, root, signature, message;
  const bytes = encoder.encode(typeof data.canonical === "string" ? data.canonical : "");
  try {
    entry = JSON.parse(data.canonical);
    path = data.proof.map(hexToBytes);
    root = hexToBytes(data.checkpoint.payload.root_hash);
    signature = base64ToBytes(data.checkpoint.signature.sig);
    message = canonicalize(data.checkpoint.payload);
  } catch (e) {
    return fail("malformed");
  }
  if (entry === null || typeof entry !== "object" || entry.v !== 1 || entry.index !== data.index) {
    return fail("entry");
  }
  const leaf = leafHash(bytes);
  if (typeof data.leaf_hash === "string" && bytesToHex(leaf) !== data.leaf_hash) return fail("leaf");
  if (data.checkpoint.payload.tree_size !== data.tree_size) return fail("size");
  if (path.some((p) => p.length !== 32) || root.length !== 32) return fail("malformed");
  const computed = rootFromInclusion(leaf, data.index, data.tree_size, path);
  if (computed === null || !equal(computed, root)) return fail("path");

  const sig = data.checkpoint.signature;
  const published = (keys && Array.isArray(keys.keys) ? keys.keys : []).find(
    (k) => k.key_id === sig.key_id && k.alg === "Ed25519",
  );
  if (!published || sig.alg !== "Ed25519") return fail("key");
  let raw;
  try {
    raw = base64ToBytes(published.public_key);
  } catch (e) {
    return fail("key");
  }
  // The key id is the first 8 bytes of SHA-256 over the raw key: a mislabelled key is not the platform's.
  if (raw.length !== 32 || bytesToHex(sha256(raw).slice(0, 8)) !== sig.key_id) return fail("key");
  let key;
  try {
    key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
  } catch (e) {
    return fail("unsupported");
  }
  let good;
  try {
    good = await crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
  } catch (e) {
    return fail("signature");
  }
  if (!good) return fail("signature");
  return { ok: true, size: data.tree_size, keyId: sig.key_id };
}

function show(box, state, tagText, tagColour, text) {
  box.dataset.state = state;
  const tag = box.querySelector("#browser-verdict-tag");
  tag.textContent = tagText;
  tag.className = "govuk-tag govuk-tag--" + tagColour;
  box.querySelector("#browser-verdict-text").textContent = text;
}

async function run() {
  const source = document.getElementById("audit-proof");
  const box = document.getElementById("browser-verdict");
  if (!source || !box) return;
  const data = JSON.parse(source.textContent);
  const m = data.messages;
  show(box, "checking", m.checking, "grey", m.checking);
  let keys;
  try {
    const resp = await fetch(data.keys_url, { credentials: "omit", cache: "no-store" });
    if (!resp.ok) throw new Error(String(resp.status));
    keys = await resp.json();
  } catch (e) {
    show(box, "failed", m.not_verified, "red", m.keys);
    return;
  }
  const result = await verifyEntry(data, keys);
  if (result.ok) {
    const text = m.ok.replace("%(size)s", String(result.size)).replace("%(key_id)s", result.keyId);
    show(box, "verified", m.verified, "green", text);
  } else {
    show(box, "failed", m.not_verified, "red", m[result.reason] || m.malformed);
  }
}

run();
