// The supervision statistics page's charts (Chart.js, only the parts used: bar and line charts on category and
// linear scales, with legend and tooltips). The figures come from the page's JSON block #stats-data; every chart has
// its table on the page, so a failure here leaves nothing unread.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";

Chart.register(BarController, BarElement, CategoryScale, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);

// The design system's palette (GOV.UK Frontend's colours under our identity): distinguishable and print-safe.
const COLOURS = ["#1d70b8", "#00703c", "#d4351c", "#f47738", "#4c2c92", "#505a5f"];

function options(extra = {}) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    scales: { y: { beginAtZero: true, ...(extra.y || {}) }, x: { stacked: !!extra.stacked } },
    plugins: { legend: { position: "bottom" } },
  };
}

function build(canvas, data) {
  const kind = canvas.dataset.chart;
  const labels = data.labels;
  let config;
  if (kind === "intake") {
    config = {
      type: "bar",
      data: {
        labels,
        datasets: data.intake.series.map((s, i) => ({ label: s.label, data: s.data, backgroundColor: COLOURS[i % COLOURS.length] })),
      },
      options: options({ stacked: true, y: { stacked: true } }),
    };
  } else if (kind === "on_time") {
    config = {
      type: "line",
      data: { labels, datasets: [{ label: data.on_time.label, data: data.on_time.data, borderColor: COLOURS[1], backgroundColor: COLOURS[1], spanGaps: false }] },
      options: options({ y: { max: 100 } }),
    };
  } else if (kind === "time") {
    config = {
      type: "bar",
      data: {
        labels,
        datasets: data.time.series.map((s, i) => ({ label: s.label, data: s.data, backgroundColor: COLOURS[i === 0 ? 0 : 5] })),
      },
      options: options(),
    };
  } else if (kind === "deemed") {
    config = {
      type: "bar",
      data: { labels, datasets: [{ label: data.deemed.label, data: data.deemed.data, backgroundColor: COLOURS[2] }] },
      options: options(),
    };
  } else if (kind === "ratings") {
    config = {
      type: "bar",
      data: {
        labels: data.ratings.labels,
        datasets: [{ label: data.ratings.label, data: data.ratings.data, backgroundColor: [COLOURS[1], COLOURS[0], COLOURS[5], COLOURS[3], COLOURS[2]] }],
      },
      options: options(),
    };
  } else {
    return;
  }
  config.options.scales.y.ticks = { precision: 0 };
  canvas.chart = new Chart(canvas, config);
  canvas.dataset.rendered = "true";
}

const source = document.getElementById("stats-data");
if (source) {
  const data = JSON.parse(source.textContent);
  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => build(canvas, data));
  document.documentElement.dataset.chartsReady = "true";
}
