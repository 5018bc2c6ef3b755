import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  blockTreeView,
  LOTTERY_MAX_SLOTS,
  lotteryView,
  networkView,
  searchView,
} from "./explorer-data.js";
import type { NodeApi } from "./ports.js";
import { errorResponses } from "./schemas.js";

/**
 * The block explorer: a page of plain ES modules (src/api/explorer/) that reads the node's own
 * API and follows /v1/events live, and the few libraries it imports, served from this package's
 * node_modules. Nothing comes from outside the node, so it works on an offline devnet; no build
 * step either. Every file is read and gzipped once, at start.
 */

/** The explorer's own files: this package's src/api/explorer (from src/ under vitest, or dist/). */
function explorerDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, "explorer"), join(here, "../../../src/api/explorer")];
  const found = candidates.find((dir) => existsSync(join(dir, "index.html")));
  if (!found) throw new Error(`explorer assets not found (looked in ${candidates.join(", ")})`);
  return found;
}

/**
 * The libraries the page imports, by the specifier its modules use, and the files of each that
 * may be served (a module's relative imports must be listed too). Served at /vendor/<package>/.
 */
const VENDOR: Record<string, { specifier: string; entry: string; files: string[] }> = {
  "d3-force": { specifier: "d3-force", entry: "dist/d3-force.min.mjs", files: [] },
  "d3-quadtree": { specifier: "d3-quadtree", entry: "dist/d3-quadtree.min.mjs", files: [] },
  "d3-dispatch": { specifier: "d3-dispatch", entry: "dist/d3-dispatch.min.mjs", files: [] },
  "d3-timer": { specifier: "d3-timer", entry: "dist/d3-timer.min.mjs", files: [] },
  uplot: { specifier: "uplot", entry: "dist/uPlot.esm.js", files: ["dist/uPlot.min.css"] },
  "@noble/hashes": {
    specifier: "@noble/hashes/sha2.js",
    entry: "sha2.js",
    files: ["_md.js", "_u64.js", "utils.js"],
  },
  "@scure/base": { specifier: "@scure/base", entry: "index.js", files: [] },
};

/** The directory of an installed package (found the way Node resolves it from here). */
function packageDir(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.resolve(name)));
  while (!existsSync(join(dir, "package.json")) || !dir.endsWith(name)) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the directory of package ${name}`);
    dir = up;
  }
  return dir;
}

interface Asset {
  type: string;
  raw: Buffer;
  gzip: Buffer;
  etag: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

function asset(path: string, content?: string): Asset {
  const raw = content === undefined ? readFileSync(path) : Buffer.from(content);
  const ext = path.slice(path.lastIndexOf("."));
  return {
    type: TYPES[ext] ?? "application/octet-stream",
    raw,
    gzip: gzipSync(raw, { level: 9 }),
    etag: `"${createHash("sha256").update(raw).digest("base64url").slice(0, 22)}"`,
  };
}

/** Every file the page may load, by URL path; and the page itself with its import map. */
function loadAssets(): { files: Map<string, Asset>; page: Asset; csp: string } {
  const files = new Map<string, Asset>();
  const dir = explorerDir();
  for (const name of readdirSync(dir))
    if (name !== "index.html" && /\.(js|css|svg)$/.test(name))
      files.set(`/explorer/${name}`, asset(join(dir, name)));
  const imports: Record<string, string> = {};
  for (const [name, v] of Object.entries(VENDOR)) {
    const root = packageDir(name);
    for (const file of [v.entry, ...v.files])
      files.set(`/vendor/${name}/${file}`, asset(join(root, file)));
    imports[v.specifier] = `/vendor/${name}/${v.entry}`;
  }
  // The import map is an inline script: the policy allows exactly this one by its hash.
  const importMap = JSON.stringify({ imports });
  const mapHash = createHash("sha256").update(importMap).digest("base64");
  const html = readFileSync(join(dir, "index.html"), "utf8").replace(
    "<!--importmap-->",
    `<script type="importmap">${importMap}</script>`,
  );
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'sha256-${mapHash}'`,
    // uPlot sizes its elements with style attributes.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
  return { files, page: asset("index.html", html), csp };
}

