import fastifyRateLimit from "@fastify/rate-limit";
import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import { VERSION } from "../version.js";
import { badRequest, clientErrorHandler, errorHandler, httpError } from "./errors.js";
import {
  ApiStats,
  answerBelowRoutes,
  capConnections,
  registerMethodCheck,
  registerRequestGuards,
  urlTooLong,
} from "./guards.js";
import { type ApiLimits, apiLimits } from "./limits.js";
import type { NodeApi } from "./ports.js";
import { registerAdminRoutes } from "./routes/admin.js";
import { registerBatchRoute } from "./routes/batch.js";
import { registerEventRoutes } from "./routes/events.js";
import { registerLegacyRoutes } from "./routes/legacy.js";
import { registerPageRoutes } from "./routes/pages.js";
import { registerV1Routes } from "./routes/v1.js";
import { SHARED_SCHEMAS } from "./schemas.js";
import { validatorCompiler } from "./validation.js";

export interface ApiOptions {
  node: NodeApi;
  logger: Logger;
  /** POST requests per client address per second; 0 disables the limit. */
  rateLimitPerSecond?: number;
  /** Bearer token for the admin routes; undefined keeps them off (the default). */
  adminToken?: string;
  /** Timeouts, caps, read rates and answer sizes (DEFAULT_API_LIMITS where not given). */
  limits?: Partial<ApiLimits>;
}

export const BODY_LIMIT_BYTES = 1024 * 1024;

export async function createApiServer(options: ApiOptions): Promise<FastifyInstance> {
  const limits = apiLimits(options.limits);
  const app = Fastify({
    loggerInstance: options.logger.child({ component: "api" }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    // Our onRequest guard answers 503 while closing, in the JSON format (Fastify's own is not).
    return503OnClosing: false,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
      maxHeaderSize: limits.maxHeaderBytes,
      // A request without Host is refused by our guard with a JSON body, not node:http's empty one.
      requireHostHeader: false,
    },
    clientErrorHandler,
    // The router's own refusals (an undecodable URL, a path parameter over maxParamLength) are
    // malformed requests too: the same 400 and { error, message } body as a schema failure.
    frameworkErrors: (error, request, reply) =>
      errorHandler(
        (request.raw.url ?? "").length > limits.maxUrlChars
          ? urlTooLong(limits)
          : badRequest(error.message),
        request,
        reply,
      ),
  });
  const stats = new ApiStats(options.node.metrics);
  capConnections(app.server, limits, stats);
  answerBelowRoutes(app.server);
  app.setValidatorCompiler(validatorCompiler);
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  // The API speaks JSON only: any other body is a 415, not a string to validate.
  app.removeContentTypeParser("text/plain");
  app.setErrorHandler(errorHandler);
  // `?from=&limit=` means "the defaults", not "the empty string": drop empty query parameters.
  app.addHook("preValidation", async (request) => {
    const query = request.query as Record<string, unknown> | undefined;
    if (query && typeof query === "object")
      for (const [key, value] of Object.entries(query)) if (value === "") delete query[key];
  });
  registerMethodCheck(app);

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: "lotchain node API",
        version: VERSION,
        description:
          "REST API of a lotchain node (SPEC section 6). Amounts are decimal strings of base units.",
      },
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: "/docs" });
  await app.register(fastifyRateLimit, {
    global: false,
    max: options.rateLimitPerSecond || Number.MAX_SAFE_INTEGER,
    timeWindow: 1000,
    errorResponseBuilder: (_request, context) =>
      httpError(429, `more than ${context.max} requests per second; retry in ${context.after}`),
  });
  registerRequestGuards(app, limits, stats);

  const postLimit = options.rateLimitPerSecond
    ? { rateLimit: { max: options.rateLimitPerSecond, timeWindow: 1000 } }
    : {};
  registerLegacyRoutes(app, options.node, postLimit, limits);
  registerV1Routes(app, options.node, postLimit, limits);
  registerBatchRoute(app, options.node, postLimit, options.rateLimitPerSecond ?? 0);
  registerEventRoutes(app, options.node, limits);
  registerAdminRoutes(app, options.node, options.adminToken);
  registerPageRoutes(app, options.node);
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  return app;
}

/** How long requests in flight get to finish when the API closes. */
export const CLOSE_GRACE_MS = 2_000;

/**
 * Closes the API: new requests get 503 at once, requests in flight get CLOSE_GRACE_MS to finish
 * (what they acknowledge is journaled), then every connection left is cut. Fastify's close waits
 * for connections to end, and a client may hold one open without a request (a browser's
 * preconnect, a keep-alive pool's spare socket): without the cut, such a client would keep the
 * node from stopping for as long as it likes.
 */
export async function closeApiServer(app: FastifyInstance): Promise<void> {
  const cut = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
  try {
    await app.close();
  } finally {
    clearTimeout(cut);
  }
}
