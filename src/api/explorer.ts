/**
 * The block explorer: one self-contained page that reads the node's own /v1 API and follows
 * /v1/events live. No build step and no outside resources, so it works offline on a devnet.
 */
export const EXPLORER_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lotchain explorer</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d232b; }
  header { background: #1d232b; color: #fff; padding: 12px 20px; display: flex; gap: 20px; align-items: center; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0; }
  header .stat { opacity: .85; }
  main { padding: 16px 20px; display: grid; gap: 16px; grid-template-columns: minmax(0, 2fr) minmax(0, 1fr); }
  section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 12px 16px; min-width: 0; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  table { width: 100%; border-collapse: collapse; }
  td, th { text-align: left; padding: 4px 6px; border-bottom: 1px solid #eef0f3; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 260px; }
  code, .mono { font-family: ui-monospace, monospace; font-size: 12px; }
  a { color: #0b62c4; cursor: pointer; text-decoration: none; }
  form { display: flex; gap: 8px; }
  input { flex: 1; padding: 6px 8px; font: inherit; }
  pre { white-space: pre-wrap; word-break: break-all; font-size: 12px; background: #f6f7f9; padding: 8px; max-height: 480px; overflow: auto; }
  .err { color: #b00020; }
  @media (max-width: 800px) { main { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header>
  <h1>lotchain explorer</h1>
  <span class="stat" id="chain">…</span>
  <span class="stat">height <b id="height">…</b></span>
  <span class="stat">finalized <b id="finalized">…</b></span>
  <span class="stat">peers <b id="peers">…</b></span>
  <span class="stat">mempool <b id="mempool">…</b></span>
  <span class="stat" id="sync"></span>
</header>
<main>
  <section>
    <h2>Latest blocks</h2>
    <table><thead><tr><th>height</th><th>hash</th><th>txs</th><th>forger</th><th>time</th></tr></thead>
    <tbody id="blocks"></tbody></table>
  </section>
  <section>
    <h2>Search</h2>
    <form id="search"><input id="q" placeholder="height, block hash, transaction id or address" aria-label="search"><button>Go</button></form>
    <div id="result"></div>
    <h2 style="margin-top:16px">Validators</h2>
    <table><tbody id="validators"></tbody></table>
    <p><a href="/docs">API docs</a> · <a href="/openapi.json">OpenAPI</a> · <a href="/metrics">metrics</a></p>
  </section>
</main>
<script>
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const short = (h) => h.length > 20 ? h.slice(0, 10) + "…" + h.slice(-6) : h;
async function api(path) {
  const res = await fetch(path);
  const body = await res.json();
  if (!res.ok) throw new Error(body.message || res.statusText);
  return body;
}
function show(title, value) {
  $("result").innerHTML = "<h2>" + esc(title) + "</h2><pre>" + esc(JSON.stringify(value, null, 2)) + "</pre>";
}
function blockRow(b) {
  return "<tr><td>" + b.height + "</td><td class=mono><a data-q='" + b.hash + "'>" + short(b.hash) +
    "</a></td><td>" + b.transactions.length + "</td><td class=mono>" + short(b.forger) + "</td><td>" +
    new Date(b.timestamp).toLocaleTimeString() + "</td></tr>";
}
async function refreshStatus() {
  const s = await api("/v1/status");
  $("chain").textContent = s.chainId + " · " + s.consensus.toUpperCase();
  $("height").textContent = s.height;
  $("finalized").textContent = s.finalizedHeight;
  $("peers").textContent = s.peers;
  $("mempool").textContent = s.mempoolSize;
  $("sync").textContent = s.syncing ? "syncing to " + s.syncTargetHeight : "";
  return s;
}
async function refreshBlocks() {
  const s = await refreshStatus();
  const from = Math.max(0, s.height - 19);
  const { blocks } = await api("/v1/blocks?from=" + from + "&limit=20");
  $("blocks").innerHTML = blocks.reverse().map(blockRow).join("");
  const v = await api("/v1/validators");
  $("validators").innerHTML = v.validators.map((x) => "<tr><td class=mono><a data-q='" + x.address + "'>" +
    short(x.address) + "</a></td><td>" + esc(x.stake) + "</td><td>" + (x.shareMillionths / 10000).toFixed(2) + "%</td></tr>").join("");
}
async function search(q) {
  q = q.trim();
  try {
    if (/^lc1/.test(q)) return show("Account", await api("/v1/accounts/" + encodeURIComponent(q)));
    if (/^[0-9]+$/.test(q) || ["head", "genesis", "finalized"].includes(q)) return show("Block", await api("/v1/blocks/" + q));
    if (/^[0-9a-fA-F]{64}$/.test(q)) {
      try { return show("Block", await api("/v1/blocks/" + q)); } catch {}
      return show("Transaction", await api("/v1/transactions/" + q));
    }
    throw new Error("enter a height, a hash, a transaction id or an lc1… address");
  } catch (e) {
    $("result").innerHTML = "<p class=err>" + esc(e.message) + "</p>";
  }
}
$("search").addEventListener("submit", (e) => { e.preventDefault(); search($("q").value); });
document.addEventListener("click", (e) => {
  const q = e.target.getAttribute && e.target.getAttribute("data-q");
  if (q) { $("q").value = q; search(q); }
});
refreshBlocks().catch((e) => { $("result").innerHTML = "<p class=err>" + esc(e.message) + "</p>"; });
const events = new EventSource("/v1/events");
let pending = null;
const soon = () => { if (!pending) pending = setTimeout(() => { pending = null; refreshBlocks().catch(() => {}); }, 300); };
events.addEventListener("block", soon);
events.addEventListener("reorg", soon);
events.addEventListener("transaction", () => refreshStatus().catch(() => {}));
setInterval(() => refreshStatus().catch(() => {}), 5000);
</script>
</body>
</html>
`;
