// The replay page: HLS through hls.js (window.Hls, from the replay bundle) or the browser's own HLS,
// the wall-clock instant under the playhead, and events that seek the video to their instant.
(function () {
  "use strict";
  // Place the timeline's segments, gaps and markers (positions in percent, from data attributes: the page's
  // Content-Security-Policy allows no inline style attributes; styles set through the DOM are allowed).
  var placed = document.querySelectorAll(".rec-seg[data-left], .rec-gap[data-left], .rec-marker[data-left]");
  for (var p = 0; p < placed.length; p++) {
    placed[p].style.left = placed[p].getAttribute("data-left") + "%";
    if (placed[p].hasAttribute("data-width")) placed[p].style.width = placed[p].getAttribute("data-width") + "%";
  }
  var video = document.getElementById("player");
  if (!video) return;
  var spans = JSON.parse(document.getElementById("replay-spans").textContent || "[]");
  var src = video.getAttribute("data-src");

  function attach() {
    if (window.Hls && window.Hls.isSupported()) {
      var hls = new window.Hls({ enableWorker: false });
      hls.loadSource(src);
      hls.attachMedia(video);
      window.replayPlayer = { kind: "hls.js", hls: hls };
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;
      window.replayPlayer = { kind: "native" };
    } else {
      document.getElementById("player-error").hidden = false;
      window.replayPlayer = { kind: "none" };
    }
  }

  // Player seconds -> wall-clock microseconds, through the segment map the server computed from the rows.
  function wallAt(t) {
    for (var i = 0; i < spans.length; i++) {
      var s = spans[i];
      if (t < s.m + s.d || i === spans.length - 1) {
        return s.w0 + Math.max(0, Math.min(t - s.m, s.d)) * 1e6;
      }
    }
    return null;
  }

  var clock = document.getElementById("wall-clock");
  var fmt = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
    hour12: false, timeZone: (clock && clock.getAttribute("data-zone")) || undefined, timeZoneName: "short"
  });
  video.addEventListener("timeupdate", function () {
    var us = wallAt(video.currentTime);
    if (clock && us !== null) clock.textContent = fmt.format(new Date(us / 1000));
  });

  function seek(target) {
    var t = parseFloat(target.getAttribute("data-seek"));
    if (isNaN(t)) return;
    var index = target.getAttribute("data-index");
    document.querySelectorAll(".current").forEach(function (el) { el.classList.remove("current"); });
    document.querySelectorAll('[data-index="' + index + '"]').forEach(function (el) { el.classList.add("current"); });
    video.currentTime = t;
    var played = video.play();
    if (played && played.catch) played.catch(function () {});
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-seek]");
    if (target) { event.preventDefault(); seek(target); }
  });
  attach();
})();
