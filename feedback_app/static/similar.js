// While a resident types a view, ask for published views that say much the same, so that they
// can add their support to one instead of sending a copy. The server renders the suggestions
// (translated, escaped); this only fetches them a moment after typing stops. Without JavaScript
// the form works the same, without suggestions.
(function () {
  "use strict";
  var PAUSE_MS = 800;
  var region = document.getElementById("similar-views");
  var box = region && document.getElementById(region.getAttribute("data-for"));
  var token = document.querySelector("input[name=csrf_token]");
  if (!box || !token) { return; }
  // Shorter drafts are never asked about; the server says how short (public/views.py).
  var MIN_LENGTH = parseInt(region.getAttribute("data-min-length"), 10) || 0;
  var timer = null;
  var asked = "";
  function ask() {
    var text = box.value.trim();
    if (text.length < MIN_LENGTH || text === asked) { return; }
    asked = text;
    var body = new URLSearchParams();
    body.set("text", text);
    body.set("csrf_token", token.value);
    fetch(region.getAttribute("data-source"), {method: "POST", body: body, credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        // A later answer may overtake an earlier one: only the latest draft's is shown.
        if (html === null || asked !== text) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        region.replaceChildren.apply(region, Array.prototype.slice.call(fresh.body.childNodes));
      })
      .catch(function () { asked = ""; });  // offline or limited: try again on the next pause
  }
  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, PAUSE_MS);
  });
  if (box.value.trim().length >= MIN_LENGTH) { ask(); }  // text kept after a form error
})();
