// The public receipt verification page (app/tendering/templates/tendering/verify_receipt.html), in the browser:
// the receipt's Ed25519 signature (WebCrypto) against the platform's keys from /.well-known/platform-keys.json
// over its canonical JSON (./receipt/canonical.js, byte-equal to crypto/canonical.py), the commitment, the sealed
// file's SHA-256 and size (hashed in slices, never uploaded) and the two-level inclusion proof (batch path → batch
// root → evidence-log entry → log path → signed checkpoint), each check reported in words. Without this script
// the page's form posts the receipt JSON (never the sealed file) to the server, which runs crypto/receipt.py.
import { sha256 } from "@noble/hashes/sha2.js";

import { CanonicalError, canonicalize, loadsCanonical, parseStrict } from "./receipt/canonical.js";
import { leafHash, rootFromInclusion } from "./receipt/merkle.js";

const RECEIPT_FORMAT = "platform-bid-receipt/v2";
const RECEIPT_FORMAT_V1 = "platform-bid-receipt/v1";
const PROOF_FORMAT = "platform-bid-receipt-proof/v1";
const BATCH_ACTION = "tendering.bids.batch";
const CORE_FIELDS_V1 = ["format", "kind", "tender", "bid", "bidder", "envelopes", "received_at"];
const CORE_FIELDS = [...CORE_FIELDS_V1, "nonce"];
const MAX_BATCH_CAPACITY = 1 << 16;
const HEX64 = /^[0-9a-f]{64}$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const SLICE = 4 * 1024 * 1024;
const MAX_RECEIPT = 256 * 1024;

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const fromHex = (text) => Uint8Array.from(text.match(/../g) || [], (h) => parseInt(h, 16));
const eq = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const isCount = (v) => Number.isSafeInteger(v) && v >= 0;

function b64(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4) throw new Error("not base64");
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
}

function fileSize(n) {
  if (n < 1024) return `${n} B`;
  let value = n;
  for (const unit of ["KB", "MB", "GB", "TB"]) {
    value /= 1024;
    if (value < 1024 || unit === "TB") return `${value.toFixed(1)} ${unit}`;
  }
  return `${n} B`;
}

