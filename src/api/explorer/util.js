// Helpers shared by the explorer's views: the node's API, addresses, formatting, DOM.
import { sha256 } from "@noble/hashes/sha2.js";
import { bech32m } from "@scure/base";

/** GET a route of this node's API; a non-2xx answer throws its message (status on the error). */
export async function api(path) {
  const res = await fetch(path, { headers: { accept: "application/json" } });
  let body;
  try {
    body = await res.json();
  } catch {
    body = {};
  }
  if (!res.ok) {
    const err = new Error(body.message || `${res.status} ${res.statusText}`);
    err.status = res.status;
    throw err;
  }
  return body;
}

/** A 404 becomes undefined; anything else still throws. */
export async function apiOrNone(path) {
  try {
    return await api(path);
  } catch (e) {
    if (e.status === 404) return undefined;
    throw e;
  }
}

const addresses = new Map();

/** The lc1… address of an Ed25519 public key (hex): bech32m of sha256(key)[0..20], as the node. */
export function addressOf(publicKeyHex) {
  let a = addresses.get(publicKeyHex);
  if (a === undefined) {
    if (/^0+$/.test(publicKeyHex)) a = "genesis";
    else {
      const bytes = new Uint8Array(publicKeyHex.match(/../g).map((h) => Number.parseInt(h, 16)));
      a = bech32m.encode("lc", bech32m.toWords(sha256(bytes).slice(0, 20)));
    }
    addresses.set(publicKeyHex, a);
  }
  return a;
}

/** Escapes text for HTML. */
export function esc(value) {
  return String(value).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
  );
}

/** A long hash or address, shortened for display: the start and the end. */
export function short(text, head = 8, tail = 6) {
  const s = String(text);
  if (s.length <= head + tail + 1) return s;
  return tail > 0 ? `${s.slice(0, head)}…${s.slice(-tail)}` : s.slice(0, head);
}

/** Base units (a decimal string) with thousands separators. */
export function amount(units) {
  return String(units).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

export function timeAgo(ms, now = Date.now()) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return new Date(ms).toLocaleString();
}

export const link = {
  block: (id, text = short(id)) =>
    `<a href="/block/${esc(id)}" data-link class="mono">${esc(text)}</a>`,
  tx: (id, text = short(id)) => `<a href="/tx/${esc(id)}" data-link class="mono">${esc(text)}</a>`,
  account: (address, text = short(address, 10, 6)) =>
    address === "genesis"
      ? `<span class="muted">genesis</span>`
      : `<a href="/account/${esc(address)}" data-link class="mono">${esc(text)}</a>`,
};

/** A stable colour per address or head hash, for the graph, the lottery and the slot strip. */
export function colourOf(key) {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return `hsl(${h % 360} 62% 45%)`;
}

export const $ = (id) => document.getElementById(id);

/** The sender's address of a transaction JSON. */
export const senderOf = (tx) => addressOf(tx.senderPublicKey);

/**
 * Transactions as a table (newest first as given). For an account's page (`self`), one
 * counterparty column and the direction, so that it fits a phone; else from and to.
 */
export function txTable(txs, { self, showBlock = true } = {}) {
  if (txs.length === 0) return `<p class="empty">No transactions.</p>`;
  const block = (tx) =>
    tx.height === undefined
      ? `<span class="badge pending">pending</span>`
      : link.block(String(tx.height), String(tx.height));
  const rows = txs
    .map((tx) => {
      const from = senderOf(tx);
      let parties;
      if (self) {
        const dir = from === self ? (tx.receiver === self ? "self" : "to") : "from";
        const other = dir === "from" ? from : tx.receiver;
        parties = `<td class="hide-narrow">${esc(tx.type)}</td><td>${dir === "self" ? `<span class="muted">itself</span>` : `<span class="muted">${dir}</span> ${link.account(other, short(other, 7, 4))}`}</td>`;
      } else
        parties = `<td>${esc(tx.type)}</td><td>${link.account(from, short(from, 7, 4))}</td><td>${link.account(tx.receiver, short(tx.receiver, 7, 4))}</td>`;
      return `<tr><td>${link.tx(tx.id, short(tx.id, 6, 4))}<div class="only-narrow muted">${esc(tx.type)}</div></td>${parties}
        <td class="num">${amount(tx.amount)}</td><td class="num hide-narrow">${amount(tx.fee)}</td>
        ${showBlock ? `<td class="num">${block(tx)}</td>` : ""}</tr>`;
    })
    .join("");
  const type = `<th class="hide-narrow">type</th>`;
  const head = self ? `${type}<th>with</th>` : `${type}<th>from</th><th>to</th>`;
  return `<div class="scroll"><table class="list"><thead><tr><th>id</th>${head}
    <th class="num">amount</th><th class="num hide-narrow">fee</th>${showBlock ? `<th class="num">block</th>` : ""}</tr></thead>
    <tbody>${rows}</tbody></table></div>`;
}
