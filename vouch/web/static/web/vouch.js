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
})();
