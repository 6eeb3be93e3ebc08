// Live updates for the dashboard: the server pushes its status every second
// over Server-Sent Events; elements marked data-live="path" show that value,
// and strategy rows (data-strategy) their fields (data-field).
(function () {
  if (!window.EventSource) { return; }
  var dot = document.getElementById("live-dot");
  var source = new EventSource("/events");
  function at(obj, path) {
    return path.split(".").reduce(function (o, k) { return o == null ? undefined : o[k]; }, obj);
  }
  source.addEventListener("status", function (e) {
    var s;
    try { s = JSON.parse(e.data); } catch (err) { return; }
    if (dot) { dot.className = "live-dot on"; dot.title = "live"; }
    document.querySelectorAll("[data-live]").forEach(function (el) {
      var v = at(s, el.getAttribute("data-live"));
      if (v !== undefined && v !== null) { el.textContent = String(v); }
    });
    (s.strategies || []).forEach(function (st) {
      document.querySelectorAll('[data-strategy="' + st.name + '"] [data-field]').forEach(function (el) {
        var v = st[el.getAttribute("data-field")];
        if (v !== undefined && v !== null) { el.textContent = String(v); }
      });
    });
  });
  source.onerror = function () { if (dot) { dot.className = "live-dot"; dot.title = "reconnecting"; } };
  // A browser allows a handful of connections per server: a page kept in the
  // back-forward cache must not hold one open, or later pages wait for it.
  window.addEventListener("pagehide", function () { source.close(); });
  window.addEventListener("pageshow", function (e) { if (e.persisted) { location.reload(); } });
})();