function send(request: FastifyRequest, reply: FastifyReply, a: Asset, csp?: string) {
  reply.header("etag", a.etag).header("cache-control", "no-cache").type(a.type);
  reply.header("x-content-type-options", "nosniff").header("vary", "accept-encoding");
  if (csp) reply.header("content-security-policy", csp);
  if (request.headers["if-none-match"] === a.etag) return reply.code(304).send();
  if (/\bgzip\b/.test(String(request.headers["accept-encoding"] ?? "")))
    return reply.header("content-encoding", "gzip").send(a.gzip);
  return reply.send(a.raw);
}

/** Paths of the page (it routes them itself): shareable links to a block, transaction, account. */
export const EXPLORER_PAGES = ["/", "/block/:id", "/tx/:id", "/account/:address"];

/** The explorer's page, files and the three views' data routes. */
export function registerExplorer(app: FastifyInstance, node: NodeApi): void {
  const { files, page, csp } = loadAssets();
  let lastLottery: { key: string; view: ReturnType<typeof lotteryView> } | undefined;
  for (const path of EXPLORER_PAGES)
    app.get(path, { schema: { hide: true } }, (request, reply) => send(request, reply, page, csp));
  app.get<{ Params: { "*": string } }>(
    "/explorer/*",
    { schema: { hide: true } },
    (request, reply) => {
      const a = files.get(request.url.split("?")[0]!);
      return a ? send(request, reply, a) : reply.callNotFound();
    },
  );
  app.get("/vendor/*", { schema: { hide: true } }, (request, reply) => {
    const a = files.get(request.url.split("?")[0]!);
    return a ? send(request, reply, a) : reply.callNotFound();
  });

  app.get<{ Querystring: { depth: number } }>(
    "/v1/chain/tree",
    {
      schema: {
        tags: ["explorer"],
        summary: "the last blocks of the main chain and the side branches off them",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: { depth: { type: "integer", minimum: 1, maximum: 500, default: 32 } },
        },
        response: errorResponses(400),
      },
    },
    async (request) => blockTreeView(node.chain, request.query.depth),
  );

  app.get<{ Querystring: { slots: number } }>(
    "/v1/lottery",
    {
      schema: {
        tags: ["explorer"],
        summary:
          "PoS: winners of recent slots, each validator's lots, share, wins and expected wins, and a chi-squared test",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            slots: { type: "integer", minimum: 1, maximum: LOTTERY_MAX_SLOTS, default: 1000 },
          },
        },
        response: errorResponses(400),
      },
    },
    async (request) => {
      // One answer per head, slot and window: an open page per viewer asks after every block.
      const slotMs = node.genesis.consensus.type === "pos" ? node.genesis.consensus.slotMs : 1;
      const key = `${node.chain.head.hashHex} ${Math.floor(Date.now() / slotMs)} ${request.query.slots}`;
      if (lastLottery?.key !== key) {
        const view = lotteryView(node, request.query.slots);
        lastLottery = { key, view };
        // A failure is not kept for the rest of the slot.
        view.catch(() => {
          if (lastLottery?.view === view) lastLottery = undefined;
        });
      }
      return lastLottery.view;
    },
  );

  app.get<{ Querystring: { q: string } }>(
    "/v1/search",
    {
      schema: {
        tags: ["explorer"],
        summary: "what a height, hash, transaction id or address names (empty when nothing)",
        querystring: {
          type: "object",
          additionalProperties: false,
          required: ["q"],
          properties: { q: { type: "string", minLength: 1, maxLength: 100 } },
        },
        response: errorResponses(400),
      },
    },
    async (request) => ({ results: await searchView(node, request.query.q) }),
  );

  app.get(
    "/v1/network",
    {
      schema: {
        tags: ["explorer"],
        summary: "this node, the nodes it knows with their heads, and the links between them",
      },
    },
    async () => networkView(node),
  );
}