/** '2026-12-01 09:30:00 (Asia/Shanghai, UTC+08:00)', as app.core.time.format_center_time writes it. */
export function centerTime(instant, zone) {
  const date = new Date(instant);
  if (Number.isNaN(date.getTime())) return instant;
  try {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat("en-CA", {
        timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
        second: "2-digit", hourCycle: "h23", timeZoneName: "longOffset",
      }).formatToParts(date).map((p) => [p.type, p.value]),
    );
    const offset = parts.timeZoneName === "GMT" ? "+00:00" : parts.timeZoneName.replace("GMT", "");
    return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} (${zone}, UTC${offset})`;
  } catch {
    return instant;
  }
}

async function importKeys(url) {
  const resp = await fetch(url, { credentials: "omit", headers: { Accept: "application/json" } });
  if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
  const doc = await resp.json();
  const keys = new Map();
  for (const entry of (doc && doc.keys) || []) {
    if (entry.alg !== "Ed25519" || typeof entry.key_id !== "string") continue;
    keys.set(entry.key_id, await crypto.subtle.importKey("raw", b64(entry.public_key), { name: "Ed25519" }, false, ["verify"]));
  }
  return keys;
}

class Failed extends Error {}

/** Verify a signed document's signature with the platform's keys; returns the payload. Throws Failed(message key). */
async function verifySigned(document, keys, what) {
  if (!isObject(document) || !isObject(document.payload) || !isObject(document.signature)) throw new Failed(`${what}Bad`);
  const sig = document.signature;
  if (sig.alg !== "Ed25519" || typeof sig.key_id !== "string" || typeof sig.sig !== "string") throw new Failed(`${what}Bad`);
  const key = keys.get(sig.key_id);
  if (!key) throw new Failed("unknownKey");
  let signature;
  try {
    signature = b64(sig.sig);
  } catch {
    throw new Failed(`${what}Bad`);
  }
  if (signature.length !== 64) throw new Failed(`${what}Bad`);
  let message;
  try {
    message = canonicalize(document.payload);
  } catch {
    throw new Failed(`${what}Bad`);
  }
  if (!(await crypto.subtle.verify("Ed25519", key, signature, message))) throw new Failed(`${what}Bad`);
  return document.payload;
}

function checkShape(p) {
  if (![RECEIPT_FORMAT, RECEIPT_FORMAT_V1].includes(p.format)) return `format ${JSON.stringify(p.format)}`;
  if (p.format === RECEIPT_FORMAT && !(typeof p.nonce === "string" && HEX64.test(p.nonce))) return "no nonce";
  if (!["submission", "withdrawal"].includes(p.kind)) return "kind";
  for (const name of ["tender", "bid", "bidder"]) if (!isObject(p[name])) return name;
  if (typeof p.received_at !== "string" || !INSTANT.test(p.received_at)) return "received_at";
  if (p.format === RECEIPT_FORMAT_V1 && !isCount(p.log_index)) return "log_index";
  if (!Array.isArray(p.envelopes)) return "envelopes";
  for (const e of p.envelopes) {
    if (!isObject(e) || typeof e.name !== "string" || typeof e.sha256 !== "string" || !HEX64.test(e.sha256) || !isCount(e.size)) {
      return "envelope";
    }
  }
  if (p.kind === "submission" && !p.envelopes.length) return "envelopes";
  return null;
}

/** SHA-256 and size of a File, read in slices (constant memory for any size). */
async function hashFile(file, progress) {
  const h = sha256.create();
  for (let at = 0; at < file.size; at += SLICE) {
    h.update(new Uint8Array(await file.slice(at, at + SLICE).arrayBuffer()));
    progress(Math.min(100, Math.floor(((at + SLICE) * 100) / Math.max(file.size, 1))));
  }
  return { sha: hex(h.digest()), size: file.size };
}

function proofChecks(payload, proof) {
  // Level 1: commitment → batch root; then the entry; the checkpoint's signature and level 2 are async (below).
  if (!isObject(proof) || proof.format !== PROOF_FORMAT || proof.commitment !== payload.commitment) return { fail: "batch" };
  const { batch, entry, log } = proof;
  if (!isObject(batch) || !isObject(entry) || !isObject(log)) return { fail: "batch" };
  const hashes = (list) => (Array.isArray(list) && list.length <= 64 && list.every((h) => typeof h === "string" && HEX64.test(h)) ? list.map(fromHex) : null);
  const path = hashes(batch.path);
  if (!isCount(batch.capacity) || !isCount(batch.leaf_index) || batch.capacity === 0 || batch.capacity > MAX_BATCH_CAPACITY ||
      batch.leaf_index >= batch.capacity || typeof batch.root !== "string" || !HEX64.test(batch.root) || !path) return { fail: "batch" };
  const leaf = leafHash(fromHex(payload.commitment));
  const root = rootFromInclusion(leaf, batch.leaf_index, batch.capacity, path);
  if (!root || hex(root) !== batch.root) return { fail: "batch" };
  let canonical;
  let content;
  try {
    canonical = b64(entry.canonical);
    content = loadsCanonical(canonical);
  } catch {
    return { fail: "entry" };
  }
  const data = isObject(content) ? content.data : null;
  if (!isCount(entry.index) || !isObject(data) || content.index !== entry.index || content.action !== BATCH_ACTION ||
      data.root !== batch.root || data.capacity !== batch.capacity) return { fail: "entry" };
  return { canonical, index: entry.index, leafIndex: batch.leaf_index, log, logPath: hashes(log.path) };
}

class Page {
  constructor(form, cfg) {
    this.form = form;
    this.cfg = cfg;
    this.m = cfg.messages;
    this.receiptInput = document.getElementById("receipt-file");
    this.sealedInput = document.getElementById("sealed-file");
    this.text = document.getElementById("receipt-text");
    this.section = document.getElementById("verify-result");
    this.list = document.getElementById("verify-checks");
    this.verdict = document.getElementById("verify-verdict");
    this.facts = document.getElementById("verify-facts");
    this.droppedReceipt = null;
    this.droppedSealed = null;
  }

  start() {
    document.getElementById("sealed-group").hidden = false;
    const zone = document.getElementById("drop-zone");
    zone.hidden = false;
    // The whole form takes the drop (the zone is inside it: one listener, so one run per drop).
    this.form.addEventListener("dragover", (e) => {
      e.preventDefault();
      zone.classList.add("app-drop-zone--over");
    });
    this.form.addEventListener("dragleave", () => zone.classList.remove("app-drop-zone--over"));
    this.form.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("app-drop-zone--over");
      this.dropped(Array.from(e.dataTransfer.files)).then(() => this.run());
    });
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.droppedReceipt = null;
      this.droppedSealed = null;
      this.run();
    });
    this.form.dataset.ready = "true";
  }

  /** Sort dropped files: a JSON receipt (or bundle) is the receipt, anything else the sealed file. */
  async dropped(files) {
    for (const file of files) {
      let isReceipt = false;
      if (file.size <= MAX_RECEIPT) {
        try {
          const doc = parseStrict(await file.text());
          isReceipt = isObject(doc) && ("receipt" in doc || "payload" in doc);
        } catch {
          isReceipt = false;
        }
      }
      if (isReceipt) this.droppedReceipt = file;
      else this.droppedSealed = file;
    }
  }

  row(name, ok, detail) {
    const li = document.createElement("li");
    li.dataset.check = name;
    li.dataset.ok = ok === null ? "skip" : String(ok);
    const tag = document.createElement("strong");
    tag.className = `govuk-tag govuk-tag--${ok === null ? "grey" : ok ? "green" : "red"}`;
    tag.textContent = ok === null ? this.m.skipped : ok ? this.m.passed : this.m.failed;
    const label = document.createElement("span");
    label.className = "app-check-name";
    label.textContent = this.m[name] || name;
    li.append(tag, " ", label, ": ", detail);
    this.list.append(li);
    return ok;
  }

  showFacts(p) {
    const rows = [
      [this.m.tender, `${p.tender.reference ?? ""} ${p.tender.title ?? ""}`.trim()],
      [this.m.bidder, p.bidder.name ?? ""],
      [this.m.bidId, p.bid.id ?? ""],
      [this.m.bidVersion, p.bid.version ?? ""],
      [this.m.received, centerTime(p.received_at, this.cfg.zone)],
      [this.m.commitment, p.commitment ?? ""],
    ];
    const dl = document.createElement("dl");
    dl.className = "govuk-summary-list";
    for (const [key, value] of rows) {
      const div = document.createElement("div");
      div.className = "govuk-summary-list__row";
      const dt = document.createElement("dt");
      dt.className = "govuk-summary-list__key";
      dt.textContent = key;
      const dd = document.createElement("dd");
      dd.className = "govuk-summary-list__value";
      dd.textContent = String(value);
      div.append(dt, dd);
      dl.append(div);
    }
    this.facts.replaceChildren(dl);
  }

  async readReceiptText() {
    const file = this.droppedReceipt || this.receiptInput.files[0];
    if (file) {
      if (file.size > MAX_RECEIPT) return null;
      return file.text();
    }
    return this.text.value.trim() || null;
  }

  async run() {
    this.section.hidden = false;
    this.list.replaceChildren();
    this.facts.replaceChildren();
    this.verdict.textContent = this.m.working;
    this.section.dataset.state = "running";
    let ok = false;
    try {
      ok = await this.verify();
    } catch (err) {
      this.row("signature", false, String(err && err.message ? err.message : err));
      ok = false;
    }
    this.verdict.textContent = ok ? this.m.genuine : this.m.notGenuine;
    this.section.dataset.state = ok ? "ok" : "failed";
    this.section.focus?.();
  }

  async verify() {
    const text = await this.readReceiptText();
    if (text === null) {
      this.row("format", false, this.m.noReceipt);
      return false;
    }
    let doc;
    try {
      doc = parseStrict(text);
    } catch (err) {
      this.row("format", false, err instanceof CanonicalError && !err.message.startsWith("not JSON") ? fill(this.m.formatBad, { reason: err.message }) : this.m.notJson);
      return false;
    }
    let proof = null;
    if (isObject(doc) && "receipt" in doc) {
      proof = doc.proof ?? null;
      doc = doc.receipt;
    }
    if (!isObject(doc) || !isObject(doc.payload)) {
      this.row("format", false, fill(this.m.formatBad, { reason: "payload" }));
      return false;
    }
    const p = doc.payload;
    const shape = checkShape(p);
    if (shape) {
      this.row("format", false, fill(this.m.formatBad, { reason: shape }));
      return false;
    }
    this.row("format", true, fill(this.m.formatOk, { format: p.format }));

    let keys;
    try {
      keys = await importKeys(this.cfg.keys_url);
    } catch (err) {
      const unsupported = err && (err.name === "NotSupportedError" || /Ed25519|algorithm/i.test(String(err.message)));
      this.row("signature", false, unsupported ? this.m.noEd25519 : this.m.keysFailed);
      return false;
    }
    let ok = true;
    try {
      await verifySigned(doc, keys, "signature");
      this.row("signature", true, fill(this.m.signatureOk, { key: doc.signature.key_id }));
    } catch (err) {
      if (!(err instanceof Failed)) throw err;
      this.row("signature", false, err.message === "unknownKey" ? fill(this.m.unknownKey, { key: doc.signature.key_id }) : this.m.signatureBad);
      return false; // nothing else in an unsigned receipt is worth checking
    }

    const core = {};
    for (const name of p.format === RECEIPT_FORMAT ? CORE_FIELDS : CORE_FIELDS_V1) core[name] = p[name] ?? null;
    let commitmentOk = false;
    try {
      commitmentOk = hex(sha256(canonicalize(core))) === p.commitment;
    } catch {
      commitmentOk = false;
    }
    ok = this.row("commitment", commitmentOk, commitmentOk ? this.m.commitmentOk : this.m.commitmentBad) && ok;
    this.showFacts(p);
    if (this.cfg.commitment) {
      const same = p.commitment === this.cfg.commitment;
      ok = this.row("linked", same, same ? this.m.linkedOk : this.m.linkedBad) && ok;
    }

    const sealed = this.droppedSealed || this.sealedInput.files[0];
    if (sealed) {
      this.row("file", null, fill(this.m.hashing, { p: 0 }));
      const li = this.list.lastElementChild;
      const { sha, size } = await hashFile(sealed, (pct) => {
        li.lastChild.textContent = fill(this.m.hashing, { p: pct });
      });
      li.remove();
      const hit = p.envelopes.find((e) => e.sha256 === sha && e.size === size);
      ok = this.row("file", Boolean(hit), hit ? fill(this.m.fileOk, { name: hit.name, size: fileSize(size) }) : fill(this.m.fileBad, { sha, size: fileSize(size) })) && ok;
    } else {
      this.row("file", null, this.m.fileNone);
    }

    if (proof === null) {
      this.row("proof", null, this.m.proofNone);
      return ok;
    }
    const level1 = proofChecks(p, proof);
    if (level1.fail) {
      if (level1.fail === "entry") this.row("batch", true, this.m.batchOk);
      this.row(level1.fail, false, this.m[`${level1.fail}Bad`]);
      return false;
    }
    this.row("batch", true, this.m.batchOk);
    this.row("entry", true, fill(this.m.entryOk, { entry: level1.index }));
    let signed;
    try {
      signed = await verifySigned(level1.log.checkpoint, keys, "checkpoint");
    } catch (err) {
      if (!(err instanceof Failed)) throw err;
      this.row("checkpoint", false, this.m.checkpointBad);
      return false;
    }
    const size = signed.tree_size;
    this.row("checkpoint", true, fill(this.m.checkpointOk, { size }));
    const logRoot = typeof signed.root_hash === "string" && HEX64.test(signed.root_hash) ? fromHex(signed.root_hash) : null;
    const implied = level1.logPath && isCount(size) && level1.log.tree_size === size && level1.index < size
      ? rootFromInclusion(leafHash(level1.canonical), level1.index, size, level1.logPath) : null;
    const logOk = Boolean(logRoot && implied && eq(implied, logRoot));
    this.row("log", logOk, logOk ? this.m.logOk : this.m.logBad);
    if (logOk) this.row("proof", true, fill(this.m.proofOk, { leaf: level1.leafIndex, entry: level1.index, size }));
    return ok && logOk;
  }
}

const form = document.getElementById("verify-form");
const cfgEl = document.getElementById("verify-config");
if (form && cfgEl) new Page(form, JSON.parse(cfgEl.textContent)).start();
