// A minimal POSIX ustar/PAX tar writer for the bid envelope (see crypto/envelope.py for the format).
//
// The archive is assembled as a Blob from small header arrays and the caller's own Blobs/Files, so a
// 1 GiB attachment is never copied into memory: the browser reads it from disk when the Blob is streamed.

const BLOCK = 512;
const RECORD = 20 * BLOCK; // POSIX pads the archive to whole 10240-byte records, as GNU tar and Python do
const NAME_FIELD = 100;
const MAX_OCTAL_SIZE = 0o77777777777; // 11 octal digits: 8 GiB - 1; larger sizes go in a PAX record
const encoder = new TextEncoder();

export const FORM_NAME = "form.json";
export const FILES_DIR = "files/";
export const MAX_FORM_BYTES = 1024 * 1024;

export class EnvelopeError extends Error {
  constructor(message) {
    super(message);
    this.name = "EnvelopeError";
  }
}

/** The same rule as crypto.envelope._check_name: relative, no empty/./.. components, no backslash or NUL. */
export function checkMemberName(name) {
  if (typeof name !== "string") throw new EnvelopeError(`member name must be a string, got ${typeof name}`);
  if (name.startsWith("./")) name = name.slice(2);
  const parts = name.split("/");
  if (
    !name ||
    name.startsWith("/") ||
    name.includes("\\") ||
    name.includes("\0") ||
    parts.some((p) => p === "" || p === "." || p === "..")
  ) {
    throw new EnvelopeError(`unsafe member name ${JSON.stringify(name)}`);
  }
  return name;
}

function writeString(block, offset, length, text) {
  const bytes = encoder.encode(text);
  if (bytes.length > length) throw new EnvelopeError(`tar field overflow: ${JSON.stringify(text)}`);
  block.set(bytes, offset);
}

function writeOctal(block, offset, length, value) {
  // length-1 zero-padded octal digits followed by NUL, as ustar expects.
  writeString(block, offset, length, value.toString(8).padStart(length - 1, "0") + "\0");
}

function isAscii(text) {
  return /^[\x20-\x7e]*$/.test(text);
}

/** One PAX record "<len> <key>=<value>\n", where <len> counts the whole record including its own digits. */
function paxRecord(key, value) {
  const body = encoder.encode(` ${key}=${value}\n`).length;
  let length = body + 1;
  while (String(length).length + body !== length) length = String(length).length + body;
  return `${length} ${key}=${value}\n`;
}

function header({ name, size, mtime, type }) {
  const block = new Uint8Array(BLOCK);
  writeString(block, 0, NAME_FIELD, name);
  writeOctal(block, 100, 8, 0o644); // mode
  writeOctal(block, 108, 8, 0); // uid
  writeOctal(block, 116, 8, 0); // gid
  writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, mtime);
  block.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  writeString(block, 156, 1, type);
  writeString(block, 257, 6, "ustar\0");
  writeString(block, 263, 2, "00");
  let sum = 0;
  for (const byte of block) sum += byte;
  writeString(block, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return block;
}

function padding(size) {
  const rest = size % BLOCK;
  return rest ? new Uint8Array(BLOCK - rest) : null;
}

/** An ASCII stand-in for the ustar name field when the real name travels in a PAX "path" record. */
function fallbackName(name) {
  return name.replace(/[^\x20-\x7e]/g, "_").slice(-NAME_FIELD);
}

/**
 * The header blocks of one regular file member: a PAX extended header first when the name is not plain
 * ASCII or longer than 100 bytes, or the size does not fit the octal field.
 */
export function memberHeaders(name, size, mtime) {
  if (!Number.isSafeInteger(size) || size < 0) throw new EnvelopeError(`bad size ${size} for ${name}`);
  const records = [];
  const nameBytes = encoder.encode(name).length;
  if (!isAscii(name) || nameBytes > NAME_FIELD) records.push(paxRecord("path", name));
  if (size > MAX_OCTAL_SIZE) records.push(paxRecord("size", String(size)));
  const parts = [];
  if (records.length) {
    const pax = encoder.encode(records.join(""));
    // Python's tarfile and GNU tar name the extended header this way; readers ignore the name.
    parts.push(header({ name: "././@PaxHeader", size: pax.length, mtime, type: "x" }), pax);
    const pad = padding(pax.length);
    if (pad) parts.push(pad);
  }
  parts.push(
    header({
      name: records.length ? fallbackName(name) : name,
      size: Math.min(size, MAX_OCTAL_SIZE),
      mtime,
      type: "0",
    }),
  );
  return parts;
}

/** JSON with object keys sorted at every level, like json.dumps(sort_keys=True) on the Python side. */
export function canonicalJSON(value) {
  return JSON.stringify(value, (_key, v) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]));
    }
    return v;
  });
}

function asBlob(data, name) {
  if (data instanceof Blob) return data;
  if (typeof data === "string") return new Blob([encoder.encode(data)]);
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return new Blob([data]);
  throw new EnvelopeError(`file ${JSON.stringify(name)}: data must be a Blob/File, ArrayBuffer, typed array or string`);
}

/** Normalise the `files` argument (File[], FileList, or {name, data}[]) into [{name, blob}]. */
function normaliseFiles(files) {
  const out = [];
  for (const item of Array.from(files ?? [])) {
    if (typeof File !== "undefined" && item instanceof File) {
      out.push({ name: item.name, blob: item });
    } else if (item && typeof item === "object" && "name" in item && "data" in item) {
      out.push({ name: item.name, blob: asBlob(item.data, item.name) });
    } else {
      throw new EnvelopeError("each file must be a File or an object {name, data}");
    }
  }
  return out;
}

/**
 * Build the envelope plaintext: `form.json` first (when a form is given), then `files/<name>` for each file.
 *
 * Names are NFC-normalised (macOS hands out NFD names) and checked like crypto.envelope does; duplicates
 * are rejected. Returns a Blob of type application/x-tar whose size is known, for sealing with progress.
 */
export function buildEnvelope({ form = null, files = [], mtime } = {}) {
  const when = mtime === undefined ? Math.floor(Date.now() / 1000) : Math.floor(mtime);
  if (!Number.isSafeInteger(when) || when < 0) throw new EnvelopeError(`bad mtime ${mtime}`);
  const parts = [];
  let size = 0;
  const add = (name, blob) => {
    for (const part of memberHeaders(name, blob.size, when)) {
      parts.push(part);
      size += part.byteLength;
    }
    parts.push(blob);
    size += blob.size;
    const pad = padding(blob.size);
    if (pad) {
      parts.push(pad);
      size += pad.length;
    }
  };

  if (form !== null && form !== undefined) {
    if (typeof form !== "object" || Array.isArray(form)) throw new EnvelopeError("form must be a JSON object");
    const data = encoder.encode(canonicalJSON(form));
    if (data.length > MAX_FORM_BYTES) throw new EnvelopeError("form.json is larger than 1 MiB");
    add(FORM_NAME, new Blob([data]));
  }
  const seen = new Set();
  for (const { name, blob } of normaliseFiles(files)) {
    const member = FILES_DIR + checkMemberName(String(name).normalize("NFC"));
    if (seen.has(member)) throw new EnvelopeError(`file ${JSON.stringify(name)} appears twice`);
    seen.add(member);
    add(member, blob);
  }
  // End of archive: two zero blocks, then zero padding to a whole record.
  const end = 2 * BLOCK + ((RECORD - ((size + 2 * BLOCK) % RECORD)) % RECORD);
  parts.push(new Uint8Array(end));
  return new Blob(parts, { type: "application/x-tar" });
}
