// Canonical JSON exactly as crypto/canonical.py writes it (RFC 8785 style, integers only): keys sorted by UTF-16
// code units, no whitespace, only `"`, `\` and control characters escaped (\b \t \n \f \r short, the others as
// \u00xx in lowercase hex), integers within ±(2**53 - 1); floats, lone surrogates and non-JSON values refused.
// tests/tendering/test_receipt_canonical_js.py checks byte equality with the Python implementation.

export const MAX_SAFE_INTEGER = 2 ** 53 - 1;

export class CanonicalError extends Error {}

const SHORT = { 0x08: "\\b", 0x09: "\\t", 0x0a: "\\n", 0x0c: "\\f", 0x0d: "\\r", 0x22: '\\"', 0x5c: "\\\\" };

function escape(text, path) {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (SHORT[code] !== undefined) {
      out += SHORT[code];
    } else if (code < 0x20) {
      out += "\\u" + code.toString(16).padStart(4, "0");
    } else if (code >= 0xd800 && code <= 0xdbff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (next < 0xdc00 || next > 0xdfff) throw new CanonicalError(`${path}: lone surrogate U+${code.toString(16).toUpperCase()}`);
      out += text[i] + text[i + 1];
      i++;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      throw new CanonicalError(`${path}: lone surrogate U+${code.toString(16).toUpperCase()}`);
    } else {
      out += text[i];
    }
  }
  return out + '"';
}

// JavaScript compares strings by UTF-16 code units, which is the order RFC 8785 §3.2.3 prescribes.
function byCodeUnits(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

function write(value, path) {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new CanonicalError(`${path}: floating-point numbers are not allowed (${value})`);
    if (Math.abs(value) > MAX_SAFE_INTEGER) throw new CanonicalError(`${path}: integer ${value} is outside ±(2**53 - 1)`);
    return Object.is(value, -0) ? "0" : String(value);
  }
  if (typeof value === "bigint") {
    if (value > BigInt(MAX_SAFE_INTEGER) || value < -BigInt(MAX_SAFE_INTEGER)) {
      throw new CanonicalError(`${path}: integer ${value} is outside ±(2**53 - 1)`);
    }
    return value.toString();
  }
  if (typeof value === "string") return escape(value, path);
  if (Array.isArray(value)) return "[" + value.map((item, i) => write(item, `${path}[${i}]`)).join(",") + "]";
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype || (typeof value === "object" && Object.getPrototypeOf(value) === null)) {
    const keys = Object.keys(value).sort(byCodeUnits);
    return "{" + keys.map((k) => escape(k, path) + ":" + write(value[k], `${path}.${k}`)).join(",") + "}";
  }
  throw new CanonicalError(`${path}: ${typeof value} is not a JSON value`);
}

/** The canonical UTF-8 bytes of `value` (a parsed JSON value). Throws CanonicalError. */
export function canonicalize(value) {
  return new TextEncoder().encode(write(value, "$"));
}

/** The canonical text (before UTF-8 encoding). */
export function canonicalText(value) {
  return write(value, "$");
}

function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Parse UTF-8 `bytes` and insist that they are exactly the canonical form of what they encode (like
 * crypto.canonical.loads_canonical): floats, duplicate keys and any other spelling differ in some byte. */
export function loadsCanonical(bytes) {
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new CanonicalError("not UTF-8");
  }
  let value;
  try {
    value = parseStrict(text);
  } catch (err) {
    throw err instanceof CanonicalError ? err : new CanonicalError(`not JSON: ${err.message}`);
  }
  if (!bytesEqual(canonicalize(value), bytes)) throw new CanonicalError("bytes are valid JSON but not in canonical form");
  return value;
}

/** JSON.parse with Python's reading of receipts (crypto/canonical.py, json.loads with floats, NaN and duplicate
 * keys refused): numbers with a fraction or an exponent and repeated keys throw CanonicalError instead of being
 * silently read as integers or overwritten. */
const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

export function parseStrict(text) {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const fail = (what) => {
    throw new CanonicalError(`not JSON: ${what} at character ${i}`);
  };
  function value() {
    ws();
    const ch = text[i];
    if (ch === "{") {
      i++;
      const obj = Object.create(null);
      const seen = new Set();
      ws();
      if (text[i] === "}") {
        i++;
        return Object.assign({}, obj);
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a key");
        const key = string();
        if (seen.has(key)) throw new CanonicalError(`duplicate key ${JSON.stringify(key)}`);
        seen.add(key);
        ws();
        if (text[i] !== ":") fail("expected ':'");
        i++;
        const item = value();
        Object.defineProperty(obj, key, { value: item, enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          const out = {};
          for (const k of Object.keys(obj)) Object.defineProperty(out, k, { value: obj[k], enumerable: true, writable: true, configurable: true });
          return out;
        }
        fail("expected ',' or '}'");
      }
    }
    if (ch === "[") {
      i++;
      const arr = [];
      ws();
      if (text[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value());
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (ch === '"') return string();
    if (text.startsWith("true", i)) {
      i += 4;
      return true;
    }
    if (text.startsWith("false", i)) {
      i += 5;
      return false;
    }
    if (text.startsWith("null", i)) {
      i += 4;
      return null;
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m || m[0] === "" || m[0] === "-") fail("unexpected character");
    if (m[2] !== undefined || m[3] !== undefined) throw new CanonicalError(`floating-point number ${m[0]} is not allowed`);
    i += m[0].length;
    const n = Number(m[0]);
    if (!Number.isSafeInteger(n)) throw new CanonicalError(`integer ${m[0]} is outside ±(2**53 - 1)`);
    return n;
  }
  function string() {
    STRING.lastIndex = i;
    const m = STRING.exec(text);
    if (!m) fail("malformed string");
    i += m[0].length;
    return JSON.parse(m[0]);
  }
  const result = value();
  ws();
  if (i !== text.length) fail("extra data");
  return result;
}
