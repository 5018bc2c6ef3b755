import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { HttpError } from "../errors.js";
import type { NodeApi } from "../ports.js";

const DEFAULT_BAN_MS = 60 * 60 * 1000;

function authorized(request: FastifyRequest, token: string): boolean {
  const header = request.headers.authorization ?? "";
  if (!header.startsWith("Bearer ")) return false;
  // Digests of equal length: the comparison takes the same time whatever the token's length.
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(header.slice("Bearer ".length)), digest(token));
}

/**
 * Token-protected admin routes to ban and unban peers (operators cut off a misbehaving peer;
 * the partition tests use them). Off unless the node runs with --admin-token.
 */
export function registerAdminRoutes(
  app: FastifyInstance,
  node: NodeApi,
  token: string | undefined,
): void {
  if (!token) return;
  const guard = async (request: FastifyRequest) => {
    if (!authorized(request, token))
      throw new HttpError(401, "Unauthorized", "admin token required");
  };
  const params = {
    type: "object",
    properties: { peerId: { type: "string", minLength: 1, maxLength: 128 } },
  } as const;

  app.post<{ Params: { peerId: string }; Body: { ms?: number } | undefined }>(
    "/v1/admin/peers/:peerId/ban",
    {
      onRequest: guard,
      schema: {
        tags: ["admin"],
        summary: "disconnect and refuse a peer for a while",
        params,
        body: {
          type: ["object", "null"],
          additionalProperties: false,
          properties: { ms: { type: "integer", minimum: 1, maximum: 30 * 24 * 3600 * 1000 } },
        },
      },
    },
    async (request) => ({
      peerId: request.params.peerId,
      banned: node.banPeer(request.params.peerId, request.body?.ms ?? DEFAULT_BAN_MS),
    }),
  );

  app.post<{ Params: { peerId: string } }>(
    "/v1/admin/peers/:peerId/unban",
    { onRequest: guard, schema: { tags: ["admin"], summary: "lift a ban", params } },
    async (request) => ({
      peerId: request.params.peerId,
      unbanned: node.unbanPeer(request.params.peerId),
    }),
  );
}
