// Draws the campaign page's (and the agents page's) charts from the JSON island #chart-data, and again each time
// htmx swaps in fresh figures. No inline scripts: the pages' CSP allows only files from here.
(function () {
  "use strict";
  var charts = {};

  function draw(kind, canvas, data) {
    if (kind === "agents") {
      return {
        type: "bar",
        data: {
          labels: data.agents.labels,
          datasets: data.agents.datasets.map(function (d) {
            return { label: d.label, data: d.data, backgroundColor: d.colour, stack: "t" };
          }),
        },
        options: {
          indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
          scales: { x: { stacked: true, beginAtZero: true }, y: { stacked: true } },
          plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        },
      };
    }
    if (kind === "timeline") {
      return {
        type: "bar",
        data: {
          labels: data.timeline.labels,
          datasets: data.timeline.datasets.map(function (d) {
            return { label: d.label, data: d.data, backgroundColor: d.colour, stack: "o" };
          }),
        },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          scales: { x: { stacked: true, ticks: { maxRotation: 0, autoSkip: true } },
                    y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
          plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        },
      };
    }
    return {
      type: "bar",
      data: {
        labels: data.states.labels,
        datasets: [{ label: "Contacts", data: data.states.values, backgroundColor: data.states.colours }],
      },
      options: {
        indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { display: false } },
      },
    };
  }

  function render() {
    var island = document.getElementById("chart-data");
    if (!island || typeof Chart === "undefined") return;
    var data = JSON.parse(island.textContent);
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var kind = canvas.getAttribute("data-chart");
      var old = charts[kind];
      if (old && old.canvas === canvas) {
        var fresh = draw(kind, canvas, data);
        old.data.labels = fresh.data.labels;
        old.data.datasets = fresh.data.datasets;
        old.update();
        return;
      }
      if (old) old.destroy();
      charts[kind] = new Chart(canvas, draw(kind, canvas, data));
    });
  }

  document.addEventListener("DOMContentLoaded", render);
  document.addEventListener("htmx:afterSettle", render);
})();
