/* Vouch pages: small enhancements only. Every page works without this file. */
(function () {
  "use strict";

  function announce(text) {
    var status = document.querySelector("[data-copy-status]");
    if (status) { status.textContent = ""; window.setTimeout(function () { status.textContent = text; }, 50); }
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy failed")); }
    });
  }

  // Copy buttons stay hidden without JavaScript: the text itself is selectable.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      copyText(button.getAttribute("data-copy")).then(function () {
        var copied = button.getAttribute("data-copied") || label;
        button.textContent = copied;
        announce(copied);
        window.setTimeout(function () { button.textContent = label; }, 2000);
      }, function () { /* leave the text to be selected by hand */ });
    });
  });

  // The resend button: the server renders it disabled with the wait; this ticks it down.
  document.querySelectorAll("button[data-resend-wait]").forEach(function (button) {
    var until = Date.now() + Number(button.getAttribute("data-resend-wait")) * 1000;
    var waitLabel = button.getAttribute("data-label-wait") || "";
    var readyLabel = button.getAttribute("data-label-ready") || button.textContent;
    function tick() {
      var left = Math.ceil((until - Date.now()) / 1000);
      if (left <= 0) {
        button.disabled = false;
        button.textContent = readyLabel;
        return;
      }
      button.textContent = waitLabel.replace("{seconds}", String(left));
      window.setTimeout(tick, 1000);
    }
    tick();
  });

  // WebOTP: fill in the code from the SMS and sign in, where the browser supports it.
  var codeForm = document.getElementById("code-form");
  var codeInput = codeForm && codeForm.querySelector('input[name="code"]');
  if (codeInput && "OTPCredential" in window && navigator.credentials) {
    var abort = new AbortController();
    codeForm.addEventListener("submit", function () { abort.abort(); });
    navigator.credentials.get({ otp: { transport: ["sms"] }, signal: abort.signal }).then(function (otp) {
      if (!otp || !otp.code) { return; }
      codeInput.value = otp.code;
      if (codeForm.requestSubmit) { codeForm.requestSubmit(); } else { codeForm.submit(); }
    }).catch(function () { /* the user types the code */ });
  }

  // The one-time code: digits only, whatever was typed, pasted or autofilled ("754 466",
  // "754-466"), cut to the code's length when the page gives it. The server ignores spaces and
  // dashes too; this only keeps the field tidy.
  document.querySelectorAll('input[name="code"]').forEach(function (input) {
    function clean() {
      var length = Number(input.getAttribute("data-code-length")) || 0;
      var digits = input.value.replace(/\D+/g, "");
      if (length) { digits = digits.slice(0, length); }
      if (digits !== input.value) { input.value = digits; }
    }
    input.addEventListener("input", clean);
    input.addEventListener("paste", function (event) {
      var text = event.clipboardData && event.clipboardData.getData("text");
      if (!text) { return; }
      event.preventDefault();
      var start = input.selectionStart === null ? input.value.length : input.selectionStart;
      var end = input.selectionEnd === null ? start : input.selectionEnd;
      input.value = input.value.slice(0, start) + text + input.value.slice(end);
      clean();
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
    clean();
  });

  // The phone: groups the digits as people write them and names the country, from the table
  // the server puts in data-phone-formats (vouch/web/phone_formats.py). The server parses any
  // written form, so this is only for the eyes: it never adds or drops a digit or the plus, and
  // it only rewrites the field while the caret is at the end, so editing in the middle is left be.
  function phoneField(input) {
    var table;
    try { table = JSON.parse(input.getAttribute("data-phone-formats")); } catch (e) { return; }
    if (!table || !table.codes) { return; }
    var lang = document.documentElement.lang || "en";
    var names = null;
    try { names = new Intl.DisplayNames([lang], { type: "region" }); } catch (e) { names = null; }
    var line = document.createElement("p");
    line.className = "phone-country";
    line.id = input.id + "_country";
    line.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", line);
    var described = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", (described ? described + " " : "") + line.id);
    // "KZ=7 RU": Kazakhstan for national numbers starting with 7, otherwise Russia.
    var homeCode = null;
    Object.keys(table.codes).forEach(function (code) {
      var entry = table.codes[code];
      entry.regions = entry.r.split(" ").map(function (item) { return item.split("="); });
      entry.regions.forEach(function (pair) { if (pair[0] === table["default"]) { homeCode = code; } });
    });

    function starts(pattern, digits) {
      try { return new RegExp("^(?:" + pattern + ")").test(digits); } catch (e) { return false; }
    }
    function fill(template, digits) {
      var out = "", used = 0;
      for (var i = 0; i < template.length && used < digits.length; i++) {
        var ch = template.charAt(i);
        if (ch === "#") { out += digits.charAt(used); used++; } else { out += ch; }
      }
      return out;
    }
    function slots(template) { return template.split("#").length - 1; }

    // How the field may be read: [calling code, national digits, typed with the national prefix].
    function readings(value) {
      var digits = value.replace(/\D+/g, ""), found = [];
      if (!digits) { return found; }
      if (/^\s*\+/.test(value)) {
        for (var n = 1; n <= 3; n++) {
          if (table.codes[digits.slice(0, n)]) { found.push([digits.slice(0, n), digits.slice(n), false]); }
        }
      } else if (homeCode) {
        var prefix = table.codes[homeCode].p;
        if (prefix && digits.indexOf(prefix) === 0) { found.push([homeCode, digits.slice(prefix.length), true]); }
        found.push([homeCode, digits, false]);
        // "79123456789": the country code without the plus, which the server takes too.
        if (digits.indexOf(homeCode) === 0) { found.push([homeCode, digits.slice(homeCode.length), false, true]); }
      }
      return found;
    }
    // {region, text}: the country and the grouped form of one reading ("" when none fits).
    function shape(reading, plus) {
      var code = reading[0], national = reading[1], withPrefix = reading[2], region = null, text = "";
      var entry = table.codes[code];
      var digits = withPrefix ? entry.p + national : national;
      entry.regions.forEach(function (pair) {
        if (!region && (!pair[1] || starts(pair[1], national))) { region = pair[0]; }
      });
      if (national.length >= 3) {
        entry.f.some(function (row) {
          var parts = row.split(";"), template = parts[withPrefix ? 2 : 1];
          if (!template || !starts(parts[0], national) || slots(template) < digits.length) { return false; }
          text = fill(template, digits);
          return true;
        });
      }
      if (text && (plus || reading[3])) { text = (plus ? "+" : "") + code + " " + text; }
      return { region: national ? region : null, text: text };
    }
    function read(value) {
      var plus = /^\s*\+/.test(value), best = { text: "" };
      readings(value).some(function (reading) {
        var result = shape(reading, plus);
        if (!best.region) { best = result; }
        if (result.text) { best = result; return true; }
        return false;
      });
      return best;
    }

    function flag(region) {
      return String.fromCodePoint.apply(null, region.split("").map(function (c) { return 127397 + c.charCodeAt(0); }));
    }
    var shown = "";
    function update(reformat) {
      var found = read(input.value);
      var atEnd = input.selectionStart === input.value.length && input.selectionEnd === input.value.length;
      if (reformat && atEnd && found.text && found.text !== input.value) {
        input.value = found.text;
        input.setSelectionRange(found.text.length, found.text.length);
      }
      var label = "";
      if (found.region) {
        var name = names ? names.of(found.region) : found.region;
        label = flag(found.region) + " " + name;
      }
      if (label !== shown) { line.textContent = label; shown = label; }
    }
    input.addEventListener("input", function (event) {
      // Deleting stays as the person did it, so a separator can be removed without coming back.
      update(!(event.inputType && event.inputType.indexOf("delete") === 0));
    });
    update(false);
  }
  document.querySelectorAll("input[data-phone-formats]").forEach(phoneField);
})();
