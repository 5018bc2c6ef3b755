// The chain view (the seed's second picture): the latest blocks as boxes, each linked to the one
// its previousHash names; side branches in lanes below the main chain, the finalized line, and
// PoS slots that passed without a block.
import { addressOf, esc, short } from "./util.js";

const W = 150;
const H = 84;
const STEP = 28; // space between two blocks
const GAP_W = 76; // width of an "empty slots" box
const LANE = H + 26;

/** 1234 → "1,234", 60449144 → "60.4M". */
const compact = (n) =>
  n < 100_000 ? n.toLocaleString() : new Intl.NumberFormat("en", { notation: "compact" }).format(n);

export function createChainView(container, legend) {
  const known = new Set();
  let first = true;
  // Follow the newest block unless the reader scrolled back to look at older ones.
  let follow = true;
  container.addEventListener("scroll", () => {
    follow = container.scrollLeft + container.clientWidth >= container.scrollWidth - 40;
  });

  return {
    /**
     * @param tree GET /v1/chain/tree
     * @param winners slot → winner address (from the lottery), to say whose slots stayed empty
     */
    update(tree, winners = new Map()) {
      const blocks = tree.blocks;
      if (blocks.length === 0) {
        container.innerHTML = `<p class="empty">No blocks yet.</p>`;
        return;
      }
      const byHash = new Map(blocks.map((b) => [b.hash, b]));
      const main = blocks.filter((b) => b.main);
      const minHeight = blocks[0].height;
      const maxHeight = blocks[blocks.length - 1].height;

      // x of each height, with room for an "empty slots" box before a main block after a gap.
      const xOf = new Map();
      const gaps = [];
      let x = 0;
      let prevMain;
      const mainAt = new Map(main.map((b) => [b.height, b]));
      for (let h = minHeight; h <= maxHeight; h++) {
        const m = mainAt.get(h);
        if (prevMain && m && m.slot !== undefined && m.slot - prevMain.slot > 1) {
          gaps.push({ x, from: prevMain.slot + 1, to: m.slot - 1 });
          x += GAP_W + STEP;
        }
        xOf.set(h, x);
        x += W + STEP;
        if (m) prevMain = m;
      }
      const width = x - STEP;

      // Lanes: the main chain on top; a side block continues its parent's lane when it can.
      const laneOf = new Map();
      const taken = new Set(); // "lane height"
      for (const b of blocks) {
        let lane = 0;
        if (!b.main) {
          const parentLane = laneOf.get(b.previousHash);
          lane =
            parentLane && parentLane > 0 && !taken.has(`${parentLane} ${b.height}`)
              ? parentLane
              : 1;
          while (taken.has(`${lane} ${b.height}`)) lane++;
        }
        laneOf.set(b.hash, lane);
        taken.add(`${lane} ${b.height}`);
      }
      const lanes = Math.max(...laneOf.values()) + 1;
      const height = lanes * LANE - (LANE - H) + 12;

      const paths = [];
      for (const b of blocks) {
        const parent = byHash.get(b.previousHash);
        if (!parent) continue;
        const x1 = xOf.get(parent.height) + W;
        const y1 = laneOf.get(parent.hash) * LANE + H / 2 + 12;
        const x2 = xOf.get(b.height);
        const y2 = laneOf.get(b.hash) * LANE + H / 2 + 12;
        const mid = (x1 + x2) / 2;
        paths.push(
          `<path class="${b.main ? "" : "side"}" d="M${x1} ${y1} C${mid} ${y1} ${mid} ${y2} ${x2} ${y2}"/>`,
        );
      }

      const boxes = blocks.map((b) => {
        const left = xOf.get(b.height);
        const top = laneOf.get(b.hash) * LANE + 12;
        const fresh = !first && !known.has(b.hash);
        known.add(b.hash);
        const forger = addressOf(b.forger);
        const time = new Date(b.timestamp).toLocaleTimeString([], { hour12: false });
        const what = b.slot !== undefined ? `slot ${b.slot}` : b.target ? `target ${b.target}` : "";
        return `<a class="block${b.main ? "" : " side"}${fresh ? " fresh" : ""}" href="/block/${b.hash}" data-link
          data-block data-hash="${b.hash}" data-prev="${b.previousHash}" data-height="${b.height}" data-main="${b.main}"
          style="left:${left}px;top:${top}px" title="${esc(`block ${b.height} ${b.hash}\nprevious ${b.previousHash}\nforger ${forger}\n${what}${b.main ? "" : "\nside branch (not on the main chain)"}`)}">
          <b>#${b.height}</b> <span class="h">${esc(short(b.hash, 8, 0))}</span><br>
          <span class="mono">${esc(forger === "genesis" ? "genesis" : short(forger, 7, 4))}</span><br>
          <span class="muted small">${b.txs} tx${b.txs === 1 ? "" : "s"} · ${esc(time)}</span></a>`;
      });

      const gapBoxes = gaps.map((g) => {
        const count = g.to - g.from + 1;
        const who = [];
        for (let s = g.from; s <= g.to && who.length < 12; s++)
          if (winners.has(s)) who.push(`slot ${s}: ${winners.get(s)}`);
        const title = `${count} slot${count === 1 ? "" : "s"} without a block (${g.from}–${g.to})${who.length ? `\nwinners who did not forge:\n${who.join("\n")}` : ""}`;
        return `<div class="gap" data-empty-slots="${count}" style="left:${g.x}px;top:12px;width:${GAP_W}px" title="${esc(title)}">${compact(count)} empty<br>slot${count === 1 ? "" : "s"}</div>`;
      });

      let finalLine = "";
      const f = tree.finalizedHeight;
      if (f >= minHeight && f <= maxHeight)
        finalLine = `<div class="final" style="left:${xOf.get(f) + W + STEP / 2}px" title="blocks up to #${f} can no longer be reorganised"><span>finalized #${f}</span></div>`;
      else if (f < minHeight)
        finalLine = `<div class="final" style="left:-6px" title="finalized up to #${f}"><span>finalized ≤ #${f}</span></div>`;

      container.innerHTML = `<div class="lanes" style="width:${width}px;height:${height}px">
        <svg class="links" width="${width}" height="${height}">${paths.join("")}</svg>
        ${finalLine}${gapBoxes.join("")}${boxes.join("")}</div>`;
      if (first || follow) container.scrollLeft = container.scrollWidth;
      first = false;

      const sides = blocks.filter((b) => !b.main).length;
      legend.innerHTML = `Head #${tree.head.height}, finalized #${f}. Solid: main chain${
        sides
          ? `; <span style="color:var(--side)">dashed: ${sides} block${sides === 1 ? "" : "s"} on side branches</span>`
          : ""
      }${gaps.length ? "; striped: slots that passed without a block" : ""}. Each arrow points from a block to the block that names it as previous.`;
    },
  };
}

/** A reorganisation event as a line of the list under the chain. */
export function reorgLine(e) {
  const at = new Date().toLocaleTimeString();
  return `<li>${esc(at)}: reorganisation of depth ${e.depth} — head #${e.oldHead.height} <code>${esc(short(e.oldHead.hash, 6, 0))}</code> → #${e.newHead.height} <code>${esc(short(e.newHead.hash, 6, 0))}</code>, common ancestor #${e.commonAncestor.height}; ${e.revertedTransactions.length} transaction(s) back to pending</li>`;
}
