// The bid page: read the form, build each envelope, seal it here, upload the ciphertext, submit, show the receipt.
// Loaded by bid.html after its #bid-config block. The plaintext never leaves the page.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("bid-config").textContent);
  var M = cfg.messages;
  var form = document.getElementById("bid-form");
  var submitButton = document.getElementById("seal-submit");
  var cancelButton = document.getElementById("seal-cancel");
  var statusEl = document.getElementById("bid-status");
  var errorEl = document.getElementById("bid-error");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var busy = false;
  var controller = null;

  function fmt(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? String(values[key]) : all; });
  }
  function setStatus(text) { statusEl.textContent = text; }
  function showError(text) { errorEl.textContent = text; errorEl.hidden = !text; }
  function fieldError(name, text) {
    var el = form.querySelector('[data-error-for="' + CSS.escape(name) + '"]');
    if (el) el.textContent = text || "";
  }
  function progress(envelope, kind, done, total) {
    var box = form.querySelector('[data-progress-for="' + CSS.escape(envelope) + '"]');
    if (!box) return;
    var bar = box.querySelector('progress[data-kind="' + kind + '"]');
    bar.value = total ? Math.floor((done / total) * 100) : 0;
  }
  function progressText(envelope, text) {
    var box = form.querySelector('[data-progress-for="' + CSS.escape(envelope) + '"]');
    if (box) box.querySelector('[data-kind="text"]').textContent = text;
  }

  function sealReady() {
    if (window.PlatformSeal) return Promise.resolve(window.PlatformSeal);
    setStatus(M.loading);
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () { reject(new Error(M.notLoaded)); }, 60000);
      window.addEventListener("platformseal:ready", function () { clearTimeout(timer); resolve(window.PlatformSeal); }, { once: true });
    });
  }

  // The bid form as JSON typed by the tender's schema; errors are shown next to the fields.
  function readForm() {
    var values = {};
    var ok = true;
    form.querySelectorAll("[data-field]").forEach(function (input) {
      var name = input.dataset.field;
      var widget = input.dataset.widget;
      var error = "";
      fieldError(name, "");
      if (widget === "boolean") { values[name] = input.checked; return; }
      var raw = input.value.trim();
      if (raw === "") {
        if (input.required) error = M.required;
      } else if (widget === "integer") {
        var n = Number(raw);
        if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n)) error = M.integer;
        else if (input.dataset.minimum !== undefined && n < Number(input.dataset.minimum)) error = fmt(M.min, { n: input.dataset.minimum });
        else if (input.dataset.maximum !== undefined && n > Number(input.dataset.maximum)) error = fmt(M.max, { n: input.dataset.maximum });
        else values[name] = n;
      } else if (widget === "money") {
        // typed in yuan (元, at most two decimals), sealed as an integer of fen (分); bounds are in fen
        var fen = window.PlatformMoney.parseYuan(raw);
        var lo = input.dataset.minimum, hi = input.dataset.maximum;
        if (fen === null) error = M.money;
        else if (lo !== undefined && fen < Number(lo)) error = fmt(M.moneyMin, { n: window.PlatformMoney.formatYuan(Number(lo)) });
        else if (hi !== undefined && fen > Number(hi)) error = fmt(M.moneyMax, { n: window.PlatformMoney.formatYuan(Number(hi)) });
        else values[name] = fen;
      } else if (widget === "string") {
        var length = Array.from(raw).length;
        if (input.dataset.minLength !== undefined && length < Number(input.dataset.minLength)) error = fmt(M.minLength, { n: input.dataset.minLength });
        else if (input.dataset.maxLength !== undefined && length > Number(input.dataset.maxLength)) error = fmt(M.maxLength, { n: input.dataset.maxLength });
        else values[name] = raw;
      } else if (widget === "enum") {
        values[name] = JSON.parse(raw);
      } else {
        try { values[name] = JSON.parse(raw); } catch (e) { error = M.json; }
      }
      if (error) { ok = false; fieldError(name, error); }
    });
    return ok ? values : null;
  }

  // The capital amount (大写金额) under a money field, as the bidder types.
  function showCapital(input) {
    var out = form.querySelector('[data-capital-for="' + CSS.escape(input.dataset.field) + '"]');
    if (!out) return;
    var fen = window.PlatformMoney.parseYuan(input.value);
    var text = fen === null ? "" : window.PlatformMoney.capital(fen);
    out.textContent = text ? fmt(M.capital, { text: text }) : "";
  }
  form.querySelectorAll('[data-widget="money"]').forEach(function (input) {
    input.addEventListener("input", function () { showCapital(input); });
    showCapital(input);
  });

  function problemDetail(body) {
    try { var p = JSON.parse(body); return p.detail || p.title || ""; } catch (e) { return ""; }
  }

  function explain(err) {
    if (err && err.name === "AbortError") return M.cancelled;
    var status = err && typeof err.status === "number" ? err.status : null;
    var detail = err && err.body ? problemDetail(err.body) : "";
    if (status === 409 && /deadline/i.test(detail)) return M.deadline;
    if (status === 401) return M.signedOut;
    if (status === 403) return M.forbidden + (detail ? " (" + detail + ")" : "");
    if (status === 0 || (err && err.name === "TusError" && /retries/.test(err.message))) return M.network;
    return M.failed + " " + (detail || (err && err.message) || String(err));
  }

  async function submitWithRetry(uploads, signal) {
    var delays = [1000, 2000, 4000, 8000, 15000];
    for (var attempt = 0; ; attempt++) {
      var response;
      try {
        response = await fetch(cfg.submit_url, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
          body: JSON.stringify({ uploads: uploads }),
          signal: signal,
        });
      } catch (e) {
        if (signal.aborted || attempt >= delays.length) throw e.name === "AbortError" ? e : Object.assign(new Error(M.network), { status: 0 });
        await new Promise(function (r) { setTimeout(r, delays[attempt]); });
        continue; // resubmitting the same uploads is safe: the server answers with the same receipt
      }
      var body = await response.text();
      if (response.status === 201 || response.status === 200) return JSON.parse(body);
      if (response.status >= 500 && attempt < delays.length) {
        await new Promise(function (r) { setTimeout(r, delays[attempt]); });
        continue;
      }
      throw Object.assign(new Error("HTTP " + response.status), { status: response.status, body: body });
    }
  }

  // The receipt's instant (UTC in the signed document) in the center's zone, named, as every page shows times.
  function centerTime(iso) {
    var when = new Date(iso);
    if (isNaN(when.getTime())) return iso;
    var parts = {};
    new Intl.DateTimeFormat("en-CA", {
      timeZone: cfg.zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
    }).formatToParts(when).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute + ":" +
      parts.second + " (" + cfg.zone + ")";
  }

  function showReceipt(version, hashes) {
    var receipt = version.receipt;
    var text = JSON.stringify(receipt, null, 2);
    document.getElementById("receipt-json").textContent = text;
    document.getElementById("receipt-summary").textContent = fmt(M.summary, { number: version.number, at: centerTime(version.received_at) });
    var listed = {};
    ((receipt.payload && receipt.payload.envelopes) || []).forEach(function (e) { listed[e.name] = e.sha256; });
    var names = Object.keys(hashes);
    var matches = names.length === Object.keys(listed).length && names.every(function (n) { return listed[n] === hashes[n]; });
    var check = document.getElementById("receipt-check");
    check.textContent = matches ? M.receiptOk : M.receiptBad;
    check.className = matches ? "ok" : "flash error";
    var link = document.getElementById("receipt-download");
    link.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    link.download = cfg.reference + "-receipt-" + version.number + ".json";
    var section = document.getElementById("receipt");
    section.hidden = false;
    section.scrollIntoView({ block: "start" });
  }

  async function run() {
    showError("");
    var values = readForm();
    var ok = values !== null;
    var own = document.getElementById("own-recipient").value.trim();
    fieldError("recipient", "");
    if (own && !/^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/.test(own)) { fieldError("recipient", M.recipient); ok = false; }
    var files = {};
    cfg.envelopes.forEach(function (env) {
      var input = form.querySelector('input[data-envelope="' + CSS.escape(env.name) + '"]');
      files[env.name] = Array.from(input.files || []);
      fieldError("envelope:" + env.name, "");
      if (!env.form && files[env.name].length === 0) { fieldError("envelope:" + env.name, M.noFiles); ok = false; }
    });
    if (!ok) { showError(M.fix); return; }
    var S = await sealReady();
    var recipients = [cfg.recipient].concat(own ? [own] : []);
    controller = new AbortController();
    var signal = controller.signal;
    var uploads = {};
    var hashes = {};
    for (var i = 0; i < cfg.envelopes.length; i++) {
      var env = cfg.envelopes[i];
      var name = env.name;
      progress(name, "seal", 0, 1);
      progress(name, "upload", 0, 1);
      setStatus(fmt(M.sealing, { name: (cfg.labels && cfg.labels[name]) || name }));
      progressText(name, fmt(M.sealing, { name: (cfg.labels && cfg.labels[name]) || name }));
      var plaintext = S.buildEnvelope({ form: env.form ? values : null, files: files[name] });
      var sealed = await S.sealEnvelope(plaintext, recipients, function (done, total) { progress(name, "seal", done, total); }, { signal: signal });
      try {
        if (sealed.size > cfg.max_bid_size) throw new Error(fmt(M.tooLarge, { n: cfg.max_bid_size }));
        hashes[name] = await S.sha256Hex(sealed);
        setStatus(fmt(M.uploading, { name: (cfg.labels && cfg.labels[name]) || name }));
        progressText(name, fmt(M.uploading, { name: (cfg.labels && cfg.labels[name]) || name }));
        var result = await S.uploadSealed(sealed, {
          protocol: "platform",
          createUrl: cfg.upload_url,
          envelope: name,
          chunkSize: cfg.chunk_size,
          headers: { "X-CSRFToken": csrf },
          timeout: 120000,
          signal: signal,
          onProgress: function (done, total) { progress(name, "upload", done, total); },
        });
        var stored = JSON.parse(result.body);
        if (stored.sha256 && stored.sha256 !== hashes[name]) throw new Error(M.receiptBad);
        uploads[name] = stored.id;
        progress(name, "upload", 1, 1);
        progressText(name, fmt(M.uploaded, { name: (cfg.labels && cfg.labels[name]) || name }));
      } finally {
        await S.discardSealed(sealed);
      }
    }
    setStatus(M.submitting);
    var version = await submitWithRetry(uploads, signal);
    setStatus(M.done);
    showReceipt(version, hashes);
    form.hidden = true;
  }

  window.addEventListener("beforeunload", function (event) {
    if (busy) { event.preventDefault(); event.returnValue = M.leave; }
  });
  cancelButton.addEventListener("click", function () { if (controller) controller.abort(); });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy) return;
    busy = true;
    submitButton.disabled = true;
    cancelButton.hidden = false;
    run().catch(function (err) {
      setStatus("");
      showError(explain(err));
    }).finally(function () {
      busy = false;
      submitButton.disabled = false;
      cancelButton.hidden = true;
      controller = null;
    });
  });
})();
