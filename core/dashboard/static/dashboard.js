// Keyboard navigation in the calendar: arrow keys move between days, Enter opens the first post.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var cells = Array.prototype.slice.call(document.querySelectorAll(".calendar td.day"));
    if (!cells.length) { return; }
    var start = document.querySelector(".calendar td.today") || cells[0];
    start.tabIndex = 0;
    document.querySelector(".calendar").addEventListener("keydown", function (event) {
      var cell = event.target.closest ? event.target.closest("td.day") : null;
      if (!cell || event.target !== cell) { return; }
      var moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 };
      if (event.key === "Enter") {
        var link = cell.querySelector("a");
        if (link) { link.click(); }
        return;
      }
      if (!(event.key in moves)) { return; }
      var next = cells[cells.indexOf(cell) + moves[event.key]];
      if (!next) { return; }
      event.preventDefault();
      cell.tabIndex = -1;
      next.tabIndex = 0;
      next.focus();
    });
  });
})();
