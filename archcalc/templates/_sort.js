(function () {
  "use strict";
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
  Array.prototype.forEach.call(tables, function (table) {
    var heads = table.querySelectorAll("thead th");
    Array.prototype.forEach.call(heads, function (th, col) {
      th.setAttribute("title", "click to sort");
      th.addEventListener("click", function () {
        sortBy(th.getAttribute("aria-sort") !== "ascending");
      });
      function sortBy(asc) {
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var c = compare(key(r1.cells[col]), key(r2.cells[col]));
          if (c === 0) { c = Number(r1.getAttribute("data-index")) - Number(r2.getAttribute("data-index")); return c; }
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      // a link ending in #sort=N (or #sort=-N, descending) opens the first table sorted by column N
      var m = /^#sort=(-?)(\d+)$/.exec(window.location.hash);
      if (m && table === tables[0] && Number(m[2]) === col) { sortBy(m[1] !== "-"); }
    });
  });
  document.documentElement.setAttribute("data-archcalc-ready", String(tables.length));
})();
