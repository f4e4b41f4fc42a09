// Keyboard for the queue and the case page. Every key has a button or link behind it, so the pages work without
// this file; it only presses them. Keys are ignored while typing in a field (Esc leaves the field).
(function () {
  "use strict";

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function press(selector) {
    var element = document.querySelector(selector);
    if (!element || element.disabled) return false;
    element.click();
    return true;
  }

  function follow(selector) {
    var link = document.querySelector(selector);
    if (link && link.href) window.location.href = link.href;
  }

  // A held-down key must not post the same verdict twice: disable the buttons once the form is on its way.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function () {
      setTimeout(function () {
        form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });

  var caseKeys = {
    c: function () { press('button[data-key="c"]'); },
    u: function () { press('button[data-key="u"]'); },
    r: function () { document.body.classList.toggle("rejecting"); },
    j: function () { follow('a[rel="next"]'); },
    ArrowRight: function () { follow('a[rel="next"]'); },
    k: function () { follow('a[rel="prev"]'); },
    ArrowLeft: function () { follow('a[rel="prev"]'); },
    q: function () { follow('a[data-key="q"]'); },
    n: function () { var note = document.querySelector('input[name="note"]'); if (note) note.focus(); },
    p: function () { var plate = document.querySelector('input[name="plate"]'); if (plate) plate.select(); },
    "?": function () { var help = document.getElementById("keys"); if (help) help.hidden = !help.hidden; },
    Escape: function () { document.body.classList.remove("rejecting"); }
  };
  ["1", "2", "3", "4", "5"].forEach(function (digit) {
    caseKeys[digit] = function () { press('button[data-key="' + digit + '"]'); };
  });

  var rows = Array.prototype.slice.call(document.querySelectorAll("table.queue tbody tr[data-href]"));
  var selected = 0;
  function select(index) {
    if (!rows.length) return;
    rows[selected].classList.remove("selected");
    selected = Math.max(0, Math.min(rows.length - 1, index));
    rows[selected].classList.add("selected");
    rows[selected].scrollIntoView({block: "nearest"});
  }
  rows.forEach(function (row) {
    row.addEventListener("click", function (e) {
      if (e.target.tagName !== "A") window.location.href = row.dataset.href;
    });
  });
  if (rows.length) select(0);
  function open() { if (rows.length) window.location.href = rows[selected].dataset.href; }
  var queueKeys = {
    j: function () { select(selected + 1); },
    ArrowDown: function () { select(selected + 1); },
    k: function () { select(selected - 1); },
    ArrowUp: function () { select(selected - 1); },
    Enter: open,
    o: open
  };

  var keys = {event: caseKeys, queue: queueKeys}[document.body.dataset.page] || {};
  document.addEventListener("keydown", function (e) {
    if (typing(e.target)) {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || !keys[e.key]) return;
    if (e.key === "Enter" && e.target !== document.body) return;  // Enter on a button or link is its own
    e.preventDefault();
    keys[e.key]();
  });
})();
