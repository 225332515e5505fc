// Any script error is written into the page, where the headless-browser test looks for it.
window.addEventListener("error", function (e) {
  var root = document.documentElement;
  root.setAttribute("data-archcalc-error", (root.getAttribute("data-archcalc-error") || "") + String(e.message) + "\n");
});
