// While a retraining runs, fetch the page every few seconds and replace only the sections that
// change (runs, versions, history), so progress moves without a full reload, which would lose a
// keyboard user's place. Polling stops once no run is waiting or running.
(function () {
  "use strict";
  var INTERVAL_MS = 3000;
  function poll() {
    var runs = document.getElementById("training-runs");
    if (!runs || !runs.hasAttribute("data-refresh")) { return; }
    fetch(runs.getAttribute("data-refresh"), {credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("section.refreshed[id]").forEach(function (section) {
          var replacement = fresh.getElementById(section.id);
          if (replacement) { section.replaceWith(replacement); }
        });
        setTimeout(poll, INTERVAL_MS);
      })
      .catch(function () { setTimeout(poll, INTERVAL_MS * 3); });
  }
  setTimeout(poll, INTERVAL_MS);
})();
