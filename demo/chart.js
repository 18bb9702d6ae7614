// A small canvas line chart of download and upload rates over the last
// minutes: enough for the demo, with no charting library to ship or update.
export class RateChart {
  #canvas;
  #series; // [{ color, dash? }], one per value in a sample
  #points = []; // [{ t, values: [...] }]
  #windowS;

  constructor(canvas, series, windowS = 120) {
    this.#canvas = canvas;
    this.#series = series;
    this.#windowS = windowS;
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  /** Adds one sample (values in bytes per second, one per series) at time t (seconds). */
  push(t, values) {
    this.#points.push({ t, values });
    while (this.#points.length && this.#points[0].t < t - this.#windowS) this.#points.shift();
    this.draw();
  }

  draw() {
    const canvas = this.#canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    if (!w || !h) return;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);

    const pad = { left: 72, right: 12, top: 10, bottom: 22 };
    const plotW = w - pad.left - pad.right;
    const plotH = h - pad.top - pad.bottom;
    // Whole KiB/s steps, and at least 100 KiB/s so an idle chart has a sane scale.
    const maxV = 1024 * niceCeil(Math.max(100, ...this.#points.flatMap((p) => p.values.map((v) => v / 1024))));
    const tEnd = this.#points.at(-1)?.t ?? 0;
    const x = (t) => pad.left + plotW * (1 - (tEnd - t) / this.#windowS);
    const y = (v) => pad.top + plotH * (1 - v / maxV);

    const style = getComputedStyle(canvas);
    ctx.font = `11px ${style.fontFamily}`;
    ctx.fillStyle = style.color;
    ctx.strokeStyle = style.getPropertyValue("--grid") || "#ddd";
    ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const v = (maxV * i) / 4;
      ctx.beginPath();
      ctx.moveTo(pad.left, y(v));
      ctx.lineTo(w - pad.right, y(v));
      ctx.stroke();
      ctx.textAlign = "right";
      ctx.textBaseline = "middle";
      ctx.fillText(formatRate(v), pad.left - 6, y(v));
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (let ago = 0; ago <= this.#windowS; ago += 30) {
      ctx.fillText(ago ? `-${ago}s` : "now", Math.min(x(tEnd - ago), w - pad.right - 12), h - pad.bottom + 6);
    }

    ctx.lineWidth = 2;
    ctx.lineJoin = "round";
    this.#series.forEach((s, i) => {
      ctx.strokeStyle = s.color;
      ctx.setLineDash(s.dash ?? []);
      ctx.beginPath();
      this.#points.forEach((p, j) => (j ? ctx.lineTo : ctx.moveTo).call(ctx, x(p.t), y(p.values[i])));
      ctx.stroke();
    });
    ctx.setLineDash([]);
  }
}

/** 1, 2 or 5 times a power of ten, at least v: round axis maxima. */
function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((c) => c >= v);
}

export function formatRate(bytesPerS) {
  return `${formatBytes(bytesPerS)}/s`;
}

export function formatBytes(n) {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
