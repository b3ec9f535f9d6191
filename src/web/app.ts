// The HTTP side of `telnetlogin run`/`serve`: health, metrics, the feed, the JSON API and the dashboard.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { FeedPublisher } from '../feed/publisher.ts';
import { registerApi, type ApiOptions } from './api.ts';
import { registerDashboard } from './dashboard/routes.ts';
import { registerFeedRoutes } from './feed-routes.ts';

export interface WebOptions {
  metrics: Registry;
  logger?: boolean | object;
  /** Serves the feed files from this publisher's latest build. */
  feeds?: Pick<FeedPublisher, 'current'>;
  /** The JSON API (/api/v1) and the dashboard (/) over these. */
  api?: ApiOptions;
}

export function createWebApp({ metrics, logger = false, feeds, api }: WebOptions): FastifyInstance {
  const app = Fastify({ logger });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_req, reply) => {
    reply.type(metrics.contentType);
    return metrics.metrics();
  });
  if (feeds) registerFeedRoutes(app, feeds);
  if (api) {
    registerApi(app, api);
    registerDashboard(app);
  }
  return app;
}
