// The evaluation room page: drafts saved as the member types (retried on a bad line, kept in this browser until the
// server has them), sums computed in the page and by the server, submissions with the server's refusals shown next
// to the criterion, and the room's live status through server-sent events (reconnecting, polling meanwhile).
// Plain script, no build step. Everything goes through the JSON API with the session cookie and the CSRF header.
(function () {
  "use strict";
  var cfgEl = document.getElementById("room-config");
  if (!cfgEl) return;
  var cfg = JSON.parse(cfgEl.textContent);
  var M = cfg.messages;
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var DELAYS = [2, 4, 8, 15, 30];
  var savers = [];

  function fmt(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? String(values[key]) : all; });
  }
  function clock() {
    var d = new Date();
    function pad(n) { return (n < 10 ? "0" : "") + n; }
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }
  function storageKey(part) {
    return "evaluation-room:" + cfg.tender_id + ":" + cfg.stage + ":" + cfg.user_id + ":" + part;
  }
  function store(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, JSON.stringify(value));
    } catch (e) { /* private mode or full: the server copy still counts */ }
  }
  function recall(key) {
    try { var raw = window.localStorage.getItem(key); return raw ? JSON.parse(raw) : null; } catch (e) { return null; }
  }

  // One JSON request. Resolves {status, body}; a failed connection or a timeout resolves status 0.
  function call(method, url, body) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, 20000);
    var init = {
      method: method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrf },
      signal: controller.signal,
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (resp) {
      return resp.text().then(function (text) {
        var parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = null; }
        return { status: resp.status, body: parsed };
      });
    }, function () {
      return { status: 0, body: null };
    }).finally(function () { clearTimeout(timer); });
  }
  function detailOf(res) {
    var b = res.body || {};
    return b.detail || b.title || ("HTTP " + res.status);
  }
  function flatten(value) {
    if (value === null || value === undefined) return [];
    if (Array.isArray(value)) return value.map(String);
    if (typeof value === "object") return Object.keys(value).reduce(function (acc, k) { return acc.concat(flatten(value[k])); }, []);
    return [String(value)];
  }

  // --- decimals: values as scaled integers (10^precision), never floats ----------------------------------------
  function scaledOf(text, precision) {
    var m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(text).trim());
    if (!m) return null;
    var frac = m[3] || "";
    if (frac.length > precision) return { tooPrecise: true };
    while (frac.length < precision) frac += "0";
    var scaled = Number(m[2]) * Math.pow(10, precision) + (frac ? Number(frac) : 0);
    if (!Number.isSafeInteger(scaled)) return null;
    return { value: m[1] ? -scaled : scaled };
  }
  // A typed value of an input carrying data-min, data-max and data-precision.
  // An amount typed in yuan (data-unit="yuan", two decimals, thousands commas allowed) is a scaled integer of fen.
  function parseField(input) {
    var yuan = input.dataset.unit === "yuan";
    var plain = function (x) { return yuan && x !== undefined ? String(x).replace(/[,，\s]/g, "") : x; };
    var t = plain(input.value.trim());
    var precision = Number(input.dataset.precision || cfg.precision);
    var low = plain(input.dataset.min) || "0";
    var high = plain(input.dataset.max);
    var range = fmt(M.range, { min: input.dataset.min || "0", max: input.dataset.max });
    if (t === "") return { empty: true };
    var v = scaledOf(t, precision);
    if (v === null) return { error: range };
    if (v.tooPrecise) return { error: fmt(M.precision, { n: precision }) };
    var lo = scaledOf(low, precision), hi = scaledOf(high, precision);
    if ((lo && v.value < lo.value) || (hi && v.value > hi.value)) return { error: range };
    return { value: v.value, text: t, precision: precision };
  }
  function showScaled(scaled, precision) {
    if (precision === 0) return String(scaled);
    var sign = scaled < 0 ? "-" : "";
    var abs = Math.abs(scaled);
    var unit = Math.pow(10, precision);
    var frac = String(abs % unit);
    while (frac.length < precision) frac = "0" + frac;
    return sign + Math.floor(abs / unit) + "." + frac;
  }
  function showMoney(minor) {
    var s = showScaled(Math.round(minor), 2);
    var parts = s.replace("-", "").split(".");
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var number = (minor < 0 ? "-" : "") + whole + "." + parts[1];
    return cfg.currency === "CNY" || cfg.currency === "RMB" || !cfg.currency ? fmt(M.money, { n: number }) : number + " " + cfg.currency;
  }
  // Half-up rounding of a non-integer amount of minor units (as the server rounds).
  function roundHalfUp(x) { return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5); }

  // --- a draft saved to the server: debounced, retried with backoff, kept locally until acknowledged -------------
  function Saver(opts) {
    this.opts = opts; // {url, collect(): body|null, key, stateEl, errorEl, onSaved(body), onInvalid(res)}
    this.timer = null;
    this.inFlight = null;
    this.sentText = null;
    this.savedText = opts.initialText || null;
    this.attempt = 0;
    this.locked = false;
    savers.push(this);
  }
  Saver.prototype.state = function (text, kind) {
    this.opts.stateEl.textContent = text;
    this.opts.stateEl.dataset.state = kind;
  };
  Saver.prototype.dirty = function () {
    if (this.locked) return false;
    var body = this.opts.collect();
    return body !== null && JSON.stringify(body) !== this.savedText;
  };
  Saver.prototype.changed = function () {
    if (this.locked) return;
    var body = this.opts.collect();
    if (body === null) return;
    var text = JSON.stringify(body);
    if (text === this.savedText) { store(this.opts.key, null); return; }
    store(this.opts.key, body);
    this.schedule(800);
  };
  Saver.prototype.schedule = function (ms) {
    var self = this;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.save(); }, ms);
  };
  // Resolves true once what is on the screen is on the server, false when it cannot be (invalid, refused, offline).
  Saver.prototype.save = function () {
    var self = this;
    clearTimeout(this.timer);
    if (this.locked) return Promise.resolve(true);
    if (this.inFlight) return this.inFlight.then(function () { return self.save(); });
    var body = this.opts.collect();
    if (body === null) { this.state(M.invalid, "invalid"); return Promise.resolve(false); }
    var text = JSON.stringify(body);
    if (text === this.savedText) return Promise.resolve(true);
    this.state(M.saving, "saving");
    this.inFlight = call("PUT", this.opts.url, body).then(function (res) {
      self.inFlight = null;
      if (res.status === 200) {
        self.attempt = 0;
        self.savedText = text;
        self.opts.errorEl.textContent = "";
        if (self.opts.onSaved) self.opts.onSaved(res.body);
        if (JSON.stringify(self.opts.collect()) === text) {
          store(self.opts.key, null);
          self.state(fmt(M.saved, { at: clock() }), "saved");
          return true;
        }
        return self.save();
      }
      if (res.status === 422) {
        self.state(M.invalid, "invalid");
        if (self.opts.onInvalid) self.opts.onInvalid(res);
        return false;
      }
      if (res.status === 401) {
        self.state(M.signedOut, "offline");
        self.retryLater();
        return false;
      }
      if (res.status === 0 || res.status >= 500 || res.status === 429) {
        self.retryLater();
        return false;
      }
      // 403, 404, 409: the server will not take it (locked, phase over); say so, do not retry.
      self.state(M.refused + " " + detailOf(res), "refused");
      return false;
    });
    return this.inFlight;
  };
  Saver.prototype.retryLater = function () {
    var wait = DELAYS[Math.min(this.attempt, DELAYS.length - 1)];
    this.attempt += 1;
    this.state(fmt(M.notSaved, { n: wait }), "offline");
    this.schedule(wait * 1000);
  };
  Saver.prototype.restore = function (apply) {
    var pending = recall(this.opts.key);
    if (!pending || this.locked || JSON.stringify(pending) === this.savedText) { store(this.opts.key, null); return; }
    apply(pending);
    this.state(M.restored, "restored");
    this.schedule(100);
  };

  window.addEventListener("online", function () { savers.forEach(function (s) { if (s.dirty()) s.schedule(0); }); });
  window.addEventListener("beforeunload", function (event) {
    if (savers.some(function (s) { return s.dirty() || s.inFlight; })) { event.preventDefault(); event.returnValue = M.leave; }
  });

  // --- score sheets --------------------------------------------------------------------------------------------
  function setupSheet(el) {
    var bid = el.dataset.bid;  // the bid's public id
    var inputs = Array.prototype.slice.call(el.querySelectorAll("input[data-criterion]"));
    var reasons = Array.prototype.slice.call(el.querySelectorAll("textarea[data-reason-for]"));
    var totalEl = el.querySelector("output[data-total]");
    var errorEl = el.querySelector("[data-sheet-error]");
    var submitBtn = el.querySelector("[data-submit-sheet]");
    function fieldError(name, text) {
      var span = el.querySelector('[data-error-for="' + CSS.escape(name) + '"]');
      if (span) span.textContent = text || "";
      var row = el.querySelector('tr[data-row="' + CSS.escape(name) + '"]');
      if (row) row.classList.toggle("invalid", !!text);
    }
    function reasonFor(name) { return el.querySelector('textarea[data-reason-for="' + CSS.escape(name) + '"]'); }
    var adjusted = el.dataset.mode === "adjusted";
    var price = el.dataset.price === "" ? null : Number(el.dataset.price);
    function computedSum() {
      var sum = 0;
      el.querySelectorAll("output[data-computed-value]").forEach(function (o) {
        var p = scaledOf(o.textContent, cfg.precision);
        if (p && p.value !== undefined) sum += p.value;
      });
      return sum;
    }
    // Valid typed values only (an invalid field is marked and left out); the total counts what is valid:
    // points plus the computed price score, or (lowest evaluated price) the price plus the adjustments.
    function collect() {
      var items = {};
      var why = {};
      var sum = adjusted ? 0 : computedSum();
      var complete = true;
      inputs.forEach(function (input) {
        var name = input.dataset.criterion;
        var p = parseField(input);
        if (p.error) { fieldError(name, p.error); complete = false; return; }
        if (!/reason/.test(input.dataset.serverError || "")) fieldError(name, "");
        if (p.empty) { complete = false; return; }
        var yuan = input.dataset.unit === "yuan";
        items[name] = yuan ? String(p.value) : p.text; // an amount typed in yuan goes to the API in fen
        if (!adjusted) sum += p.value;
        else if (input.dataset.kind === "percent") sum += price === null ? 0 : (price * p.value) / Math.pow(10, p.precision) / 100;
        else sum += yuan ? p.value : p.value / Math.pow(10, p.precision);
      });
      reasons.forEach(function (t) { if (t.value.trim()) why[t.dataset.reasonFor] = t.value.trim(); });
      var shown;
      if (adjusted) shown = price === null ? "—" : showMoney(price + roundHalfUp(sum));
      else shown = showScaled(sum, cfg.precision);
      totalEl.value = shown + (complete ? "" : " …");
      totalEl.textContent = totalEl.value;
      return { items: items, reasons: why };
    }
    function lock(sheet) {
      saver.locked = true;
      store(saver.opts.key, null);
      inputs.concat(reasons).forEach(function (i) { i.disabled = true; });
      if (submitBtn) submitBtn.remove();
      el.dataset.status = sheet.status;
      if (sheet.total) {
        var shownTotal = adjusted ? showMoney(Number(sheet.total)) : sheet.total;
        totalEl.value = shownTotal;
        totalEl.textContent = shownTotal;
      }
      saver.state(fmt(M.submitted, { at: clock() }), "submitted");
    }
    function serverErrors(res) {
      var errors = (res.body && res.body.errors) || {};
      var shown = false;
      var byReason = errors.reasons && typeof errors.reasons === "object" && !Array.isArray(errors.reasons) ? errors.reasons : {};
      Object.keys(byReason).forEach(function (name) {
        fieldError(name, flatten(byReason[name]).join(" ") || M.needReason);
        var input = el.querySelector('input[data-criterion="' + CSS.escape(name) + '"]');
        if (input) input.dataset.serverError = "reason";
        var t = reasonFor(name);
        if (t) { t.setAttribute("aria-invalid", "true"); if (!shown) t.focus(); }
        shown = true;
      });
      inputs.forEach(function (input) {
        var name = input.dataset.criterion;
        if (errors[name]) { fieldError(name, flatten(errors[name]).join(" ")); shown = true; }
      });
      var rest = Object.keys(errors).filter(function (k) { return k !== "reasons" && !inputs.some(function (i) { return i.dataset.criterion === k; }); });
      errorEl.textContent = detailOf(res) + (rest.length ? " " + rest.map(function (k) { return flatten(errors[k]).join(" "); }).join(" ") : "");
    }
    var saver = new Saver({
      url: cfg.urls.sheets + "/" + bid,
      key: storageKey("sheet:" + bid),
      stateEl: el.querySelector("[data-save-state]"),
      errorEl: errorEl,
      collect: collect,
      onInvalid: serverErrors,
      onSaved: function (sheet) {
        if (sheet && sheet.computed) {
          Object.keys(sheet.computed).forEach(function (name) {
            var row = el.querySelector('tr[data-computed="' + CSS.escape(name) + '"] output');
            if (row) row.textContent = sheet.computed[name];
          });
        }
      },
    });
    if (el.dataset.status !== "empty" && el.dataset.status !== "draft") { saver.locked = true; return; }
    saver.savedText = JSON.stringify(collect());
    saver.restore(function (pending) {
      inputs.forEach(function (i) {
        var kept = (pending.items || {})[i.dataset.criterion];
        var fen = i.dataset.unit === "yuan" && kept !== undefined && /^-?\d+$/.test(String(kept)) ? Number(kept) : null;
        i.value = fen !== null ? showScaled(fen, 2) : kept || ""; // kept in fen, shown in yuan
      });
      reasons.forEach(function (t) { t.value = (pending.reasons || {})[t.dataset.reasonFor] || ""; });
      collect();
    });
    inputs.concat(reasons).forEach(function (i) {
      i.addEventListener("input", function () {
        if (i.tagName === "TEXTAREA" && i.value.trim()) {
          i.removeAttribute("aria-invalid");
          var inp = el.querySelector('input[data-criterion="' + CSS.escape(i.dataset.reasonFor) + '"]');
          if (inp) { delete inp.dataset.serverError; fieldError(i.dataset.reasonFor, ""); }
        }
        errorEl.textContent = "";
        saver.changed();
      });
      i.addEventListener("blur", function () { if (saver.dirty()) saver.save(); });
    });
    if (submitBtn) {
      submitBtn.addEventListener("click", function () {
        errorEl.textContent = "";
        var body = collect();
        var bad = inputs.some(function (i) { return parseField(i).error; });
        if (bad) { errorEl.textContent = M.fixFirst; return; }
        if (!window.confirm(M.confirmSubmit)) return;
        submitBtn.disabled = true;
        saver.save().then(function (ok) {
          if (!ok) { errorEl.textContent = M.fixFirst; return null; }
          saver.state(M.submitting, "saving");
          return call("POST", cfg.urls.sheets + "/" + bid + "/submit").then(function (res) {
            if (res.status === 200) { lock(res.body); return; }
            saver.state(fmt(M.saved, { at: clock() }), "saved");
            if (res.status === 422) { serverErrors(res); return; }
            errorEl.textContent = res.status === 0 ? fmt(M.notSaved, { n: 0 }) : M.refused + " " + detailOf(res);
          });
        }).finally(function () { submitBtn.disabled = false; });
        return body;
      });
    }
  }

  // --- the review ----------------------------------------------------------------------------------------------
  function setupReview(el) {
    var rows = Array.prototype.slice.call(el.querySelectorAll("tr[data-verdict]"));
    var errorEl = el.querySelector("[data-sheet-error]");
    var submitBtn = el.querySelector("[data-submit-review]");
    function collect() {
      var verdicts = [];
      rows.forEach(function (row) {
        var checked = row.querySelector("input[type=radio]:checked");
        if (!checked) return;
        verdicts.push({
          bid_id: row.dataset.bid,
          requirement: row.dataset.requirement,
          passed: checked.value === "pass",
          reason: row.querySelector("input[data-reason]").value.trim(),
        });
      });
      return { verdicts: verdicts };
    }
    var saver = new Saver({
      url: cfg.urls.review,
      key: storageKey("review"),
      stateEl: el.querySelector("[data-save-state]"),
      errorEl: errorEl,
      collect: collect,
      onInvalid: function (res) { errorEl.textContent = detailOf(res) + " " + flatten((res.body || {}).errors).join(" "); },
    });
    if (el.dataset.submitted === "true") { saver.locked = true; return; }
    saver.savedText = JSON.stringify(collect());
    saver.restore(function (pending) {
      (pending.verdicts || []).forEach(function (v) {
        var row = rows.filter(function (r) { return r.dataset.bid === v.bid_id && r.dataset.requirement === v.requirement; })[0];
        if (!row) return;
        var radio = row.querySelector('input[type=radio][value="' + (v.passed ? "pass" : "fail") + '"]');
        if (radio) radio.checked = true;
        row.querySelector("input[data-reason]").value = v.reason || "";
      });
    });
    el.querySelectorAll("input").forEach(function (i) {
      i.addEventListener(i.type === "radio" ? "change" : "input", function () { errorEl.textContent = ""; saver.changed(); });
    });
    if (submitBtn) {
      submitBtn.addEventListener("click", function () {
        var body = collect();
        var incomplete = body.verdicts.length < rows.length || body.verdicts.some(function (v) { return !v.passed && !v.reason; });
        if (incomplete) { errorEl.textContent = M.reviewIncomplete; return; }
        if (!window.confirm(M.confirmReview)) return;
        submitBtn.disabled = true;
        saver.save().then(function (ok) {
          if (!ok) return null;
          return call("POST", cfg.urls.review_submit).then(function (res) {
            if (res.status === 200) {
              saver.locked = true;
              store(saver.opts.key, null);
              el.querySelectorAll("input").forEach(function (i) { i.disabled = true; });
              submitBtn.remove();
              saver.state(fmt(M.submitted, { at: clock() }), "submitted");
              return;
            }
            errorEl.textContent = M.refused + " " + detailOf(res) + " " + flatten((res.body || {}).errors).join(" ");
          });
        }).finally(function () { submitBtn.disabled = false; });
      });
    }
  }

  // --- live status ---------------------------------------------------------------------------------------------
  var liveEl = document.getElementById("live-state");
  function live(text, state) { if (liveEl) { liveEl.textContent = text; liveEl.dataset.state = state; } }
  function applyStatus(status) {
    (status.progress || []).forEach(function (p) {
      var row = document.querySelector('#progress tr[data-seat="' + p.seat + '"]');
      if (!row) return;
      row.dataset.reviewSubmitted = p.review_submitted ? "true" : "false";
      row.querySelector('[data-col="review"]').textContent = p.review_submitted ? M.submittedRow : M.inProgress;
      row.querySelector('[data-col="sheets"]').textContent = p.sheets_submitted + " / " + p.sheets_expected;
    });
    var election = document.getElementById("chair-election");
    if (election && status.chair_election) {
      var counts = {};
      (status.chair_election.tally || []).forEach(function (t) { counts[t.seat] = t.votes; });
      election.querySelectorAll("tr[data-candidate-seat]").forEach(function (row) {
        row.querySelector('[data-col="votes"]').textContent = counts[row.dataset.candidateSeat] || 0;
      });
      var cast = document.getElementById("votes-cast");
      if (cast) cast.textContent = fmt(M.votesCast, { cast: status.chair_election.votes_cast, seats: status.chair_election.seats });
      if (status.chair_seat && !election.dataset.chairSeat) {
        var decided = document.getElementById("phase-changed");  // the chair is decided: reload for its buttons
        if (decided) decided.hidden = false;
      }
    }
    if (status.phase && status.phase !== cfg.phase) {
      var banner = document.getElementById("phase-changed");
      if (banner) banner.hidden = false;
      var busy = savers.some(function (s) { return s.dirty() || s.inFlight; });
      if (!busy) window.location.reload();
    }
  }
  var source = null;
  var failures = 0;
  var pollTimer = null;
  function poll() {
    call("GET", cfg.urls.status).then(function (res) { if (res.status === 200) applyStatus(res.body); });
  }
  function connect() {
    if (!window.EventSource) { live(M.polling, "polling"); pollTimer = setInterval(poll, 10000); return; }
    source = new EventSource(cfg.urls.events + "?max_seconds=55");
    source.addEventListener("open", function () {
      failures = 0;
      live(M.live, "live");
      if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
    });
    source.addEventListener("status", function (event) {
      try { applyStatus(JSON.parse(event.data)); } catch (e) { /* a malformed event is skipped */ }
    });
    source.addEventListener("end", function () { source.close(); setTimeout(connect, 200); });
    source.addEventListener("error", function () {
      source.close();
      failures += 1;
      live(failures > 1 ? M.polling : M.reconnecting, "reconnecting");
      if (failures > 1 && !pollTimer) { poll(); pollTimer = setInterval(poll, 10000); }
      setTimeout(connect, DELAYS[Math.min(failures - 1, DELAYS.length - 1)] * 1000);
    });
  }

  // The document viewer stays folded away until a document is opened in it.
  var viewer = document.getElementById("doc-viewer");
  var viewerBox = document.getElementById("doc-viewer-box");
  if (viewer && viewerBox) {
    viewerBox.hidden = true;
    document.querySelectorAll("a[data-view]").forEach(function (a) {
      a.addEventListener("click", function () {
        viewerBox.hidden = false;
        document.getElementById("doc-viewer-title").textContent = a.textContent;
        setTimeout(function () { viewerBox.scrollIntoView({ block: "start" }); }, 0);
      });
    });
    document.getElementById("doc-viewer-close").addEventListener("click", function () {
      viewerBox.hidden = true;
      viewer.src = "about:blank";
    });
  }

  document.querySelectorAll("[data-sheet]").forEach(setupSheet);
  var review = document.getElementById("review");
  if (review) setupReview(review);
  connect();
})();
