// Vigia's dashboard works without this script; it adds two things.
// 1. Pages that ask for it (the overview) reload themselves, unless the
//    reader is typing in a field or the tab is hidden.
// 2. Buttons that delete or revoke ask first.
"use strict";
(function () {
  var meta = document.querySelector('meta[name="vigia-refresh"]');
  if (meta) {
    var secs = parseInt(meta.getAttribute("content"), 10);
    if (secs > 0) {
      setInterval(function () {
        var el = document.activeElement;
        var typing = el && (el.tagName === "INPUT" || el.tagName === "SELECT" || el.tagName === "TEXTAREA");
        if (!document.hidden && !typing) {
          window.location.reload();
        }
      }, secs * 1000);
    }
  }
  document.addEventListener("submit", function (e) {
    var button = e.submitter || e.target.querySelector("button.danger");
    if (button && button.classList.contains("danger")) {
      if (!window.confirm(button.textContent.trim() + "?")) {
        e.preventDefault();
      }
    }
  });
})();
