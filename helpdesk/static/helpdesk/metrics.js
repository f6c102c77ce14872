// Draws the metrics page's charts from the JSON the page embeds; every chart has a table below it.
(function () {
  const source = document.getElementById("chart-data");
  if (!source || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  const rtl = document.documentElement.dir === "rtl";
  const palette = ["#2457c5", "#1b7a3d", "#a15c00", "#b3261e", "#6b3fa0", "#00838f", "#7a7a7a"];
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  const base = { responsive: true, maintainAspectRatio: false, animation: false, locale: document.documentElement.lang,
                 plugins: { legend: { rtl: rtl, position: "bottom" } } };
  const xAxis = { reverse: rtl };

  const funnel = document.getElementById("funnel-chart");
  if (funnel) {
    new Chart(funnel, { type: "bar", data: { labels: data.funnel.labels,
      datasets: [{ label: funnel.closest("section").querySelector("h2").textContent, data: data.funnel.values, backgroundColor: palette[0] }] },
      options: { ...base, indexAxis: "y", scales: { x: { beginAtZero: true, reverse: rtl }, y: { position: rtl ? "right" : "left" } },
                 plugins: { legend: { display: false } } } });
  }

  const deflection = document.getElementById("deflection-chart");
  if (deflection) {
    const rows = Array.from(document.querySelectorAll("#deflection-table tbody tr"));
    new Chart(deflection, { type: "bar", data: { labels: rows.map((r) => r.dataset.lang),
      datasets: [
        { label: document.querySelector("#explicit-deflection h2").textContent, data: rows.map((r) => 100 * parseFloat(r.dataset.explicit)), backgroundColor: palette[0] },
        { label: document.querySelector("#implicit-deflection h2").textContent, data: rows.map((r) => 100 * parseFloat(r.dataset.implicit)), backgroundColor: palette[1] },
      ] }, options: { ...base, scales: { x: xAxis, y: { beginAtZero: true, max: 100, position: rtl ? "right" : "left", ticks: { callback: (v) => v + "%" } } } } });
  }

  const precision = document.getElementById("precision-chart");
  if (precision) {
    const rows = Array.from(document.querySelectorAll("#precision-table tbody tr[data-k]"));
    new Chart(precision, { type: "bar", data: { labels: rows.map((r) => "P@" + r.dataset.k),
      datasets: [{ label: "precision", data: rows.map((r) => 100 * parseFloat(r.dataset.value)), backgroundColor: palette[2] }] },
      options: { ...base, plugins: { legend: { display: false } }, scales: { x: xAxis, y: { beginAtZero: true, max: 100, position: rtl ? "right" : "left", ticks: { callback: (v) => v + "%" } } } } });
  }

  const tickets = document.getElementById("tickets-chart");
  if (tickets) {
    const series = data.tickets.series;
    new Chart(tickets, { type: "bar", data: { labels: data.tickets.labels,
      datasets: Object.keys(series).map((lang, i) => ({ label: lang, data: series[lang], backgroundColor: palette[i % palette.length] })) },
      options: { ...base, scales: { x: { stacked: true, reverse: rtl }, y: { stacked: true, beginAtZero: true, position: rtl ? "right" : "left" } } } });
  }
})();
