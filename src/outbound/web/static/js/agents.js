// The agent desk and the agents page: running clocks ("for 3:07", "wrap-up ends in 12 s")
// computed in the browser from the server's timestamps, so a poll that changes nothing
// (204) needs no swap to keep them moving. No inline scripts: the CSP allows only these files.
(function () {
  "use strict";

  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
    return h ? h + ":" + mm : mm;
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-elapsed-from]").forEach(function (el) {
      var from = Date.parse(el.getAttribute("data-elapsed-from"));
      if (!isNaN(from)) { el.textContent = clock((now - from) / 1000); }
    });
    document.querySelectorAll("[data-countdown-to]").forEach(function (el) {
      var to = Date.parse(el.getAttribute("data-countdown-to"));
      if (!isNaN(to)) { el.textContent = String(Math.max(0, Math.ceil((to - now) / 1000))); }
    });
  }

  tick();
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSwap", tick);
})();
