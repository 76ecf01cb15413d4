// scimd portal: small progressive enhancements. Everything works without this file.
// - Copy buttons: <button data-copy="ID" hidden> copies the text of #ID to the clipboard.
// - Confirmation: forms with data-confirm="message" ask before submitting.
// - Menu: on narrow screens the menu collapses behind the "Menu" button (without this file
//   it stays open).
// - Menu entry of a section: on a page whose URL has a fragment a menu entry links to (the
//   tokens section of User Provisioning), that entry is the one marked current.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  function ready() {
    document.querySelectorAll("button.menu-toggle").forEach(function (b) {
      b.hidden = false;
    });
    document.querySelectorAll("button[data-copy]").forEach(function (b) {
      b.hidden = false;
    });
  }
  var served; // the entry the server marked (undefined until the page is read)
  function markSection() {
    var links = document.querySelectorAll(".nav a[href]");
    if (served === undefined) served = document.querySelector('.nav a[aria-current="page"]');
    var here = location.pathname + location.hash, match = served;
    links.forEach(function (a) {
      if (location.hash && a.getAttribute("href") === here) match = a;
    });
    if (!match) return;
    links.forEach(function (a) {
      if (a !== match) a.removeAttribute("aria-current");
    });
    match.setAttribute("aria-current", "page");
  }
  document.addEventListener("DOMContentLoaded", markSection);
  window.addEventListener("hashchange", markSection);
  document.addEventListener("DOMContentLoaded", ready);
  document.addEventListener("htmx:afterSettle", ready);
  document.addEventListener("click", function (e) {
    var m = e.target.closest && e.target.closest("button.menu-toggle");
    if (m) {
      var menu = document.getElementById(m.getAttribute("aria-controls"));
      var open = m.getAttribute("aria-expanded") !== "true";
      m.setAttribute("aria-expanded", open ? "true" : "false");
      if (menu) menu.classList.toggle("open", open);
      return;
    }
    var b = e.target.closest && e.target.closest("button[data-copy]");
    if (!b) return;
    e.preventDefault();
    var el = document.getElementById(b.getAttribute("data-copy"));
    if (!el) return;
    var text = (el.value !== undefined ? el.value : el.textContent).trim();
    var done = function () {
      var label = b.textContent;
      b.textContent = "Copied";
      b.setAttribute("aria-live", "polite");
      setTimeout(function () { b.textContent = label; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { select(el); });
    } else {
      select(el);
      try { document.execCommand("copy"); done(); } catch (_) { /* selected: the user copies */ }
    }
  });
  function select(el) {
    var r = document.createRange();
    r.selectNodeContents(el);
    var s = window.getSelection();
    s.removeAllRanges();
    s.addRange(r);
  }
})();
