// The campaign page's live progress: polls the progress API (same session cookie) and
// updates the numbers in place, so staff watch a campaign without reloading.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  var stamp = document.getElementById("progress-updated");
  var reasons = document.getElementById("unreachable-reasons");
  var EVERY_MS = 5000;

  function show(data) {
    var cells = box.querySelectorAll("[data-count]");
    for (var i = 0; i < cells.length; i++) {
      var key = cells[i].getAttribute("data-count");
      if (key in data) { cells[i].textContent = String(data[key]); }
    }
    reasons.textContent = "";
    var list = data.unreachable_reasons || [];
    if (!list.length) {
      var none = document.createElement("li");
      none.className = "hint";
      none.textContent = "—";
      reasons.appendChild(none);
    }
    list.forEach(function (r) {
      var li = document.createElement("li");
      var n = document.createElement("span");
      n.className = "num";
      n.textContent = String(r.count);
      li.appendChild(n);
      li.appendChild(document.createTextNode(" " + r.reason));
      reasons.appendChild(li);
    });
    stamp.textContent = "更新于 updated " + new Date().toLocaleTimeString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { show(data); } })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(poll, EVERY_MS); });
  }
  window.setTimeout(poll, EVERY_MS);
})();
