// The copy button beside a read-only field (the tracking link). Progressive enhancement: the
// button stays hidden without JavaScript, and the field can always be selected by hand.
(function () {
  "use strict";
  function announce(button, message) {
    var status = button.parentNode.parentNode.querySelector(".copy-status");
    if (status) { status.textContent = message; }
  }
  function copy(button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    var done = function () { announce(button, button.getAttribute("data-copied")); };
    var fallback = function () {
      field.focus();
      field.select();
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
      announce(button, copied ? button.getAttribute("data-copied") : button.getAttribute("data-failed"));
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, fallback);
    } else {
      fallback();
    }
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { copy(button); });
  });
})();
