/* Draws the report page's charts with the vendored ECharts. Each chart's data is in its
   element's data-chart attribute (JSON written by admin/reports/view.py): the console's CSP
   runs no inline script. SVG rendering: sharp in print and on a phone's screen. */
(function () {
  "use strict";
  var RED = "#c8102e";
  var PALETTE = [RED, "#e08a00", "#0b57a4", "#2e7d32", "#6a1b9a", "#00838f", "#8d6e63", "#546e7a"];
  var FONT = '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", sans-serif';

  function bar(spec) {
    // Horizontal bars: long Chinese option labels stay readable on a narrow screen.
    var labels = spec.labels.slice().reverse();
    var values = spec.values.slice().reverse();
    var shares = (spec.shares || []).slice().reverse();
    return {
      color: [RED],
      // right: room for the "60（61.22%）" label past the longest bar (containLabel counts axes only).
      grid: { left: 8, right: 104, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", minInterval: 1, axisLabel: { show: false }, splitLine: { show: false } },
      yAxis: { type: "category", data: labels, axisTick: { show: false },
               axisLabel: { width: 150, overflow: "break", fontSize: 13 } },
      series: [{
        type: "bar", data: values, barMaxWidth: 26,
        label: { show: true, position: "right", fontSize: 13,
                 formatter: function (p) { return shares.length ? p.value + "（" + shares[p.dataIndex] + "）" : String(p.value); } }
      }]
    };
  }

  function histogram(spec) {
    return {
      color: [RED],
      grid: { left: 8, right: 8, top: 24, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: spec.labels, axisTick: { alignWithLabel: true } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "bar", data: spec.values, barCategoryGap: "4%", label: { show: true, position: "top" } }]
    };
  }

  function pie(spec) {
    return {
      color: ["#2e7d32", "#9e9e9e", RED],
      legend: { bottom: 0 },
      series: [{
        type: "pie", radius: ["35%", "65%"], center: ["50%", "45%"],
        data: spec.labels.map(function (label, i) { return { name: label, value: spec.values[i] }; }),
        label: { formatter: "{b} {c}（{d}%）", fontSize: 13 }
      }]
    };
  }

  var BUILDERS = { bar: bar, histogram: histogram, pie: pie };
  var charts = [];

  function heightFor(spec) {
    if (spec.type === "bar") { return Math.max(120, 40 * spec.labels.length + 16); }
    return 260;
  }

  function draw(el) {
    var spec;
    try { spec = JSON.parse(el.getAttribute("data-chart")); } catch (e) { return; }
    var build = BUILDERS[spec.type];
    if (!build) { return; }
    el.style.height = heightFor(spec) + "px";
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    var option = build(spec);
    option.textStyle = { fontFamily: FONT };
    option.animation = false;
    option.aria = { enabled: true };
    chart.setOption(option);
    charts.push(chart);
  }

  function resizeAll() { charts.forEach(function (c) { c.resize(); }); }

  document.querySelectorAll(".chart[data-chart]").forEach(draw);
  document.documentElement.classList.add("charts-drawn");
  window.addEventListener("resize", resizeAll);
  // Paper is narrower than most screens: fit the charts to it before printing.
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
})();
