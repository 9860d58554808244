// The flow editor: line numbers, the server's errors at their lines as one types, the
// draft's diagram and a simulator of the draft. Everything is checked on the server (the
// same loader and linter as publishing); this file only asks and shows.
(function () {
  "use strict";
  var form = document.getElementById("flow-editor");
  if (!form) return;
  var text = document.getElementById("flow-text");
  var gutter = document.getElementById("gutter");
  var list = document.getElementById("flow-errors");
  var status = document.getElementById("flow-status");
  var publish = document.getElementById("publish-button");
  var diagram = document.getElementById("draft-diagram");
  var simLog = document.getElementById("sim-log");
  var simText = document.getElementById("sim-text");
  var simLang = document.getElementById("sim-lang");
  var csrf = form.dataset.csrf;
  var inputs = [];
  var errorLines = {};
  var timer = null;
  var asked = 0;

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    }).then(function (r) {
      if (!r.ok) throw new Error(r.status + "");
      return r.json();
    });
  }

  function el(tag, cls, content) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  function bilingual(zh, en) {
    var span = el("span", null, zh + " ");
    span.appendChild(el("span", "en", en));
    return span;
  }

  function drawGutter() {
    var count = text.value.split("\n").length;
    var frag = document.createDocumentFragment();
    for (var i = 1; i <= count; i++) {
      var n = el("div", errorLines[i] ? "ln err" : "ln", String(i));
      if (errorLines[i]) n.title = errorLines[i];
      frag.appendChild(n);
    }
    gutter.replaceChildren(frag);
    gutter.scrollTop = text.scrollTop;
  }

  function jumpTo(line) {
    var lines = text.value.split("\n");
    var start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
    var end = start + (lines[line - 1] || "").length;
    text.focus();
    text.setSelectionRange(start, end);
    var height = parseFloat(getComputedStyle(text).lineHeight) || 20;
    text.scrollTop = Math.max(0, (line - 3) * height);
    gutter.scrollTop = text.scrollTop;
  }

  function showErrors(errors) {
    errorLines = {};
    var items = document.createDocumentFragment();
    errors.forEach(function (e) {
      if (e.line) errorLines[e.line] = (errorLines[e.line] ? errorLines[e.line] + "\n" : "") + e.zh + " / " + e.message;
      var li = el("li");
      var jump = el("button", "jump");
      jump.type = "button";
      if (e.line) {
        jump.dataset.line = e.line;
        jump.appendChild(bilingual("第 " + e.line + " 行", "line " + e.line));
      } else {
        jump.appendChild(bilingual("文件", "file"));
      }
      li.appendChild(jump);
      li.appendChild(el("span", "path", " " + e.path + " "));
      li.appendChild(bilingual(e.zh, e.message));
      items.appendChild(li);
    });
    list.replaceChildren(items);
    status.replaceChildren(
      errors.length
        ? bilingual("有 " + errors.length + " 处错误，不能发布", errors.length + " error(s): cannot publish")
        : bilingual("没有错误", "No errors")
    );
    status.className = errors.length ? "status bad" : "status good";
    if (publish) publish.disabled = errors.length > 0;
    drawGutter();
  }

  function showDiagram(svg) {
    var doc = new DOMParser().parseFromString(svg, "image/svg+xml");
    diagram.replaceChildren(document.importNode(doc.documentElement, true));
  }

  function showSimulation(result) {
    var frag = document.createDocumentFragment();
    if (!result.ok) {
      frag.appendChild(el("p", "hint", "草稿有错误，改正后才能模拟。Fix the draft's errors to simulate it."));
    }
    (result.turns || []).forEach(function (turn) {
      if (turn.said !== null) frag.appendChild(el("div", "bubble me", turn.said));
      turn.messages.forEach(function (m) {
        var b = el("div", "bubble bot", m.text);
        if (m.choices.length) {
          var row = el("div", "choices");
          m.choices.forEach(function (c) {
            var choice = el("button", "choice", c.number + ". " + c.label);
            choice.type = "button";
            choice.dataset.answer = String(c.number);
            row.appendChild(choice);
          });
          b.appendChild(row);
        }
        frag.appendChild(b);
      });
      turn.notes.forEach(function (n) {
        frag.appendChild(el("div", "sim-note", n));
      });
    });
    simLog.replaceChildren(frag);
    simLog.scrollTop = simLog.scrollHeight;
  }

  function simulate() {
    return post(form.dataset.simulate, { text: text.value, inputs: inputs, lang: simLang.value })
      .then(showSimulation)
      .catch(function () {
        simLog.replaceChildren(el("p", "error", "模拟失败，请刷新页面。The simulator failed: reload the page."));
      });
  }

  function check() {
    var mine = ++asked;
    post(form.dataset.validate, { text: text.value })
      .then(function (result) {
        if (mine !== asked) return; // a newer check is on its way
        showErrors(result.errors);
        if (result.ok) {
          post(form.dataset.diagram, { text: text.value }).then(function (d) {
            if (mine === asked && d.ok) showDiagram(d.svg);
          });
          simulate();
        }
      })
      .catch(function () {
        status.replaceChildren(bilingual("无法检查（已退出登录？）", "Cannot check (logged out?)"));
        status.className = "status bad";
      });
  }

  function send(answer) {
    if (!answer) return;
    inputs.push(answer);
    simText.value = "";
    simulate();
  }

  text.addEventListener("input", function () {
    drawGutter();
    clearTimeout(timer);
    timer = setTimeout(check, 400);
  });
  text.addEventListener("scroll", function () {
    gutter.scrollTop = text.scrollTop;
  });
  list.addEventListener("click", function (event) {
    var button = event.target.closest("button.jump");
    if (button && button.dataset.line) jumpTo(parseInt(button.dataset.line, 10));
  });
  gutter.addEventListener("click", function (event) {
    var n = event.target.closest(".ln.err");
    if (n) jumpTo(parseInt(n.textContent, 10));
  });
  simLog.addEventListener("click", function (event) {
    var choice = event.target.closest("button.choice");
    if (choice) send(choice.dataset.answer);
  });
  document.getElementById("sim-send").addEventListener("click", function () {
    send(simText.value.trim());
  });
  simText.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault(); // not the publish form's submit
      send(simText.value.trim());
    }
  });
  document.getElementById("sim-restart").addEventListener("click", function () {
    inputs = [];
    simulate();
  });
  simLang.addEventListener("change", function () {
    inputs = [];
    simulate();
  });
  // Errors the server already found (a refused publish) are in the page: mark their lines.
  Array.prototype.forEach.call(list.querySelectorAll("button.jump[data-line]"), function (b) {
    if (b.dataset.line) errorLines[b.dataset.line] = b.parentNode.textContent.trim();
  });
  drawGutter();
  check();
})();
