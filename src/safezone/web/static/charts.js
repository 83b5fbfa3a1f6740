/* Draws every chart on the page: elements with a data-figure attribute (plotly JSON written by
   safezone.web.charts). Loaded with "defer" by the shared layout; plotly.js (3.5 MB) is fetched
   only on pages that have a chart, and drawing waits for it, so no chart code runs before plotly
   exists. No inline script: works under a Content-Security-Policy without 'unsafe-inline'. */
(function () {
  "use strict";
  var plots = document.querySelectorAll("[data-figure]");
  if (!plots.length) {
    return;
  }

  function failed() {
    plots.forEach(function (element) {
      element.textContent = element.getAttribute("data-failed") || "";
      element.classList.add("chart-empty");
    });
  }

  function draw() {
    plots.forEach(function (element) {
      var figure = JSON.parse(element.getAttribute("data-figure"));
      var config = Object.assign({ responsive: true, displayModeBar: false }, figure.config || {});
      window.Plotly.newPlot(element, figure.data, figure.layout, config);
    });
  }

  if (window.Plotly) {
    draw();
    return;
  }
  var script = document.createElement("script");
  script.src = "/assets/plotly.min.js";
  script.onload = draw;
  script.onerror = failed;
  document.head.appendChild(script);
})();
