// The remote opening page (不见面开标): follows the opening without reloading. An EventSource on the page's stream
// gets an `opening` event whenever the opening moved (an envelope decrypted, a record published, an objection
// raised or answered, a bidder's answer to the record); the page then fetches its panels again and puts them in
// place of the shown ones, keeping what the viewer was typing and where the keyboard was. When the room is filmed,
// the live HLS playlist plays in the video (hls.js from dist/replay.js, or the browser's own HLS). Plain script.
(function () {
  "use strict";
  var panels = document.getElementById("live-panels");
  if (!panels || !window.fetch || !window.DOMParser) return;
  var on = document.getElementById("live-on");
  var off = document.getElementById("live-off");
  var note = document.getElementById("live-note");

  function state(live) {
    if (note) note.setAttribute("data-state", live ? "live" : "interrupted");
    if (on) on.hidden = !live;
    if (off) off.hidden = live;
  }

  function typed() {
    var kept = {};
    panels.querySelectorAll("input[id], textarea[id]").forEach(function (el) {
      if (el.type === "hidden") return;
      kept[el.id] = el.type === "radio" || el.type === "checkbox" ? el.checked : el.value;
    });
    return kept;
  }

  function restore(kept, focused) {
    Object.keys(kept).forEach(function (id) {
      var el = document.getElementById(id);
      if (!el || !panels.contains(el)) return;
      if (el.type === "radio" || el.type === "checkbox") el.checked = kept[id];
      else el.value = kept[id];
    });
    if (focused) {
      var again = document.getElementById(focused);
      if (again && panels.contains(again)) again.focus();
    }
  }

  var busy = false;
  var pending = false;

  function refresh(version) {
    if (busy) { pending = true; return; }
    busy = true;
    fetch(panels.getAttribute("data-panel"), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        var kept = typed();
        var active = document.activeElement;
        var focused = active && panels.contains(active) ? active.id : null;
        var doc = new DOMParser().parseFromString("<div id='x'>" + html + "</div>", "text/html");
        var fresh = doc.getElementById("x");
        if (!fresh || !fresh.querySelector("#live-progress")) throw new Error("not the panels");
        panels.innerHTML = fresh.innerHTML;
        restore(kept, focused);
        if (version) panels.setAttribute("data-version", version);
      })
      .catch(function () { state(false); })
      .then(function () {
        busy = false;
        if (pending) { pending = false; refresh(null); }
      });
  }

  // The room, live: started at once when it is filmed as the page loads, or when an event says filming began.
  var video = document.getElementById("room-video");
  var playing = false;
  var retries = 0;

  function play() {
    if (!video || playing) return;
    playing = true;
    var section = document.getElementById("live-video");
    if (section) section.hidden = false;
    var src = video.getAttribute("data-playlist");
    if (window.Hls && window.Hls.isSupported()) {
      // close to the live edge: one segment back (the recorder's segments are a few seconds long)
      var hls = new window.Hls({ liveSyncDurationCount: 1, liveMaxLatencyDurationCount: 3 });
      hls.loadSource(src);
      hls.attachMedia(video);
      video.hls = hls; // hls.playingDate: the capture instant of the frame shown (the latency check reads it)
      hls.on(window.Hls.Events.MANIFEST_PARSED, function () {
        retries = 0;
        video.play().catch(function () {});
      });
      hls.on(window.Hls.Events.ERROR, function (_event, data) {
        if (!data.fatal) return;
        hls.destroy(); // a network failure, or the filming ended (the live playlist is gone): try again a few times
        playing = false;
        if (retries++ < 5) window.setTimeout(function () { if (!playing) play(); }, 4000);
      });
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;
    }
  }

  function filming(data) {
    try {
      if (JSON.parse(data).filming) play();
    } catch (e) { /* not JSON: ignore */ }
  }

  var shown = document.getElementById("live-video");
  if (shown && !shown.hidden) play();

  if (window.EventSource) {
    var source = new EventSource(panels.getAttribute("data-stream"));
    source.addEventListener("open", function () { state(true); });
    source.addEventListener("error", function () { state(false); });
    source.addEventListener("opening", function (event) {
      state(true);
      filming(event.data);
      var version = event.lastEventId;
      if (version && version === panels.getAttribute("data-version")) return;
      refresh(version);
    });
  }

})();
