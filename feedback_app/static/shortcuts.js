// Keyboard shortcuts on a review page. The list of shortcuts shown on the page is also what this
// script obeys: each <dd data-target="selector" data-do="click|focus"> names what its key does.
// A key typed into a field is text, never a shortcut; without JavaScript the list is still true
// as a description of the buttons, which work by Tab and Enter.
(function () {
  "use strict";
  var list = document.getElementById("shortcuts");
  if (!list) { return; }
  var actions = {};
  list.querySelectorAll("dd[data-target]").forEach(function (dd) {
    var key = dd.previousElementSibling && dd.previousElementSibling.textContent.trim().toLowerCase();
    if (key) { actions[key] = dd; }
  });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || event.defaultPrevented) { return; }
    var active = document.activeElement;
    if (active && (active.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName))) { return; }
    var dd = actions[event.key.toLowerCase()];
    if (!dd) { return; }
    var target = document.querySelector(dd.getAttribute("data-target"));
    if (!target) { return; }
    event.preventDefault();
    if (dd.getAttribute("data-do") === "focus") { target.focus(); } else { target.click(); }
  });
})();
