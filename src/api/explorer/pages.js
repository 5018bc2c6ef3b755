// The shareable pages: /block/<height|hash>, /tx/<id> (pending turns to included live) and
// /account/<address> (balance, stake, unbonding, its transactions, page by page).
import {
  addressOf,
  amount,
  api,
  apiOrNone,
  esc,
  link,
  senderOf,
  short,
  timeAgo,
  txTable,
} from "./util.js";

const kv = (pairs) =>
  `<dl class="kv">${pairs
    .filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`)
    .join("")}</dl>`;

const mono = (text) => `<span class="mono">${esc(text)}</span>`;

function confirmations(height, status) {
  const n = status.height - height + 1;
  const final = height <= status.finalizedHeight;
  return `${n.toLocaleString()} block${n === 1 ? "" : "s"} deep${final ? ` · <span class="badge included">finalized</span>` : ""}`;
}

/** A page: renders into `root`; `refresh` runs again after every new block while it is open. */
export async function blockPage(root, id, status) {
  const block = await apiOrNone(`/v1/blocks/${encodeURIComponent(id)}`);
  if (!block) {
    root.innerHTML = `<section class="card"><h1>Block not found</h1><p>This node has no block <code>${esc(id)}</code>.</p></section>`;
    return;
  }
  const atHeight = await apiOrNone(`/v1/blocks/${block.height}`);
  const main = atHeight?.hash === block.hash;
  const next =
    main && block.height < status.height
      ? await apiOrNone(`/v1/blocks/${block.height + 1}`)
      : undefined;
  const forger = addressOf(block.forger);
  document.title = `Block #${block.height} · lotchain`;
  root.innerHTML = `<section class="card" data-page="block" data-hash="${block.hash}">
    <div class="crumbs"><a href="/" data-link>explorer</a> › block</div>
    <h1>Block #${block.height.toLocaleString()}</h1>
    <div class="row">${main ? `<span class="badge included">main chain</span>` : `<span class="badge side">side branch — not on the main chain</span>`}
      ${main ? confirmations(block.height, status) : ""}</div>
    ${kv([
      ["hash", mono(block.hash)],
      [
        "previous",
        block.height > 0 ? link.block(block.previousHash, block.previousHash) : "— (genesis)",
      ],
      [
        "next",
        next ? link.block(next.hash, next.hash) : main ? `<span class="muted">none yet</span>` : "",
      ],
      [
        "time",
        `${esc(new Date(block.timestamp).toLocaleString())} <span class="muted">(${timeAgo(block.timestamp)})</span>`,
      ],
      [
        block.slot !== undefined ? "forger" : "miner",
        block.height > 0 ? link.account(forger, forger) : "genesis",
      ],
      ["slot", block.slot],
      ["target", block.target && mono(block.target)],
      ["nonce", block.nonce],
      ["transactions", block.transactions.length],
      ["tx root", mono(block.txRoot)],
      ["randomness", block.randomness && mono(short(block.randomness, 24, 8))],
    ])}
  </section>
  <section class="card"><h2>Transactions</h2>${txTable(block.transactions, { showBlock: false })}</section>`;
}

export async function txPage(root, id, status) {
  const tx = await apiOrNone(`/v1/transactions/${encodeURIComponent(id)}`);
  if (!tx) {
    root.innerHTML = `<section class="card" data-page="tx" data-status="unknown"><h1>Transaction</h1>
      <p class="mono">${esc(id)}</p><p>Not known to this node (yet): it may still be on its way here. This page checks again after every block.</p></section>`;
    return;
  }
  const from = senderOf(tx);
  document.title = `Transaction ${short(tx.id)} · lotchain`;
  root.innerHTML = `<section class="card" data-page="tx" data-status="${tx.status}">
    <div class="crumbs"><a href="/" data-link>explorer</a> › transaction</div>
    <h1 class="mono">${esc(tx.id)}</h1>
    <div class="row"><span id="tx-status" class="badge ${tx.status}">${tx.status}</span>
      ${tx.status === "included" ? `in block ${link.block(tx.blockHash, `#${tx.height}`)} · ${confirmations(tx.height, status)}` : `<span class="muted">waiting for a block; this page updates by itself</span>`}</div>
    ${kv([
      ["type", esc(tx.type)],
      ["from", link.account(from, from)],
      ["to", link.account(tx.receiver, tx.receiver)],
      ["amount", amount(tx.amount)],
      ["fee", amount(tx.fee)],
      ["nonce", tx.nonce],
      [
        "signed",
        `${esc(new Date(tx.timestamp).toLocaleString())} <span class="muted">(${timeAgo(tx.timestamp)})</span>`,
      ],
      ["chain", esc(tx.chainId)],
      ["signature", mono(short(tx.signature, 24, 8))],
    ])}</section>`;
}

