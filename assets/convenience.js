// The convenience floor's pages.
// - Hall display (<body data-convenience-display>): follows the Server-Sent Events stream, redraws the calls and
//   the waiting counts, and speaks each new call (or recall) with the browser's speech synthesis in Chinese.
//   The server ends each stream after a bounded time; EventSource reconnects with Last-Event-ID by itself.
// - Window panel ([data-convenience-panel]): one key per action (N or Space: call next, R: recall, S: served,
//   M: missed), ignored while typing in a field.

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

function speak(text) {
  if (!("speechSynthesis" in window)) return;
  const utterance = new SpeechSynthesisUtterance(text);
  utterance.lang = "zh-CN";
  window.speechSynthesis.speak(utterance);
}

function display(body) {
  const rows = document.querySelector("#hall-calls tbody");
  const empty = document.getElementById("hall-empty");
  const waiting = document.getElementById("hall-waiting");
  const status = document.getElementById("hall-status");
  const windowText = document.getElementById("hall-row-window").innerHTML;
  const waitingText = document.getElementById("hall-waiting-text").innerHTML;
  const spoken = new Map(); // ticket id -> the call count already announced
  for (const row of rows.querySelectorAll("tr")) spoken.set(row.dataset.ticket, Number(row.dataset.call));

  const source = new EventSource(body.dataset.stream);
  source.addEventListener("open", () => {
    status.textContent = status.dataset.live;
  });
  source.addEventListener("error", () => {
    status.textContent = status.dataset.offline;
  });
  source.addEventListener("hall", (event) => {
    const hall = JSON.parse(event.data);
    rows.replaceChildren(
      ...hall.calls.map((call) => {
        const tr = document.createElement("tr");
        tr.dataset.ticket = String(call.ticket);
        tr.dataset.call = String(call.call);
        for (const text of [call.number, call.name, fill(windowText, { number: call.window })]) {
          const td = document.createElement("td");
          td.textContent = text;
          tr.append(td);
        }
        return tr;
      }),
    );
    empty.hidden = hall.calls.length > 0;
    waiting.replaceChildren(
      ...hall.waiting.map((w) => {
        const li = document.createElement("li");
        li.textContent = `${w.prefix} ${w.group}：${fill(waitingText, { n: w.count })}`;
        return li;
      }),
    );
    body.dataset.version = String(hall.version);
    for (const call of [...hall.calls].reverse()) {
      const key = String(call.ticket);
      if ((spoken.get(key) ?? 0) < call.call) {
        spoken.set(key, call.call);
        speak(fill(body.dataset.say, { number: call.number, window: call.window }));
      }
    }
  });
}

function panel() {
  const keys = { n: "call-next", " ": "call-next", r: "recall", s: "serve", m: "miss" };
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
    const target = event.target;
    if (target instanceof HTMLElement && target.closest("input, select, textarea, button, a")) return;
    const id = keys[event.key.toLowerCase()];
    const button = id && document.getElementById(id);
    if (button) {
      event.preventDefault();
      button.click();
    }
  });
}

const body = document.body;
if (body.dataset.convenienceDisplay !== undefined) display(body);
if (document.querySelector("[data-convenience-panel]")) panel();
