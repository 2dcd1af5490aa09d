// Bid sealing in the browser: build the envelope tar, seal it as an age v1 file, upload it resumably.
//
// Bundled to app/static/dist/seal.js (an ES module that also sets window.PlatformSeal). Nothing leaves the
// machine unsealed: uploadSealed() refuses anything that does not start with the age v1 header line.

import { sha256 } from "@noble/hashes/sha2.js";
import { Encrypter } from "age-encryption";

import { EnvelopeError, buildEnvelope, canonicalJSON, checkMemberName } from "./tar.js";
import { TusError, tusUpload } from "./upload.js";

export { EnvelopeError, TusError, buildEnvelope, canonicalJSON, checkMemberName };

export const AGE_MAGIC = "age-encryption.org/v1\n";
export const CHUNK_SIZE = 64 * 1024; // age STREAM chunk
const TAG_SIZE = 16;
// Native X25519 recipients only: the opening side (crypto.age) decrypts nothing else.
const X25519_RECIPIENT = /^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/;
const PART_BYTES = 8 * 1024 * 1024;

export class SealError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "SealError";
  }
}

/** Size of the age payload for `plaintextSize` bytes: 64 KiB chunks, each with a 16-byte tag, at least one. */
export function payloadSize(plaintextSize) {
  return plaintextSize + TAG_SIZE * Math.max(1, Math.ceil(plaintextSize / CHUNK_SIZE));
}

function checkRecipients(recipients) {
  if (!Array.isArray(recipients) || recipients.length === 0) {
    throw new SealError("at least one recipient (age1…) is required");
  }
  const seen = new Set();
  for (const recipient of recipients) {
    const text = typeof recipient === "string" ? recipient.trim() : recipient;
    if (typeof text !== "string" || !X25519_RECIPIENT.test(text)) {
      throw new SealError(`not an X25519 age recipient: ${JSON.stringify(recipient)}`);
    }
    seen.add(text);
  }
  return [...seen];
}

function asStream(plaintext) {
  if (plaintext instanceof Blob) return { stream: plaintext.stream(), total: plaintext.size };
  if (plaintext instanceof ReadableStream) return { stream: plaintext, total: null };
  if (plaintext instanceof ArrayBuffer || ArrayBuffer.isView(plaintext)) {
    const blob = new Blob([plaintext]);
    return { stream: blob.stream(), total: blob.size };
  }
  throw new SealError("plaintext must be a Blob, a ReadableStream or bytes");
}

/**
 * Seal `plaintext` (Blob, ReadableStream of Uint8Array, or bytes) to the age recipients, streaming in 64 KiB
 * chunks so memory stays flat for any size.
 *
 * onProgress(doneBytes, totalBytes) reports plaintext bytes consumed (totalBytes is null for a stream of
 * unknown length unless options.total is given). options.signal (AbortSignal) cancels.
 * options.storage: "auto" (default: on disk in the origin-private file system when available, else memory),
 * "disk" (OPFS or fail) or "memory". Resolves to a Blob holding the binary age file; an on-disk one is a
 * File named sealed-…age: call discardSealed(blob) once it is uploaded, or clearSealedFiles() to tidy up.
 */
export async function sealEnvelope(plaintext, recipients, onProgress, options = {}) {
  const list = checkRecipients(recipients);
  const { stream, total: knownTotal } = asStream(plaintext);
  const total = knownTotal ?? options.total ?? null;
  const signal = options.signal;
  signal?.throwIfAborted();

  const encrypter = new Encrypter();
  for (const recipient of list) encrypter.addRecipient(recipient);

  let done = 0;
  if (onProgress) onProgress(0, total);
  const counter = new TransformStream({
    transform(chunk, controller) {
      done += chunk.byteLength;
      if (total !== null && done > total) {
        controller.error(new SealError(`plaintext is longer than the declared ${total} bytes`));
        return;
      }
      controller.enqueue(chunk);
      if (onProgress) onProgress(done, total);
    },
  });
  const sealed = await encrypter.encrypt(stream.pipeThrough(counter));
  let outBytes = 0;
  const measured = sealed.pipeThrough(
    new TransformStream({
      transform(chunk, controller) {
        outBytes += chunk.byteLength;
        controller.enqueue(chunk);
      },
    }),
  );

  const sink = options.storage === "memory" ? null : await openDiskSink();
  if (options.storage === "disk" && sink === null) throw new SealError("no origin-private file system to seal into");
  let result;
  try {
    result = sink ? await collectOnDisk(measured, sink, signal) : await collectInMemory(measured, signal);
  } catch (err) {
    signal?.throwIfAborted();
    if (err instanceof SealError) throw err;
    throw new SealError(`sealing failed: ${err}`, { cause: err });
  }
  if (total !== null && done !== total) {
    await discardSealed(result);
    throw new SealError(`read ${done} plaintext bytes but ${total} were declared`);
  }
  // The age header is written before the payload: its size is what remains after the payload.
  const expected = sealed.size(done);
  if (outBytes !== expected || result.size !== expected) {
    await discardSealed(result);
    throw new SealError(`sealed ${result.size} bytes, expected ${expected}`);
  }
  return result;
}

