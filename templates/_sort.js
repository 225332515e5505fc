(function () {
  "use strict";
  // Sorting is added by this script, and so is the hint that promises it: where a front-end does
  // not run scripts (an untrusted notebook, a mail client) the table stays plain and says nothing.
  function key(cell) {
    var s = cell.getAttribute("data-sort");
    if (s === null) { s = cell.textContent; }
    var n = Number(s);
    return (s.trim() !== "" && isFinite(n)) ? {num: true, v: n} : {num: false, v: s};
  }
  function compare(a, b) {
    if (a.num && b.num) { return a.v - b.v; }
    if (a.num !== b.num) { return a.num ? -1 : 1; }
    return a.v < b.v ? -1 : (a.v > b.v ? 1 : 0);
  }
  var tables = document.querySelectorAll("table.sortable");
  var first = null;
  Array.prototype.forEach.call(tables, function (table) {
    if (first === null) { first = table; }
    if (table.getAttribute("data-sort-ready")) { return; }  // a notebook may show several outputs
    table.setAttribute("data-sort-ready", "1");
    var heads = table.querySelectorAll("thead th");
    Array.prototype.forEach.call(heads, function (th, col) {
      var numeric = th.classList.contains("num");
      th.setAttribute("title", numeric ? "click to sort, largest first" : "click to sort");
      th.addEventListener("click", function () {
        var now = th.getAttribute("aria-sort");
        // first click: numbers largest first, text A-Z; then each click reverses
        sortBy(now === null ? !numeric : now !== "ascending");
      });
      function sortBy(asc) {
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var c = compare(key(r1.cells[col]), key(r2.cells[col]));
          if (c === 0) { return Number(r1.getAttribute("data-index")) - Number(r2.getAttribute("data-index")); }
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      // a link ending in #sort=N (or #sort=-N, descending) opens the first table sorted by column N
      var m = /^#sort=(-?)(\d+)$/.exec(window.location.hash);
      if (m && table === first && Number(m[2]) === col) { sortBy(m[1] !== "-"); }
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll(".archcalc .sort-hint"), function (el) {
    el.hidden = false;
  });
  document.documentElement.setAttribute("data-archcalc-ready", String(tables.length));
})();
