// Draws the README's chart of a benchmark run (P2P ratio over time, one line
// per engine) as SVG, and rasterises it to PNG with the headless Chromium the
// benchmark already uses, so no image library is needed.
import { writeFile } from "node:fs/promises";
import { launchBrowser } from "../../tests/support/browser.mjs";
import { engineName } from "./report.mjs";

const COLORS = { hls: "#e0693a", p2pml: "#7a5af5", swarmcast: "#2f9e6e" };
const W = 800;
const H = 400;
const PAD = { left: 56, right: 20, top: 44, bottom: 44 };

/** An SVG of each row's ratioOverTime, with the P2P-ratio target (report.mjs chartTarget) as a dashed line. */
export function chartSvg(rows, { n, seconds, target }) {
  const pw = W - PAD.left - PAD.right;
  const ph = H - PAD.top - PAD.bottom;
  const x = (t) => PAD.left + (pw * t) / seconds;
  const y = (r) => PAD.top + ph * (1 - r);
  const parts = [];
  for (let r = 0; r <= 1.0001; r += 0.25) {
    parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(r)}" y2="${y(r)}" stroke="#e4e7ec"/>`);
    parts.push(`<text x="${PAD.left - 8}" y="${y(r) + 4}" text-anchor="end">${Math.round(r * 100)} %</text>`);
  }
  for (let t = 0; t <= seconds; t += seconds > 60 ? 20 : 10) {
    parts.push(`<text x="${x(t)}" y="${H - PAD.bottom + 18}" text-anchor="middle">${t} s</text>`);
  }
  if (target) {
    parts.push(
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(target.ratio)}" y2="${y(target.ratio)}" stroke="#999" stroke-dasharray="6 4"/>`,
      `<text x="${W - PAD.right}" y="${y(target.ratio) - 6}" text-anchor="end" fill="#666">${target.label} ${Math.round(target.ratio * 100)} %</text>`,
    );
  }
  rows.forEach((row, i) => {
    const pts = row.ratioOverTime.map((p) => `${x(p.t).toFixed(1)},${y(p.ratio).toFixed(1)}`).join(" ");
    const color = COLORS[row.engine];
    parts.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2.5" stroke-linejoin="round"/>`);
    const lx = PAD.left + 10 + i * 210;
    parts.push(`<rect x="${lx}" y="14" width="18" height="4" fill="${color}"/>`, `<text x="${lx + 24}" y="20">${engineName(row.engine)}</text>`);
  });
  parts.push(`<text x="${W / 2}" y="${H - 6}" text-anchor="middle" fill="#666">P2P share of downloaded bytes (last 10 s), N = ${n} viewers</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif" font-size="12" fill="#1d2330">
<rect width="100%" height="100%" fill="#fff"/>
${parts.join("\n")}
</svg>`;
}

/** Writes the chart to `file` as PNG. */
export async function writeChartPng(file, rows, opts) {
  await svgToPng(file, chartSvg(rows, opts), { width: W, height: H });
}

/** Rasterises an SVG of `width` x `height` into the PNG `file` (at 2x). */
export async function svgToPng(file, svg, { width, height }) {
  const { browser, close } = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: 2 });
    await page.setContent(`<body style="margin:0">${svg}</body>`);
    await writeFile(file, await page.locator("svg").screenshot());
  } finally {
    await close();
  }
}
