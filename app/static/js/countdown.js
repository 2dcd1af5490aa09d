// Live countdowns (.countdown[data-target-ms]) from the server's clock embedded in the page.
(function () {
  // Offset between the server's clock and this machine's, fixed when the page was served.
  var els = document.querySelectorAll(".countdown[data-target-ms]");
  if (!els.length) return;
  var loaded = Date.now();
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      var serverNow = Number(el.dataset.serverNowMs) + (Date.now() - loaded);
      var left = Math.floor((Number(el.dataset.targetMs) - serverNow) / 1000);
      if (left <= 0) { el.textContent = el.dataset.passed; el.dataset.state = "passed"; continue; }
      var d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600), m = Math.floor(left % 3600 / 60), s = left % 60;
      el.textContent = (d ? d + el.dataset.days + " " : "") + pad(h) + ":" + pad(m) + ":" + pad(s);
      el.dataset.state = "running";
    }
  }
  tick();
  setInterval(tick, 1000);
})();
