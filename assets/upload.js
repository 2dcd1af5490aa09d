// Resumable chunked upload with the tus 1.0 core protocol (https://tus.io/protocols/resumable-upload):
// POST <createUrl> with Upload-Length -> 201 + Location; PATCH <location> with Upload-Offset and
// Content-Type application/offset+octet-stream -> 204 + new Upload-Offset; HEAD <location> -> Upload-Offset
// to resume after a failure. XHR rather than fetch because fetch cannot report upload progress.

const TUS_VERSION = "1.0.0";
const DEFAULT_CHUNK = 8 * 1024 * 1024;
const DEFAULT_DELAYS = [500, 1000, 2000, 4000, 8000, 16000, 30000];
const RETRYABLE = new Set([408, 423, 429, 500, 502, 503, 504]);

export class TusError extends Error {
  /** status is the HTTP status (0 for a network failure); body the response text, if any. */
  constructor(message, { status = 0, body = "", cause } = {}) {
    super(message, { cause });
    this.name = "TusError";
    this.status = status;
    this.body = body;
  }
}

class Retry extends Error {}

function abortError(signal) {
  return signal?.reason ?? new DOMException("The upload was aborted", "AbortError");
}

function request(method, url, headers, { body = null, onUploadProgress, signal, timeout = 0 } = {}) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const xhr = new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    const cleanup = () => signal?.removeEventListener("abort", onAbort);
    xhr.open(method, url, true);
    xhr.timeout = timeout;
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, String(value));
    if (onUploadProgress) xhr.upload.onprogress = (event) => onUploadProgress(event.loaded);
    xhr.onload = () => {
      cleanup();
      resolve({ status: xhr.status, header: (name) => xhr.getResponseHeader(name), body: xhr.responseText });
    };
    const fail = (what) => () => {
      cleanup();
      reject(new Retry(`${method} ${url}: ${what}`));
    };
    xhr.onerror = fail("network error");
    xhr.ontimeout = fail("timed out");
    xhr.onabort = () => {
      cleanup();
      reject(abortError(signal));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    xhr.send(body);
  });
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function base64Utf8(text) {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Upload-Metadata: comma-separated "key base64(value)" pairs; keys ASCII without spaces or commas. */
export function encodeMetadata(metadata) {
  return Object.entries(metadata)
    .map(([key, value]) => {
      if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(key)) throw new TusError(`bad Upload-Metadata key ${JSON.stringify(key)}`);
      return value === null || value === undefined || value === "" ? key : `${key} ${base64Utf8(String(value))}`;
    })
    .join(",");
}

function offsetOf(response, what) {
  const raw = response.header("Upload-Offset");
  if (raw === null || !/^\d+$/.test(raw.trim())) {
    throw new TusError(`${what}: the server sent no valid Upload-Offset`, { status: response.status, body: response.body });
  }
  return Number(raw.trim());
}

function fatal(response, what) {
  return new TusError(`${what} failed with HTTP ${response.status}`, { status: response.status, body: response.body });
}

/**
 * Upload `blob` resumably. Options:
 *   protocol     "tus" (default: tus 1.0 core) or "platform" (the tendering API: POST {envelope, size} to
 *                /api/v1/tenders/<id>/uploads, PUT chunks with Content-Range to /api/v1/uploads/<id>, GET it
 *                to resume, POST …/complete at the end)
 *   createUrl    where to POST a new upload
 *   envelope     ("platform" only) the envelope's name, e.g. "bid"
 *   uploadUrl    an upload URL from an earlier attempt (e.g. saved by onCreated): resumes at the server's offset;
 *                if the server no longer knows it (404/410), a new upload is created at createUrl
 *   chunkSize    bytes per request (default 8 MiB); "platform" raises it to the upload's chunk_min and caps it at
 *                its chunk_max (every chunk but the last must have at least chunk_min bytes: 5 MiB on S3)
 *   headers      extra headers on every request (CSRF token, Authorization…)
 *   metadata     ("tus" only) object sent as Upload-Metadata on creation
 *   onProgress   (bytesAcknowledgedOrInFlight, total)
 *   onCreated    (url) once the server has created the upload, to persist for a later resume
 *   retryDelays  milliseconds to wait before each retry after a network error or a 408/423/429/5xx answer;
 *                the count resets whenever the server acknowledges new bytes (default up to 30 s, 7 tries)
 *   timeout      per-request timeout in ms (0 = none); signal  AbortSignal
 * Resolves to {url, size, status, body, header(name)} from the request that completed the upload (for
 * "platform", the answer to …/complete, whose JSON body has the server's sha256).
 */
