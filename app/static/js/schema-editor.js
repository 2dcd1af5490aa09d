// The bid form's field editor (agency_schema_editor.html): progressive enhancement over the JSON Schema text area.
document.addEventListener("DOMContentLoaded", function () {
  var area = document.getElementById("bid_form_schema");
  var box = document.getElementById("schema-editor");
  if (!area || !box || !window.JSON) return;
  var note = document.getElementById("schema-editor-note");
  var body = box.querySelector("tbody");
  var t = box.dataset;
  var SIMPLE = {type: 1, title: 1, description: 1, minimum: 1, maximum: 1, minLength: 1, maxLength: 1, "enum": 1};
  var meta = null;  // the schema's own keys besides properties and required

  function fieldsOf(schema) {
    if (!schema || schema.type !== "object" || typeof schema.properties !== "object" || Array.isArray(schema.properties)) return null;
    var required = Array.isArray(schema.required) ? schema.required : [];
    var out = [];
    for (var name in schema.properties) {
      var p = schema.properties[name];
      if (!p || typeof p !== "object") return null;
      for (var key in p) if (!SIMPLE[key]) return null;
      var kind;
      if (p["enum"]) {
        if (p.type !== "string" && p.type !== undefined) return null;
        if (!p["enum"].every(function (v) { return typeof v === "string"; })) return null;
        kind = "choice";
      } else if (p.type === "integer" || p.type === "string" || p.type === "boolean") {
        kind = p.type;
      } else {
        return null;
      }
      out.push({
        name: name, title: p.title || "", description: p.description || "", kind: kind, required: required.indexOf(name) >= 0,
        min: kind === "string" ? p.minLength : p.minimum, max: kind === "string" ? p.maxLength : p.maximum,
        choices: (p["enum"] || []).join(", ")
      });
    }
    return out;
  }

  function cell(row, el) { var td = document.createElement("td"); td.appendChild(el); row.appendChild(td); return el; }
  function input(type, value, label) {
    var el = document.createElement("input");
    el.type = type;
    if (type === "checkbox") el.checked = !!value; else el.value = value === undefined || value === null ? "" : value;
    el.setAttribute("aria-label", label);
    if (type !== "checkbox") { el.style.width = "100%"; el.style.boxSizing = "border-box"; }
    el.addEventListener("input", write);
    el.addEventListener("change", write);
    return el;
  }

  function addRow(f) {
    var tr = document.createElement("tr");
    tr.dataset.description = f.description || "";
    cell(tr, input("text", f.name, t.tName)).dataset.k = "name";
    cell(tr, input("text", f.title, t.tTitle)).dataset.k = "title";
    var sel = document.createElement("select");
    sel.setAttribute("aria-label", t.tType);
    sel.style.width = "100%";
    ["integer", "string", "boolean", "choice"].forEach(function (k) {
      var o = document.createElement("option");
      o.value = k; o.textContent = t["t" + k.charAt(0).toUpperCase() + k.slice(1)];
      if (k === f.kind) o.selected = true;
      sel.appendChild(o);
    });
    sel.addEventListener("change", write);
    cell(tr, sel).dataset.k = "kind";
    cell(tr, input("checkbox", f.required, t.tRequired)).dataset.k = "required";
    cell(tr, input("number", f.min, t.tMin)).dataset.k = "min";
    cell(tr, input("number", f.max, t.tMax)).dataset.k = "max";
    cell(tr, input("text", f.choices, t.tChoices)).dataset.k = "choices";
    var rm = document.createElement("button");
    rm.type = "button"; rm.textContent = t.tRemove;
    rm.addEventListener("click", function () { tr.remove(); write(); });
    cell(tr, rm);
    body.appendChild(tr);
  }

  function value(tr, k) {
    var el = tr.querySelector("[data-k=" + k + "]");
    return el.type === "checkbox" ? el.checked : el.value.trim();
  }

  function write() {
    var schema = {};
    for (var key in meta) schema[key] = meta[key];
    schema.type = "object";
    schema.properties = {};
    var required = [];
    Array.prototype.forEach.call(body.rows, function (tr) {
      var name = value(tr, "name");
      if (!name) return;
      var kind = value(tr, "kind"), p = {};
      p.type = kind === "choice" ? "string" : kind;
      if (value(tr, "title")) p.title = value(tr, "title");
      if (tr.dataset.description) p.description = tr.dataset.description;
      var lo = value(tr, "min"), hi = value(tr, "max");
      if (kind === "integer") { if (lo !== "") p.minimum = parseInt(lo, 10); if (hi !== "") p.maximum = parseInt(hi, 10); }
      if (kind === "string") { if (lo !== "") p.minLength = parseInt(lo, 10); if (hi !== "") p.maxLength = parseInt(hi, 10); }
      if (kind === "choice") p["enum"] = value(tr, "choices").split(/[,，]/).map(function (s) { return s.trim(); }).filter(Boolean);
      schema.properties[name] = p;
      if (value(tr, "required")) required.push(name);
    });
    schema.required = required;
    schema.additionalProperties = false;
    area.value = JSON.stringify(schema, null, 2);
  }

  function read() {
    var schema;
    try { schema = JSON.parse(area.value || "null"); } catch (e) { schema = undefined; }
    var fields = fieldsOf(schema);
    body.innerHTML = "";
    box.hidden = fields === null;
    note.hidden = fields !== null;
    if (fields === null) return;
    meta = {};
    for (var key in schema) if (key !== "properties" && key !== "required" && key !== "type") meta[key] = schema[key];
    fields.forEach(addRow);
  }

  document.getElementById("schema-add").addEventListener("click", function () {
    addRow({name: "", title: "", kind: "integer", required: true});
    body.rows[body.rows.length - 1].querySelector("input").focus();
  });
  area.addEventListener("change", read);
  read();
});
