// Loaded by every page as an ES module (app/static/dist/app.js). Progressive enhancement only: every page
// works without JavaScript. No inline script is needed (the Content-Security-Policy forbids them), so the
// classes GOV.UK Frontend expects on <body> are set here, before its components start.
import { initAll } from "govuk-frontend";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();

// A button with data-copy="#selector" copies that element's text to the clipboard.
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
  if (!button || !navigator.clipboard) return;
  const source = document.querySelector(button.getAttribute("data-copy"));
  if (!source) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    button.setAttribute("aria-live", "polite");
    button.dataset.label = button.dataset.label || button.textContent;
    button.textContent = "✓";
    setTimeout(() => {
      button.textContent = button.dataset.label;
    }, 2000);
  });
});

// A form with data-confirm asks before it is sent (instead of an inline onsubmit handler, which the
// Content-Security-Policy forbids).
document.addEventListener("submit", (event) => {
  const form = event.target instanceof Element ? event.target.closest("form[data-confirm]") : null;
  if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
});