const PAGE = 25;

export async function accountPage(root, address, status) {
  const [account, history, mempool, validators] = await Promise.all([
    api(`/v1/accounts/${encodeURIComponent(address)}`),
    api(`/v1/accounts/${encodeURIComponent(address)}/transactions?limit=${PAGE}`),
    api("/v1/mempool"),
    api("/v1/validators"),
  ]);
  const pending = mempool.transactions.filter(
    (tx) => senderOf(tx) === address || tx.receiver === address,
  );
  const validator = validators.validators.find((v) => v.address === address);
  const unbonding = Array.isArray(account.unbonding) ? account.unbonding : undefined;
  const currentSlot =
    unbonding?.length && status.consensus === "pos"
      ? (await api("/v1/lottery?slots=1")).currentSlot
      : undefined;
  const slotsLeft = (slot) => {
    const left = slot - (currentSlot ?? slot);
    return left > 0 ? ` <span class="muted">(in ${left} slot${left === 1 ? "" : "s"})</span>` : "";
  };
  document.title = `Account ${short(address, 10, 6)} · lotchain`;
  root.innerHTML = `<section class="card" data-page="account" data-address="${esc(address)}">
    <div class="crumbs"><a href="/" data-link>explorer</a> › account</div>
    <h1 class="mono">${esc(address)}</h1>
    <div class="row">${validator ? `<span class="badge included">validator · ${(validator.shareMillionths / 1e4).toFixed(2)}% of stake</span>` : ""}
      ${validator?.slashed ? `<span class="badge slashed">slashed</span>` : ""}</div>
    ${kv([
      ["balance", `<b data-balance>${amount(account.balance)}</b>`],
      ["stake", `<span data-stake>${amount(account.stake)}</span>`],
      [
        "unbonding",
        unbonding &&
          (unbonding.length === 0
            ? `<span class="muted">nothing</span>`
            : unbonding
                .map(
                  (u) =>
                    `${amount(u.amount)} until slot ${esc(u.releaseSlot)}${slotsLeft(u.releaseSlot)}`,
                )
                .join("<br>")),
      ],
      [
        "next nonce",
        `${account.nonce}${account.pendingNonce !== account.nonce ? ` <span class="muted">(${account.pendingNonce} counting pending)</span>` : ""}`,
      ],
    ])}</section>
  ${pending.length ? `<section class="card"><h2>Pending</h2>${txTable(pending, { self: address })}</section>` : ""}
  <section class="card"><h2>Transactions <small>newest first</small></h2><div id="history">${txTable(history.transactions, { self: address })}</div>
    ${history.transactions.length === PAGE ? `<p><button class="secondary" id="older">Older transactions</button></p>` : ""}</section>`;
  let last = history.transactions[history.transactions.length - 1];
  const older = root.querySelector("#older");
  older?.addEventListener("click", async () => {
    const more = await api(
      `/v1/accounts/${encodeURIComponent(address)}/transactions?limit=${PAGE}&before=${last.id}`,
    );
    const body = root.querySelector("#history tbody");
    const wrap = document.createElement("tbody");
    wrap.innerHTML = txTable(more.transactions, { self: address }).replace(
      /^[\s\S]*<tbody>|<\/tbody>[\s\S]*$/g,
      "",
    );
    body.append(...wrap.children);
    last = more.transactions[more.transactions.length - 1] ?? last;
    if (more.transactions.length < PAGE) older.remove();
  });
}
