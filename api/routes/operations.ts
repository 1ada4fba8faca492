/** Operations: liveness, readiness (Temporal reachable; Plural's reachability reported), metrics, OpenAPI, docs. */
import { timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import type { RequestHandler } from 'express';
import { DOCS_STYLE, docsPage } from '../docs-page';
import { unauthorized, unavailable } from '../errors';
import { bearerToken, digest, methodNotAllowed } from '../http';
import { staticPageHeaders } from '../page-headers';
import { buildOpenApiDocument } from '../openapi';
import type { RouteContext } from './context';

/** `/docs` is one static page: its style and nothing else (api/page-headers.ts). */
const docsHeaders = staticPageHeaders(DOCS_STYLE);

export function operationRoutes(ctx: RouteContext): Router {
  const { options, engine, logger, metrics, timings } = ctx;
  const openApi = buildOpenApiDocument({ serverUrl: options.publicBaseUrl.replace(/\/+$/, '') });
  const docsHtml = docsPage(openApi);
  const router = Router();

  router
    .route('/healthz')
    .get((_req, res) => {
      res.json({ status: 'ok' });
    })
    .all(methodNotAllowed('GET'));

  /** Whether the engine (Temporal) answers within `readyTimeoutMs`. */
  async function engineReachable(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), timings.readyTimeoutMs);
    });
    try {
      await Promise.race([engine.ping(), timeout]);
      return true;
    } catch (err) {
      logger.warn({ err }, 'readiness check failed');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  // Ready means the engine can take work: a gateway outage is reported (`degraded`) but keeps the 200, since
  // payments started now are queued and retried by the workflows until Plural is back.
  router
    .route('/readyz')
    .get(async (_req, res) => {
      const [engineOk, gateway] = await Promise.all([engineReachable(), options.gatewayProbe?.check()]);
      const body = {
        status: !engineOk ? 'unavailable' : gateway?.reachable === false ? 'degraded' : 'ready',
        engine: { reachable: engineOk },
        gateway: { reachable: gateway?.reachable ?? null, checked_at: gateway?.checkedAt ?? null },
      };
      if (!engineOk) {
        const err = unavailable('engine_unreachable', 'the payment engine (Temporal) is not reachable');
        res.status(err.status).json({ ...err.toBody(), ...body });
        return;
      }
      if (gateway?.reachable === false) {
        logger.warn({ origins: gateway.unreachable }, 'readiness: the gateway (Plural) is not reachable');
      }
      res.json(body);
    })
    .all(methodNotAllowed('GET'));

  /** With a metrics token, only its holder (Prometheus) reads `/metrics`; the comparison is constant-time. */
  const metricsDigest = options.metricsToken === undefined ? undefined : digest(options.metricsToken);
  const metricsAccess: RequestHandler = (req, _res, next) => {
    if (metricsDigest !== undefined) {
      const token = bearerToken(req.headers.authorization);
      if (token === undefined) {
        throw unauthorized('missing_metrics_token', 'send the metrics token as Authorization: Bearer <token>');
      }
      if (!timingSafeEqual(digest(token), metricsDigest)) {
        throw unauthorized('invalid_metrics_token', 'the metrics token is not valid');
      }
    }
    next();
  };

  router
    .route('/metrics')
    .get(metricsAccess, async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    })
    .all(methodNotAllowed('GET'));

  router
    .route('/openapi.json')
    .get((_req, res) => {
      res.json(openApi);
    })
    .all(methodNotAllowed('GET'));

  router
    .route('/docs')
    .get(docsHeaders, (_req, res) => {
      res.type('html').send(docsHtml);
    })
    .all(methodNotAllowed('GET'));

  return router;
}
