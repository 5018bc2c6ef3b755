// The explorer's entry: the header, search, the router of shareable pages, and the live home
// page (network, lottery, chain, pending), kept current by the node's event stream.
import { createChainView, reorgLine } from "./chain.js";
import { createPowView, renderLottery } from "./lottery.js";
import { createNetworkView } from "./network.js";
import { accountPage, blockPage, txPage } from "./pages.js";
import { $, api, esc, txTable } from "./util.js";

let status = { height: 0, finalizedHeight: 0, consensus: "pos" };
let route = { name: "home" };

function notice(text, kind = "") {
  const el = $("notice");
  el.hidden = !text;
  el.className = `notice ${kind}`;
  el.textContent = text ?? "";
}

async function refreshStatus() {
  status = await api("/v1/status");
  $("s-chain").textContent = `${status.chainId} · ${status.consensus.toUpperCase()}`;
  $("s-height").textContent = status.height.toLocaleString();
  $("s-finalized").textContent = status.finalizedHeight.toLocaleString();
  $("s-peers").textContent = status.peers;
  $("s-mempool").textContent = status.mempoolSize ?? "?";
  const syncing = status.syncing && status.syncTargetHeight != null;
  $("s-sync").hidden = !syncing;
  if (syncing) {
    const rate = status.syncBlocksPerSecond;
    const left = rate ? Math.round((status.syncTargetHeight - status.height) / rate) : null;
    $("s-sync-text").textContent =
      `to #${status.syncTargetHeight}${rate ? ` · ${rate.toFixed(0)} blocks/s` : ""}${left != null ? ` · ${left}s left` : ""}`;
  }
}

// ---- home page

const home = {
  network: createNetworkView($("network"), $("network-legend")),
  chain: createChainView($("chain"), $("chain-legend")),
  pow: undefined,
  winners: new Map(),
};

async function refreshNetwork() {
  home.network.update(await api("/v1/network"));
}

async function refreshLottery() {
  if (status.consensus === "pow") {
    home.pow ??= createPowView($("lottery"), $("lottery-sub"));
    $("lottery-title").firstChild.textContent = "Mining ";
    const from = Math.max(0, status.height - 99);
    home.pow.update((await api(`/v1/blocks?from=${from}&limit=100`)).blocks);
    return;
  }
  const [view, validators] = await Promise.all([
    api("/v1/lottery?slots=1000"),
    api("/v1/validators"),
  ]);
  home.winners = new Map(view.recent.map((s) => [s.slot, s.winner]));
  const slashed = new Map(validators.validators.map((v) => [v.address, v.slashed === true]));
  renderLottery($("lottery"), $("lottery-sub"), view, { slashed });
}

async function refreshChain() {
  home.chain.update(await api("/v1/chain/tree?depth=24"), home.winners);
}

async function refreshPending() {
  const { transactions } = await api("/v1/mempool");
  $("pending").innerHTML = transactions.length
    ? txTable(transactions.slice(0, 20))
    : `<p class="empty">None: every transaction this node knows is in a block.</p>`;
}

async function refreshHome() {
  await Promise.all([refreshNetwork(), refreshLottery().then(refreshChain), refreshPending()]);
}

// ---- pages and routing

const PAGES = [
  [/^\/block\/([^/]+)$/, blockPage],
  [/^\/tx\/([0-9a-fA-F]{64})$/, txPage],
  [/^\/account\/([^/]+)$/, accountPage],
];

async function render() {
  const path = location.pathname;
  const page = $("page");
  for (const [re, fn] of PAGES) {
    const m = path.match(re);
    if (!m) continue;
    route = { name: "page", fn, arg: decodeURIComponent(m[1]) };
    $("home").hidden = true;
    page.hidden = false;
    try {
      await fn(page, route.arg, status);
    } catch (e) {
      page.innerHTML = `<section class="card"><h1>Cannot show this</h1><p class="notice error">${esc(e.message)}</p></section>`;
    }
    return;
  }
  route = { name: "home" };
  document.title = "lotchain explorer";
  page.hidden = true;
  $("home").hidden = false;
  await refreshHome();
}

function go(path) {
  if (path !== location.pathname) history.pushState(null, "", path);
  notice();
  window.scrollTo(0, 0);
  render().catch((e) => notice(e.message, "error"));
}

document.addEventListener("click", (e) => {
  const a = e.target.closest?.("a[data-link]");
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  e.preventDefault();
  go(a.getAttribute("href"));
});
window.addEventListener("popstate", () => render().catch((e) => notice(e.message, "error")));

// ---- search: a height, a block hash, a transaction id or an address

async function search(q) {
  q = q.trim();
  if (!q) return;
  const { results } = await api(`/v1/search?q=${encodeURIComponent(q)}`);
  const hit = results[0];
  if (!hit)
    return notice(
      `Nothing on this node matches “${q}”: try a block height or hash, a transaction id or an lc1… address.`,
      "error",
    );
  const path = { block: "/block/", transaction: "/tx/", account: "/account/" }[hit.kind];
  go(path + hit.id);
}

$("search").addEventListener("submit", (e) => {
  e.preventDefault();
  search($("q").value).catch((err) => notice(err.message, "error"));
});

// ---- live: the node's events, throttled to one refresh at a time

let queued = false;
let running = false;
async function refreshAll() {
  if (running) {
    queued = true;
    return;
  }
  running = true;
  try {
    await refreshStatus();
    if (route.name === "home") await refreshHome();
    else await route.fn($("page"), route.arg, status);
    notice();
  } catch (e) {
    notice(`Lost contact with the node: ${e.message}`, "error");
  } finally {
    running = false;
    if (queued) {
      queued = false;
      setTimeout(refreshAll, 200);
    }
  }
}

function listen() {
  const events = new EventSource("/v1/events");
  events.addEventListener("block", refreshAll);
  events.addEventListener("reorg", (e) => {
    const list = $("reorgs");
    list.insertAdjacentHTML("afterbegin", reorgLine(JSON.parse(e.data)));
    while (list.children.length > 5) list.lastElementChild.remove();
    refreshAll();
  });
  events.addEventListener("transaction", () => {
    if (route.name === "home") refreshPending().catch(() => {});
    refreshStatus().catch(() => {});
    if (route.name === "page" && route.fn === txPage) refreshAll();
  });
}

async function start() {
  try {
    await refreshStatus();
  } catch (e) {
    notice(`Cannot reach the node: ${e.message}`, "error");
  }
  await render().catch((e) => notice(e.message, "error"));
  listen();
  // Peers' heads and sync progress change without events of this node: look every few seconds.
  setInterval(() => {
    refreshStatus().catch(() => {});
    if (route.name === "home" && !document.hidden) refreshNetwork().catch(() => {});
  }, 3000);
}

start();
