// The live wall: every few seconds (the page's data-refresh-seconds) fetch the wall again and put its figures in
// place of the shown ones, without reloading the page (no meta refresh: it would move the keyboard and the screen
// reader back to the top). A failed fetch, or an answer that is not the wall (the session ended: the sign-in page),
// leaves the figures as they are and marks them stale; the next round tries again. Plain script, no build step.
(function () {
  "use strict";
  var live = document.getElementById("wall-live");
  if (!live || !window.fetch || !window.DOMParser) return;
  var seconds = parseInt(live.getAttribute("data-refresh-seconds"), 10);
  if (!(seconds > 0)) return;

  function stale(on) {
    live.setAttribute("data-stale", on ? "true" : "false");
    var note = document.getElementById("wall-stale");
    if (note) note.hidden = !on;
  }

  function refresh() {
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" }, redirect: "follow" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("wall-live");
        if (!fresh) throw new Error("not the wall");
        live.innerHTML = fresh.innerHTML;
        stale(false);
      })
      .catch(function () { stale(true); })
      .then(function () { window.setTimeout(refresh, seconds * 1000); });
  }

  window.setTimeout(refresh, seconds * 1000);
})();
