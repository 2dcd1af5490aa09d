// A part of a page kept current without reloading it (a meta refresh would move the keyboard and the screen reader
// back to the top, and axe rightly refuses it): every element with data-refresh-seconds and an id is fetched again
// from the page's own address every so many seconds and its content put in place of the shown one. A failed fetch,
// or an answer without that element (the session ended: the sign-in page), leaves the content as it is and shows
// the element named by its data-stale-note, if any; the next round tries again. Used by the supervision wall and
// the visitor's ticket page. Plain script, no build step.
(function () {
  "use strict";
  if (!window.fetch || !window.DOMParser) return;

  function keep(live) {
    var seconds = parseInt(live.getAttribute("data-refresh-seconds"), 10);
    if (!(seconds > 0) || !live.id) return;
    var note = live.getAttribute("data-stale-note") ? document.getElementById(live.getAttribute("data-stale-note")) : null;

    function stale(on) {
      live.setAttribute("data-stale", on ? "true" : "false");
      if (note) note.hidden = !on;
    }

    function refresh() {
      fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" }, redirect: "follow" })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.text();
        })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(live.id);
          if (!fresh) throw new Error("not this page");
          live.innerHTML = fresh.innerHTML;
          stale(false);
        })
        .catch(function () { stale(true); })
        .then(function () { window.setTimeout(refresh, seconds * 1000); });
    }

    window.setTimeout(refresh, seconds * 1000);
  }

  document.querySelectorAll("[data-refresh-seconds]").forEach(keep);
})();