export async function tusUpload(blob, options = {}) {
  const {
    createUrl,
    chunkSize = DEFAULT_CHUNK,
    headers = {},
    onProgress,
    onCreated,
    retryDelays = DEFAULT_DELAYS,
    timeout = 0,
    signal,
    protocol = "tus",
  } = options;
  if (!(blob instanceof Blob)) throw new TusError("tusUpload expects a Blob");
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new TusError(`bad chunkSize ${chunkSize}`);
  if (!createUrl && !options.uploadUrl) throw new TusError("createUrl (or uploadUrl) is required");
  const makeProtocol = PROTOCOLS[protocol];
  if (!makeProtocol) throw new TusError(`unknown upload protocol ${JSON.stringify(protocol)}`);
  const base = typeof location !== "undefined" ? location.href : undefined;
  const size = blob.size;
  const io = { size, headers, signal, timeout, base, options };
  const proto = makeProtocol(io);
  let url = options.uploadUrl ? new URL(options.uploadUrl, base).href : null;
  let offset = null; // null: unknown, ask the server
  let chunk = chunkSize; // the server may bound it ("platform": chunk_min / chunk_max of the upload)
  const fitChunk = (state) => {
    if (Number.isSafeInteger(state.chunkMax) && state.chunkMax > 0) chunk = Math.min(chunk, state.chunkMax);
    if (Number.isSafeInteger(state.chunkMin) && state.chunkMin > 0) chunk = Math.max(chunk, state.chunkMin);
  };
  let failures = 0;
  let last = null;
  let finished = false;

  for (;;) {
    try {
      if (url === null) {
        const created = await proto.create(new URL(createUrl, base).href);
        ({ url, offset, response: last } = created);
        fitChunk(created);
        if (onCreated) onCreated(url);
      }
      if (offset === null) {
        const state = await proto.resync(url);
        if (state === null) {
          if (!createUrl) throw new TusError(`the server no longer has the upload at ${url}`, { status: 404 });
          url = null; // the server forgot it (expired): start again
          continue;
        }
        if (state.offset > size) throw new TusError(`the server reports offset ${state.offset} beyond ${size} bytes`);
        ({ offset, response: last } = state);
        fitChunk(state);
        continue;
      }
      if (onProgress) onProgress(offset, size);
      if (offset === size) {
        if (finished || !proto.finish) break;
        last = await proto.finish(url);
        finished = true;
        break;
      }
      const start = offset;
      const end = Math.min(size, offset + chunk);
      const sent = await proto.send(url, blob, start, end, onProgress && ((loaded) => onProgress(start + Math.min(loaded, end - start), size)));
      if (sent.offset === null || sent.offset <= start || sent.offset > end) {
        // a conflict, no progress, or a claim beyond what was sent: ask the server where it stands
        throw new Retry(`chunk ${start}-${end} not acknowledged (offset ${sent.offset}, HTTP ${sent.response.status})`);
      }
      offset = sent.offset;
      failures = 0;
      last = sent.response;
    } catch (err) {
      if (!(err instanceof Retry)) throw err;
      if (failures >= retryDelays.length) {
        throw new TusError(`upload failed after ${failures} retries: ${err.message}`, { cause: err });
      }
      await sleep(retryDelays[failures], signal);
      failures += 1;
      if (url !== null) offset = null; // after any failure, resume from what the server actually holds
    }
  }
  return { url, size, status: last?.status ?? 0, body: last?.body ?? "", header: (name) => last?.header(name) ?? null };
}

function tus({ size, headers, signal, timeout, options }) {
  const common = { ...headers, "Tus-Resumable": TUS_VERSION };
  return {
    async create(target) {
      const extra = { "Upload-Length": size };
      if (options.metadata) extra["Upload-Metadata"] = encodeMetadata(options.metadata);
      const response = await request("POST", target, { ...common, ...extra }, { signal, timeout });
      if (response.status !== 201) {
        if (RETRYABLE.has(response.status)) throw new Retry(`create: HTTP ${response.status}`);
        throw fatal(response, "creating the upload");
      }
      const location = response.header("Location");
      if (!location) throw new TusError("the server created the upload but sent no Location", { status: 201 });
      return { url: new URL(location, target).href, offset: 0, response };
    },
    async resync(url) {
      const response = await request("HEAD", url, { ...common, "Cache-Control": "no-store" }, { signal, timeout });
      if (response.status === 404 || response.status === 410 || response.status === 403) return null;
      if (response.status !== 200 && response.status !== 204) {
        if (RETRYABLE.has(response.status)) throw new Retry(`HEAD: HTTP ${response.status}`);
        throw fatal(response, "asking the server for the upload offset");
      }
      const length = response.header("Upload-Length");
      if (length !== null && Number(length) !== size) {
        throw new TusError(`the upload at ${url} is ${length} bytes long, not ${size}`, { status: response.status });
      }
      return { offset: offsetOf(response, "HEAD"), response };
    },
    async send(url, blob, start, end, onUploadProgress) {
      const response = await request(
        "PATCH",
        url,
        { ...common, "Upload-Offset": start, "Content-Type": "application/offset+octet-stream" },
        { body: blob.slice(start, end), signal, timeout, onUploadProgress },
      );
      if (response.status === 204 || response.status === 200) return { offset: offsetOf(response, "PATCH"), response };
      if (response.status === 409) return { offset: null, response };
      if (RETRYABLE.has(response.status)) throw new Retry(`PATCH: HTTP ${response.status}`);
      if (response.status === 404 || response.status === 410) {
        throw fatal(response, "uploading (the server no longer has this upload)");
      }
      throw fatal(response, "uploading");
    },
  };
}

