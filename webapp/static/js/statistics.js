/* Statistics page: draws the charts from their data-chart attributes (the tables carry the same
   numbers without JavaScript): cases opened, rectified and exited per month, dimension or county. */
(function () {
  "use strict";

  var COLORS = { opened: "#1f5fa8", rectified: "#1f7a3a", exited: "#a31515" };
  var SERIES = ["opened", "rectified", "exited"];

  function option(items, names, kind) {
    var labels = items.map(function (i) { return i.name; });
    var horizontal = kind === "bar" && items.length > 6;
    var category = { type: "category", data: horizontal ? labels.slice().reverse() : labels,
                     axisLabel: { color: "#1d2733", interval: 0, width: horizontal ? 120 : 90, overflow: "truncate" } };
    var value = { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#e6eaf0" } } };
    return {
      color: SERIES.map(function (s) { return COLORS[s]; }),
      grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true },
      legend: { top: 0, textStyle: { color: "#1d2733" } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? category : value,
      series: SERIES.map(function (key) {
        var data = items.map(function (i) { return i[key]; });
        return { name: names[key], type: "bar", barMaxWidth: 18, barGap: "10%", data: horizontal ? data.reverse() : data,
                 label: { show: kind !== "month", position: horizontal ? "right" : "top", color: "#1d2733",
                          formatter: function (p) { return p.value ? p.value : ""; } } };
      })
    };
  }

  function drawCharts() {
    if (typeof window.echarts === "undefined") { return; }
    var charts = [];
    document.querySelectorAll(".chart[data-chart]").forEach(function (el) {
      var items = JSON.parse(el.getAttribute("data-chart") || "[]");
      var names = JSON.parse(el.getAttribute("data-series") || "{}");
      var kind = el.getAttribute("data-kind");
      if (!items.length) { el.style.display = "none"; return; }
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option(items, names, kind));
      charts.push(chart);
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  document.addEventListener("DOMContentLoaded", drawCharts);
})();
