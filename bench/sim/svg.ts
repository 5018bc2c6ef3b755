/** A small line chart as SVG text (no dependency: axes, grid, lines, a legend, marker lines). */

export interface Series {
  name: string;
  points: { x: number; y: number }[];
  color: string;
  dashed?: boolean;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  xMax: number;
  yMax: number;
  series: Series[];
  /** vertical marker lines, e.g. the slot length */
  xMarks?: { x: number; label: string }[];
  /** horizontal marker lines, e.g. 99 % */
  yMarks?: { y: number; label: string }[];
  yFormat?: (y: number) => string;
}

const W = 720;
const H = 420;
const M = { left: 64, right: 20, top: 40, bottom: 56 };

function xmlEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function niceStep(span: number, ticks: number): number {
  const raw = span / ticks;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

export function lineChart(spec: ChartSpec): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (v: number) => M.left + (Math.min(v, spec.xMax) / spec.xMax) * pw;
  const y = (v: number) => M.top + ph - (Math.min(v, spec.yMax) / spec.yMax) * ph;
  const fy = spec.yFormat ?? ((v: number) => String(v));
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${xmlEscape(spec.title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${xmlEscape(spec.title)}</text>`,
  );
  const xs = niceStep(spec.xMax, 8);
  for (let v = 0; v <= spec.xMax + 1e-9; v += xs) {
    out.push(
      `<line x1="${x(v)}" y1="${M.top}" x2="${x(v)}" y2="${M.top + ph}" stroke="#eee"/>`,
      `<text x="${x(v)}" y="${M.top + ph + 16}" text-anchor="middle">${Math.round(v)}</text>`,
    );
  }
  const ys = niceStep(spec.yMax, 5);
  for (let v = 0; v <= spec.yMax + 1e-9; v += ys) {
    out.push(
      `<line x1="${M.left}" y1="${y(v)}" x2="${M.left + pw}" y2="${y(v)}" stroke="#eee"/>`,
      `<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end">${xmlEscape(fy(v))}</text>`,
    );
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 14}" text-anchor="middle">${xmlEscape(spec.xLabel)}</text>`,
    `<text x="16" y="${M.top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${M.top + ph / 2})">${xmlEscape(spec.yLabel)}</text>`,
  );
  for (const m of spec.xMarks ?? [])
    out.push(
      `<line x1="${x(m.x)}" y1="${M.top}" x2="${x(m.x)}" y2="${M.top + ph}" stroke="#c00" stroke-dasharray="4 3"/>`,
      `<text x="${x(m.x) + 4}" y="${M.top + 12}" fill="#c00">${xmlEscape(m.label)}</text>`,
    );
  for (const m of spec.yMarks ?? [])
    out.push(
      `<line x1="${M.left}" y1="${y(m.y)}" x2="${M.left + pw}" y2="${y(m.y)}" stroke="#999" stroke-dasharray="2 3"/>`,
      `<text x="${M.left + pw - 4}" y="${y(m.y) - 3}" text-anchor="end" fill="#777">${xmlEscape(m.label)}</text>`,
    );
  for (const s of spec.series) {
    if (s.points.length === 0) continue;
    const d = s.points
      .map((p, i) => `${i === 0 ? "M" : "L"}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`)
      .join(" ");
    out.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`,
    );
  }
  spec.series.forEach((s, i) => {
    const ly = M.top + ph - 12 - (spec.series.length - 1 - i) * 16;
    const lx = M.left + pw - 190;
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`,
      `<text x="${lx + 30}" y="${ly + 4}">${xmlEscape(s.name)}</text>`,
    );
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