// Where sealed files wait for upload when the browser has an origin-private file system (OPFS): on disk, so a
// 1 GiB bid needs neither 1 GiB of RAM nor the browser's blob store (which is memory-only in private windows).
const DISK_DIR = "platform-sealed";

async function openDiskSink() {
  if (typeof navigator === "undefined" || !navigator.storage?.getDirectory) return null;
  try {
    const root = await navigator.storage.getDirectory();
    const dir = await root.getDirectoryHandle(DISK_DIR, { create: true });
    const random = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0"));
    const name = `sealed-${Date.now()}-${random.join("")}.age`;
    const handle = await dir.getFileHandle(name, { create: true });
    return { dir, name, handle, writable: await handle.createWritable() };
  } catch {
    return null; // unsupported here (e.g. a private window in some browsers): fall back to memory
  }
}

async function collectOnDisk(stream, sink, signal) {
  try {
    await stream.pipeTo(sink.writable, signal ? { signal } : {});
  } catch (err) {
    await sink.dir.removeEntry(sink.name).catch(() => {});
    throw err;
  }
  return sink.handle.getFile();
}

async function collectInMemory(stream, signal) {
  // Gathered into Blobs of PART_BYTES so the browser can move the ciphertext out of the JS heap.
  const blobs = [];
  let pending = [];
  let pendingBytes = 0;
  const reader = stream.getReader();
  const abort = () => reader.cancel(signal.reason).catch(() => {});
  signal?.addEventListener("abort", abort, { once: true });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      signal?.throwIfAborted();
      pending.push(value);
      pendingBytes += value.byteLength;
      if (pendingBytes >= PART_BYTES) {
        blobs.push(new Blob(pending));
        pending = [];
        pendingBytes = 0;
      }
    }
  } finally {
    signal?.removeEventListener("abort", abort);
  }
  if (pending.length) blobs.push(new Blob(pending));
  return new Blob(blobs, { type: "application/octet-stream" });
}

/** Delete the on-disk copy behind a Blob returned by sealEnvelope (after upload); a no-op for in-memory ones. */
export async function discardSealed(blob) {
  if (typeof File === "undefined" || !(blob instanceof File) || !blob.name.startsWith("sealed-")) return;
  if (!navigator.storage?.getDirectory) return;
  try {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(DISK_DIR);
    await dir.removeEntry(blob.name);
  } catch {
    // already gone
  }
}

/** Delete every sealed file this origin left on disk (e.g. abandoned attempts); returns how many. */
export async function clearSealedFiles() {
  if (typeof navigator === "undefined" || !navigator.storage?.getDirectory) return 0;
  let count = 0;
  try {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(DISK_DIR);
    for await (const name of dir.keys()) {
      await dir.removeEntry(name);
      count += 1;
    }
  } catch {
    // no directory yet
  }
  return count;
}

/** Lowercase hex SHA-256 of a Blob (streamed), e.g. to compare with the ciphertext hash in a receipt. */
export async function sha256Hex(blob, onProgress) {
  if (!(blob instanceof Blob)) throw new SealError("sha256Hex expects a Blob");
  const hash = sha256.create();
  const reader = blob.stream().getReader();
  let done = 0;
  for (;;) {
    const { value, done: finished } = await reader.read();
    if (finished) break;
    hash.update(value);
    done += value.byteLength;
    if (onProgress) onProgress(done, blob.size);
  }
  return Array.from(hash.digest(), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** True when the Blob starts with the binary age v1 header line (what the server's parse_header expects). */
export async function isAgeFile(blob) {
  const head = new Uint8Array(await blob.slice(0, AGE_MAGIC.length).arrayBuffer());
  return new TextDecoder().decode(head) === AGE_MAGIC;
}

/**
 * Upload a sealed bid with the resumable protocol in upload.js (tus 1.0 core); see tusUpload for options.
 * Refuses anything that does not start with the age v1 header line, so plaintext can never be sent by mistake.
 */
export async function uploadSealed(blob, options) {
  if (!(blob instanceof Blob)) throw new SealError("uploadSealed expects a Blob");
  if (!(await isAgeFile(blob))) throw new SealError("refusing to upload something that is not an age v1 file");
  return tusUpload(blob, options);
}

/**
 * Convenience: build, seal and return {sealed, plaintextSize, sha256}. onProgress(phase, done, total) with
 * phase "seal" then "hash".
 */
export async function sealBid({ form, files, recipients, onProgress, signal } = {}) {
  const plaintext = buildEnvelope({ form, files });
  const sealed = await sealEnvelope(plaintext, recipients, onProgress && ((d, t) => onProgress("seal", d, t)), {
    signal,
  });
  const digest = await sha256Hex(sealed, onProgress && ((d, t) => onProgress("hash", d, t)));
  return { sealed, plaintextSize: plaintext.size, sha256: digest };
}

const api = {
  AGE_MAGIC,
  CHUNK_SIZE,
  EnvelopeError,
  SealError,
  TusError,
  buildEnvelope,
  canonicalJSON,
  checkMemberName,
  clearSealedFiles,
  discardSealed,
  isAgeFile,
  payloadSize,
  sealBid,
  sealEnvelope,
  sha256Hex,
  uploadSealed,
};

if (typeof window !== "undefined") {
  window.PlatformSeal = Object.freeze(api);
  window.dispatchEvent(new Event("platformseal:ready"));
}

export default api;
