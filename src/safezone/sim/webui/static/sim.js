/* A running simulation's page: polls /api/v1/sim/runs/<id> every few seconds, moves the
   progress bar, and reloads the page once the run is done or failed (the results are drawn
   by the server). No inline script: works under the strict Content-Security-Policy. */
(function () {
  "use strict";
  var bar = document.getElementById("sim-progress");
  if (!bar) {
    return;
  }
  var percent = document.getElementById("sim-percent");
  var url = "/api/v1/sim/runs/" + bar.getAttribute("data-run");

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (run) {
        if (!run) {
          window.setTimeout(poll, 10000);
          return;
        }
        bar.value = run.progress;
        if (percent) {
          percent.textContent = Math.round(run.progress * 100) + " %";
        }
        if (run.status === "done" || run.status === "failed") {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, 3000);
      })
      .catch(function () {
        window.setTimeout(poll, 10000);
      });
  }
  window.setTimeout(poll, 2000);
})();