function json(response, what) {
  try {
    return JSON.parse(response.body);
  } catch {
    throw new TusError(`${what}: the server's answer is not JSON`, { status: response.status, body: response.body });
  }
}

function storedOffset(response, what) {
  const offset = json(response, what).offset;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new TusError(`${what}: no valid offset in the answer`, { status: response.status, body: response.body });
  }
  return offset;
}

/** The upload's chunk bounds: every chunk but the last has at least chunk_min bytes (5 MiB on S3 storage). */
function chunkLimits(response) {
  const state = json(response, "upload state");
  return { chunkMin: state.chunk_min, chunkMax: state.chunk_max };
}

function platform({ size, headers, signal, timeout, options }) {
  const common = { Accept: "application/json", ...headers };
  const retryOrFail = (response, what) => {
    if (RETRYABLE.has(response.status)) return new Retry(`${what}: HTTP ${response.status}`);
    return fatal(response, what);
  };
  return {
    async create(target) {
      if (!options.envelope) throw new TusError('the "platform" protocol needs options.envelope');
      const body = JSON.stringify({ envelope: options.envelope, size });
      const response = await request("POST", target, { ...common, "Content-Type": "application/json" }, { body, signal, timeout });
      if (response.status !== 201) throw retryOrFail(response, "creating the upload");
      const id = json(response, "creating the upload").id;
      if (typeof id !== "string" || !id) throw new TusError("the server created the upload but sent no id", { status: 201 });
      // POST /api/v1/tenders/<tender>/uploads creates /api/v1/uploads/<id>
      const at = new URL(target);
      if (!/\/tenders\/[^/]+\/uploads\/?$/.test(at.pathname)) throw new TusError(`unexpected createUrl ${target}`);
      at.pathname = at.pathname.replace(/\/tenders\/[^/]+\/uploads\/?$/, `/uploads/${encodeURIComponent(id)}`);
      at.search = "";
      const url = at.href;
      return { url, offset: storedOffset(response, "creating the upload"), response, ...chunkLimits(response) };
    },
    async resync(url) {
      const response = await request("GET", url, { ...common, "Cache-Control": "no-store" }, { signal, timeout });
      if (response.status === 404 || response.status === 410) return null;
      if (response.status !== 200) throw retryOrFail(response, "asking the server for the upload offset");
      const state = json(response, "GET upload");
      if (state.size !== undefined && state.size !== size) {
        throw new TusError(`the upload at ${url} is ${state.size} bytes long, not ${size}`, { status: 200 });
      }
      return { offset: storedOffset(response, "GET upload"), response, ...chunkLimits(response) };
    },
    async send(url, blob, start, end, onUploadProgress) {
      const response = await request(
        "PUT",
        url,
        { ...common, "Content-Range": `bytes ${start}-${end - 1}/${size}`, "Content-Type": "application/octet-stream" },
        { body: blob.slice(start, end), signal, timeout, onUploadProgress },
      );
      if (response.status === 200) return { offset: storedOffset(response, "PUT chunk"), response };
      if (response.status === 409) return { offset: null, response }; // wrong offset: GET tells where to resume
      throw retryOrFail(response, "uploading");
    },
    async finish(url) {
      for (let attempt = 0; ; attempt++) {
        let response;
        try {
          response = await request("POST", `${url}/complete`, common, { signal, timeout });
        } catch (err) {
          if (!(err instanceof Retry) || attempt >= (options.retryDelays ?? DEFAULT_DELAYS).length) throw err;
          await sleep((options.retryDelays ?? DEFAULT_DELAYS)[attempt], signal);
          continue;
        }
        if (response.status === 200) return response;
        const err = retryOrFail(response, "completing the upload");
        if (!(err instanceof Retry) || attempt >= (options.retryDelays ?? DEFAULT_DELAYS).length) {
          throw err instanceof Retry ? fatal(response, "completing the upload") : err;
        }
        await sleep((options.retryDelays ?? DEFAULT_DELAYS)[attempt], signal);
      }
    },
  };
}

const PROTOCOLS = { tus, platform };
