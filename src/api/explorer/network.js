// The network view (the seed's first picture): every node this node knows, each with its own
// head, linked by their connections; nodes with the same head share a colour, so a fork shows.
import { forceCollide, forceLink, forceManyBody, forceSimulation, forceX, forceY } from "d3-force";
import { esc, short } from "./util.js";

const SVG = "http://www.w3.org/2000/svg";
/** Colour of a node by how its head stands to this node's chain. */
const RELATION = {
  same: "#2563eb",
  behind: "#60a5fa",
  ahead: "#7c3aed",
  fork: "#ea580c",
  unknown: "#94a3b8",
};
const chip = (relation) => `<span class="chip" style="background:${RELATION[relation]}"></span>`;
const RADIUS = 20;

export function createNetworkView(container, legend) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "nodes of the network and their connections");
  const linkLayer = document.createElementNS(SVG, "g");
  const nodeLayer = document.createElementNS(SVG, "g");
  svg.append(linkLayer, nodeLayer);
  container.append(svg);

  /** Node objects by peer id: kept across updates so that the layout only moves what changed. */
  const nodes = new Map();
  let links = [];
  let size = { w: 300, h: 300 };
  const simulation = forceSimulation([])
    .force("charge", forceManyBody().strength(-500))
    .force(
      "link",
      forceLink([])
        .id((d) => d.peerId)
        .distance(110),
    )
    .force("x", forceX(0).strength(0.08))
    .force("y", forceY(0).strength(0.12))
    .force("collide", forceCollide(RADIUS * 2.2))
    .on("tick", draw);

  function resize() {
    size = { w: container.clientWidth || 300, h: container.clientHeight || 300 };
    svg.setAttribute("viewBox", `${-size.w / 2} ${-size.h / 2} ${size.w} ${size.h}`);
  }
  new ResizeObserver(() => {
    resize();
    simulation.alpha(0.3).restart();
  }).observe(container);
  resize();

  function draw() {
    const maxX = size.w / 2 - 60;
    const maxY = size.h / 2 - 34;
    for (const n of nodes.values()) {
      n.x = Math.max(-maxX, Math.min(maxX, n.x));
      n.y = Math.max(-maxY, Math.min(maxY, n.y));
      n.el.setAttribute("transform", `translate(${n.x.toFixed(1)},${n.y.toFixed(1)})`);
    }
    for (const l of links) {
      l.el.setAttribute("x1", l.source.x);
      l.el.setAttribute("y1", l.source.y);
      l.el.setAttribute("x2", l.target.x);
      l.el.setAttribute("y2", l.target.y);
    }
  }

  function nodeElement(n) {
    const g = document.createElementNS(SVG, "g");
    const title = document.createElementNS(SVG, "title");
    const circle = document.createElementNS(SVG, "circle");
    circle.setAttribute("r", RADIUS);
    const name = document.createElementNS(SVG, "text");
    name.setAttribute("y", RADIUS + 15);
    const head = document.createElementNS(SVG, "text");
    head.setAttribute("class", "sub");
    head.setAttribute("y", RADIUS + 29);
    const height = document.createElementNS(SVG, "text");
    height.setAttribute("y", 4);
    height.setAttribute("class", "h");
    g.append(title, circle, height, name, head);
    nodeLayer.append(g);
    n.el = g;
  }

  function paint(n) {
    const g = n.el;
    g.setAttribute("data-node", n.peerId);
    g.setAttribute("data-height", n.height ?? "");
    g.setAttribute("data-head", n.headHash ?? "");
    g.setAttribute("class", n.self ? "self" : "");
    const [title, circle, height, name, head] = g.children;
    circle.setAttribute("fill", RELATION[n.relation] ?? RELATION.unknown);
    g.setAttribute("data-relation", n.relation);
    height.textContent = n.height ?? "?";
    height.setAttribute("fill", "#fff");
    height.setAttribute("style", "stroke:none;font-weight:700");
    name.textContent = n.self ? "this node" : `…${n.peerId.slice(-6)}`;
    head.textContent = n.headHash ? short(n.headHash, 8, 0) : "head unknown";
    title.textContent = `${n.self ? "this node " : ""}${n.peerId}\nhead: ${
      n.height ?? "?"
    } ${n.headHash ?? ""}${n.finalizedHeight != null ? `\nfinalized: ${n.finalizedHeight}` : ""}`;
  }

  return {
    update(view) {
      const seen = new Set();
      for (const data of view.nodes) {
        seen.add(data.peerId);
        let n = nodes.get(data.peerId);
        if (!n) {
          n = { ...data };
          nodes.set(data.peerId, n);
          nodeElement(n);
        } else Object.assign(n, data);
        paint(n);
      }
      for (const [id, n] of nodes)
        if (!seen.has(id)) {
          n.el.remove();
          nodes.delete(id);
        }
      for (const l of links) l.el.remove();
      links = view.links
        .filter(([a, b]) => nodes.has(a) && nodes.has(b))
        .map(([a, b]) => {
          const el = document.createElementNS(SVG, "line");
          el.setAttribute("data-edge", `${a} ${b}`);
          linkLayer.append(el);
          return { source: a, target: b, el };
        });
      simulation.nodes([...nodes.values()]);
      simulation.force("link").links(links);
      simulation.alpha(0.5).restart();

      const self = [...nodes.values()].find((n) => n.self);
      const groups = new Map();
      for (const n of nodes.values())
        groups.set(n.relation, [...(groups.get(n.relation) ?? []), n]);
      const parts = [];
      const count = (rel) => groups.get(rel)?.length ?? 0;
      parts.push(
        `${chip("same")}${count("same")} of ${nodes.size} node${nodes.size === 1 ? "" : "s"} on this node's head #${self?.height ?? "?"} <code>${esc(short(self?.headHash ?? "", 8, 0))}</code>`,
      );
      const behind = groups.get("behind") ?? [];
      if (behind.length)
        parts.push(
          `${chip("behind")}${behind.length} behind on the same chain (${behind.map((n) => `#${n.height}`).join(", ")})`,
        );
      if (count("ahead"))
        parts.push(`${chip("ahead")}${count("ahead")} ahead (blocks not here yet)`);
      if (count("fork"))
        parts.push(
          `${chip("fork")}<b>${count("fork")} on another branch: a fork</b> (${groups
            .get("fork")
            .map((n) => `#${n.height} <code>${esc(short(n.headHash, 8, 0))}</code>`)
            .join(", ")})`,
        );
      if (count("unknown")) parts.push(`${chip("unknown")}${count("unknown")} not heard from yet`);
      legend.innerHTML = parts.join(" · ");
    },
  };
}
