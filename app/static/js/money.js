// Money on the pages: amounts are integers of 分 (fen) in the data and typed and shown in 元 (yuan).
// window.PlatformMoney.parseYuan("1,380,000.50") → 138000050; formatYuan(138000050) → "1,380,000.50";
// capital(138000050) → "壹佰叁拾捌万元伍角" (大写金额, as app/core/ui.py capital_amount writes it). No floats.
(function () {
  "use strict";
  var DIGITS = "零壹贰叁肆伍陆柒捌玖";
  var PLACES = ["仟", "佰", "拾", ""];
  var SECTIONS = ["万亿", "亿", "万", ""];
  var MAX_CAPITAL_FEN = 1e14;

  // Yuan typed by a person: digits with optional thousands commas, at most two decimals, an optional minus.
  // Returns the integer of fen, or null when the text is not such an amount.
  function parseYuan(text) {
    var t = String(text).trim().replace(/[\s\u00a0]/g, "").replace(/，/g, ",").replace(/．/g, ".");
    var m = /^([-+]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?$/.exec(t);
    if (!m) return null;
    var whole = Number(m[2].replace(/,/g, ""));
    var cents = Number(((m[3] || "") + "00").slice(0, 2));
    var fen = whole * 100 + cents;
    if (!Number.isSafeInteger(fen)) return null;
    return m[1] === "-" && fen !== 0 ? -fen : fen;
  }

  // Integer fen as yuan with two decimals; thousands separators unless plain is true.
  function formatYuan(fen, plain) {
    var abs = Math.abs(fen);
    var whole = String(Math.floor(abs / 100));
    if (!plain) whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var cents = String(abs % 100);
    return (fen < 0 ? "-" : "") + whole + "." + (cents.length < 2 ? "0" + cents : cents);
  }

  function section(value) {
    var digits = String(10000 + value).slice(1);
    var out = "";
    var zero = false;
    for (var i = 0; i < 4; i++) {
      var d = Number(digits[i]);
      if (d === 0) { zero = out !== ""; continue; }
      if (zero) out += "零";
      out += DIGITS[d] + PLACES[i];
      zero = false;
    }
    return out;
  }

  // Integer fen as the Chinese capital amount, or "" when it cannot be written (not an integer, too large).
  function capital(fen) {
    if (!Number.isSafeInteger(fen) || Math.abs(fen) > MAX_CAPITAL_FEN) return "";
    var sign = fen < 0 ? "负" : "";
    var abs = Math.abs(fen);
    var yuan = Math.floor(abs / 100);
    var cents = abs % 100;
    var jiao = Math.floor(cents / 10);
    var f = cents % 10;
    var words = "";
    var zero = false;
    for (var i = 0; i < 4; i++) {
      var value = Math.floor(yuan / Math.pow(10, 4 * (3 - i))) % 10000;
      if (value === 0) { zero = words !== ""; continue; }
      if (words && (zero || value < 1000)) words += "零";
      words += section(value) + SECTIONS[i];
      zero = false;
    }
    if (!words && cents) return sign + (jiao ? DIGITS[jiao] + "角" : "") + (f ? DIGITS[f] + "分" : "");
    var text = (words || "零") + "元";
    if (!cents) return sign + text + "整";
    if (jiao) text += DIGITS[jiao] + "角";
    else if (f) text += "零";
    if (f) text += DIGITS[f] + "分";
    return sign + text;
  }

  window.PlatformMoney = { parseYuan: parseYuan, formatYuan: formatYuan, capital: capital };
})();
