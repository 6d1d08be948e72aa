/* Timer board: draws the count charts from their data-chart attributes (the tables beside them
   carry the same numbers without JavaScript); the digest's print button. */
(function () {
  "use strict";

  var PALETTE = ["#1f5fa8", "#a31515", "#b26a00", "#1f7a3a", "#6b4fa3", "#2b8a99", "#8a6d3b", "#5b6775"];
  // A bar's name (a department's: "Human Resources and Social Security Bureau") wraps onto lines of this width,
  // every name shown in full; the chart grows to give each bar the lines of the longest name.
  var LABEL_WIDTH = 150, LINE_HEIGHT = 15, LABEL_FONT = "12px sans-serif", BAR_CHART_HEIGHT = 300;

  function labelLines(text) {
    var context = labelLines.context || (labelLines.context = document.createElement("canvas").getContext("2d"));
    context.font = LABEL_FONT;  // ECharts' own label font
    var lines = 1, line = "";
    String(text).split(/\s+/).forEach(function (word) {
      var longer = line ? line + " " + word : word;
      if (context.measureText(longer).width <= LABEL_WIDTH) { line = longer; return; }
      if (line) { lines += 1; }
      lines += Math.ceil(context.measureText(word).width / LABEL_WIDTH) - 1;  // a word wider than a line breaks
      line = word;
    });
    return lines;
  }

  function barHeight(items) {
    var lines = Math.max.apply(null, items.map(function (i) { return labelLines(i.name); }));
    return Math.max(BAR_CHART_HEIGHT, items.length * (lines * LINE_HEIGHT + 12) + 40);
  }

  function barOption(items) {
    var shown = items.slice().reverse();
    return {
      color: PALETTE,
      grid: { left: 8, right: 36, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#e6eaf0" } } },
      yAxis: { type: "category", data: shown.map(function (i) { return i.name; }),
               axisLabel: { color: "#1d2733", width: LABEL_WIDTH, overflow: "break", lineHeight: LINE_HEIGHT,
                            interval: 0 } },
      series: [{ type: "bar", barMaxWidth: 22, data: shown.map(function (i) { return i.count; }),
                 label: { show: true, position: "right", color: "#1d2733" } }]
    };
  }

  function pieOption(items) {
    return {
      color: PALETTE,
      tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
      legend: { bottom: 0, icon: "circle", itemWidth: 10, textStyle: { color: "#1d2733" } },
      series: [{ type: "pie", radius: ["36%", "64%"], center: ["50%", "44%"],
                 label: { position: "inside", formatter: "{c}", color: "#fff", fontWeight: "bold" },
                 data: items.map(function (i) { return { name: i.name, value: i.count, code: i.code }; }) }]
    };
  }

  function drawCharts() {
    if (typeof window.echarts === "undefined") { return; }
    var charts = [];
    document.querySelectorAll(".chart[data-chart]").forEach(function (el) {
      var items = JSON.parse(el.getAttribute("data-chart") || "[]");
      if (!items.length) { el.style.display = "none"; return; }
      var pie = el.getAttribute("data-kind") === "pie";
      if (!pie) { el.style.height = barHeight(items) + "px"; }
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(pie ? pieOption(items) : barOption(items));
      var link = el.getAttribute("data-link");
      if (link) {
        chart.on("click", function (params) {
          var item = el.getAttribute("data-kind") === "pie" ? items[params.dataIndex]
            : items[items.length - 1 - params.dataIndex];
          if (item) { window.location.href = link + encodeURIComponent(item.code); }
        });
      }
      charts.push(chart);
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  function wirePrint() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  function wireCustomDuration() {
    var select = document.getElementById("by");
    var custom = document.getElementById("custom");
    if (!select || !custom) { return; }
    custom.addEventListener("input", function () { if (custom.value) { select.value = "custom"; } });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    wirePrint();
    wireCustomDuration();
  });
})();
