// Progressive enhancement only: every page works without JavaScript.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button || !navigator.clipboard) return;
  var source = document.querySelector(button.getAttribute("data-copy"));
  if (!source) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(function () {
    button.setAttribute("aria-live", "polite");
    button.dataset.label = button.dataset.label || button.textContent;
    button.textContent = "✓";
    setTimeout(function () { button.textContent = button.dataset.label; }, 2000);
  });
});

// A form with data-confirm asks before it is sent (instead of an inline onsubmit handler, which the
// Content-Security-Policy forbids).
document.addEventListener("submit", function (event) {
  var form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
});
