// The lottery view: each validator's lots and share, who won the recent slots, and the wins
// observed against the wins the shares promise, with Pearson's chi-squared test (the seed's
// Test.py, live). Under PoW: the target and the block times, as charts.
import uPlot from "uplot";
import { colourOf, esc, link, short } from "./util.js";

const pct = (x) => `${(x * 100).toFixed(x >= 0.1 ? 1 : 2)}%`;

export function renderLottery(container, sub, view, { slashed = new Map() } = {}) {
  sub.textContent = `over the last ${view.slots} slot${view.slots === 1 ? "" : "s"} (${(
    (view.slots * view.slotMs) / 60000
  ).toFixed(view.slots * view.slotMs < 600000 ? 1 : 0)} min)`;
  const rows = view.validators
    .map((v) => {
      const share = v.shareMillionths / 1e6;
      const observed = view.slots ? v.wins / view.slots : 0;
      const expected = view.slots ? v.expectedWins / view.slots : 0;
      const cut = slashed.get(v.address)
        ? ` <span class="badge slashed" title="stake slashed for equivocation">slashed</span>`
        : "";
      return `<tr data-validator="${esc(v.address)}" data-share="${share}" data-wins="${v.wins}">
        <td><span class="chip" style="background:${colourOf(v.address)}"></span>${link.account(v.address)}${cut}</td>
        <td class="num">${esc(Number(v.lots).toLocaleString())}</td>
        <td class="num">${pct(share)}</td>
        <td class="bar-cell hide-narrow" title="expected ${pct(expected)} of slots, won ${pct(observed)}">
          <div class="bar"><i class="exp" style="width:${(expected * 100).toFixed(2)}%"></i><i class="obs" style="width:${(observed * 100).toFixed(2)}%"></i></div></td>
        <td class="num">${v.wins} <span class="muted">/ ${v.expectedWins.toFixed(1)}</span></td>
        <td class="num hide-narrow">${v.forged}</td></tr>`;
    })
    .join("");
  const t = view.test;
  const verdict = t
    ? `<p class="verdict">χ² = ${t.chiSquared.toFixed(2)} with ${t.degreesOfFreedom} degree${t.degreesOfFreedom === 1 ? "" : "s"} of freedom, <b>p = ${t.pValue < 0.0001 ? t.pValue.toExponential(1) : t.pValue.toFixed(4)}</b>:
        ${t.pValue >= 0.01 ? `<span class="good">consistent with a fair lottery</span> (below 0.01 would be a warning sign)` : `<span class="odd">unlikely under a fair lottery</span>: a fair one strays this far in under 1% of windows`}</p>`
    : `<p class="verdict muted">${view.validators.length < 2 ? "One validator holds every lot: it wins every slot." : "Not enough slots yet for a test."}</p>`;
  const strip = view.recent
    .slice(0, 60)
    .reverse()
    .map((s) => {
      const c = colourOf(s.winner);
      const title = `slot ${s.slot}: ${s.winner}${s.block ? ` forged #${s.block.height}` : " (no block: nothing to forge, or offline)"}`;
      return s.block
        ? `<a href="/block/${s.block.hash}" data-link data-slot="${s.slot}" style="background:${c};border-color:${c}" title="${esc(title)}"></a>`
        : `<span data-slot="${s.slot}" style="border-color:${c}" title="${esc(title)}"></span>`;
    })
    .join("");
  container.innerHTML = `<div class="scroll"><table class="vals"><thead><tr><th>validator</th><th class="num">lots</th>
      <th class="num">share</th><th class="hide-narrow">expected / won</th><th class="num">wins / expected</th><th class="num hide-narrow">blocks</th></tr></thead>
      <tbody>${rows || `<tr><td colspan="6" class="empty">No validators.</td></tr>`}</tbody></table></div>
    ${verdict}
    <div class="legend">Winners of the last ${Math.min(60, view.recent.length)} slots, oldest first (filled: a block was forged; hollow: the slot stayed empty):</div>
    <div class="slots" aria-label="winners of recent slots">${strip}</div>`;
}

/** PoW: target (as difficulty relative to the first block shown) and block times, as charts. */
export function createPowView(container, sub) {
  let plot;
  return {
    update(blocks) {
      sub.textContent = `proof of work: the last ${blocks.length} blocks`;
      const mined = blocks.filter((b) => b.height > 0 && b.target);
      if (mined.length < 2) {
        container.innerHTML = `<p class="empty">Not enough mined blocks yet.</p>`;
        plot = undefined;
        return;
      }
      const xs = [];
      const times = [];
      const difficulty = [];
      const max = 2n ** 256n;
      const base = Number(max / BigInt(`0x${mined[0].target}`));
      for (let i = 1; i < mined.length; i++) {
        xs.push(mined[i].height);
        times.push((mined[i].timestamp - mined[i - 1].timestamp) / 1000);
        difficulty.push(Number(max / BigInt(`0x${mined[i].target}`)) / base);
      }
      const last = mined[mined.length - 1];
      const mean = times.reduce((a, b) => a + b, 0) / times.length;
      const width = Math.max(240, container.clientWidth || 300);
      const opts = {
        width,
        height: 220,
        scales: { x: { time: false } },
        axes: [
          { label: "height" },
          { label: "block time (s)", scale: "s" },
          { label: "difficulty ×", scale: "d", side: 1, grid: { show: false } },
        ],
        series: [
          {},
          {
            label: "block time (s)",
            scale: "s",
            stroke: "#2563eb",
            width: 1.5,
            points: { show: true, size: 4 },
          },
          { label: "difficulty", scale: "d", stroke: "#b45309", width: 2 },
        ],
        legend: { show: true, live: false },
      };
      const data = [xs, times, difficulty];
      const summary = `<p class="legend" id="pow-summary">Target of #${last.height}: <code>${esc(short(last.target, 12, 6))}</code> · mean block time ${mean.toFixed(2)} s over ${times.length} blocks.</p>`;
      if (!plot) {
        container.innerHTML = `<div id="pow-chart"></div>${summary}`;
        plot = new uPlot(opts, data, container.firstElementChild);
      } else {
        plot.setData(data);
        if (plot.width !== width) plot.setSize({ width, height: 220 });
        container.querySelector("#pow-summary").outerHTML = summary;
      }
    },
  };
}
