// The HTTP side of `telnetlogin run`/`serve`: health and metrics for now.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface WebOptions {
  metrics: Registry;
  logger?: boolean | object;
}

export function createWebApp({ metrics, logger = false }: WebOptions): FastifyInstance {
  const app = Fastify({ logger });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_req, reply) => {
    reply.type(metrics.contentType);
    return metrics.metrics();
  });
  return app;
}
