import Ajv2020 from 'ajv/dist/2020';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../api/openapi';
import { CORRECT_OTP } from './fake-engine';
import { auth, cardPayment, makeApi } from './helpers';

/** Every `METHOD path` the Express app routes, in OpenAPI path syntax. */
interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every route the app serves, through its mounted routers (the API groups its routes by concern). */
function appRoutes(app: unknown): string[] {
  const walk = (stack: Layer[]): string[] =>
    stack.flatMap((layer) =>
      layer.route
        ? Object.keys(layer.route.methods)
            .filter((m) => m !== '_all')
            .map((m) => `${m.toUpperCase()} ${layer.route!.path.replace(/:([A-Za-z_]+)/g, '{$1}')}`)
        : Array.isArray(layer.handle?.stack)
          ? walk(layer.handle.stack)
          : [],
    );
  return walk((app as { router: { stack: Layer[] } }).router.stack);
}

function documentedRoutes(doc: ReturnType<typeof buildOpenApiDocument>): string[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
}

describe('operations endpoints', () => {
  it('GET /healthz answers 200 without authentication', async () => {
    const api = makeApi();
    const res = await request(api.app).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 when the engine is reachable', async () => {
    const api = makeApi();
    const res = await request(api.app).get('/readyz');
    expect(res.status).toBe(200);
    expect(api.engine.calls).toEqual([{ method: 'ping', args: [] }]);
  });

  it('GET /readyz answers 503 when the engine is not reachable', async () => {
    const api = makeApi();
    api.engine.reachable = false;
    const res = await request(api.app).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('engine_unreachable');
  });

  it('GET /readyz answers 503 when the engine does not answer in time', async () => {
    const api = makeApi();
    api.engine.ping = () => new Promise(() => undefined);
    const res = await request(api.app).get('/readyz');
    expect(res.status).toBe(503);
  });

  it('GET /metrics exposes request counts, latency and signature failures in Prometheus format', async () => {
    const api = makeApi();
    await request(api.app).get('/healthz');
    await request(api.app).get('/v1/callbacks/plural');
    const res = await request(api.app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(
      /api_http_requests_total\{method="GET",route="\/healthz",status="200",merchant="none"\} 1/,
    );
    expect(res.text).toMatch(/api_http_request_duration_seconds_bucket\{.*route="\/healthz"/);
    expect(res.text).toMatch(
      /api_signature_failures_total\{source="callback",reason="missing_signature",merchant="default"\} 1/,
    );
  });

  it('GET /metrics with a metrics token answers only that token: not anonymous callers, not a merchant key', async () => {
    const token = 'metrics-token-of-the-operator-0123456789';
    const api = makeApi({}, { metricsToken: token });
    const missing = await request(api.app).get('/metrics');
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer');
    expect(missing.body.error.code).toBe('missing_metrics_token');
    expect(missing.text).not.toContain('api_http_requests_total');
    const merchantKey = await request(api.app).get('/metrics').set(auth);
    expect(merchantKey.status).toBe(401);
    expect(merchantKey.body.error.code).toBe('invalid_metrics_token');
    const wrong = await request(api.app).get('/metrics').set('Authorization', `Bearer ${token}x`);
    expect(wrong.status).toBe(401);
    const right = await request(api.app).get('/metrics').set('Authorization', `Bearer ${token}`);
    expect(right.status).toBe(200);
    // The refused attempts are counted, under no merchant.
    expect(right.text).toMatch(
      /api_http_requests_total\{method="GET",route="\/metrics",status="401",merchant="none"\} 3/,
    );
    // The rest of the operations routes stay open: probes and the documents carry no merchant data.
    expect((await request(api.app).get('/healthz')).status).toBe(200);
    expect((await request(api.app).get('/openapi.json')).status).toBe(200);
  });

  it('labels unmatched requests as one route so paths cannot explode metric cardinality', async () => {
    const api = makeApi();
    await request(api.app).get('/random/a');
    await request(api.app).get('/random/b');
    const res = await request(api.app).get('/metrics');
    expect(res.text).toMatch(
      /api_http_requests_total\{method="GET",route="unmatched",status="404",merchant="none"\} 2/,
    );
  });

  it('GET /openapi.json serves an OpenAPI 3.1 document with the configured server', async () => {
    const api = makeApi();
    const res = await request(api.app).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(res.body.servers).toEqual([{ url: 'http://api.example.test' }]);
  });

  it('documents exactly the routes the app serves', () => {
    const api = makeApi();
    const served = appRoutes(api.app).sort();
    expect(served.length).toBeGreaterThan(10);
    expect(documentedRoutes(buildOpenApiDocument({ serverUrl: 'x' })).sort()).toEqual(served);
  });

  it('GET /docs renders every documented operation as HTML with no external assets', async () => {
    const api = makeApi();
    const res = await request(api.app).get('/docs');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    for (const route of documentedRoutes(buildOpenApiDocument({ serverUrl: 'x' }))) {
      const [method, path] = route.split(' ');
      expect(res.text).toContain(`<span class="m">${method}</span> <code>${path}</code>`);
    }
    expect(res.text).not.toMatch(/<script|https?:\/\/(?!api\.example\.test)/);
  });

  it('the payment resource conforms to the documented Payment schema', async () => {
    const api = makeApi();
    const doc = buildOpenApiDocument({ serverUrl: 'x' });
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema({ $id: 'doc', components: doc.components });
    const validate = ajv.compile({ $ref: 'doc#/components/schemas/Payment' });
    const validateRequest = ajv.compile({ $ref: 'doc#/components/schemas/CreatePaymentRequest' });
    expect(validateRequest(cardPayment('schema-1'))).toBe(true);
    await request(api.app).post('/v1/payments').set(auth).send(cardPayment('schema-1'));
    const paid = await request(api.app).post('/v1/payments/schema-1/otp').set(auth).send({ otp: CORRECT_OTP });
    expect(validate(paid.body), JSON.stringify(validate.errors)).toBe(true);
    const captured = await request(api.app).post('/v1/payments/schema-1/capture').set(auth);
    expect(validate(captured.body), JSON.stringify(validate.errors)).toBe(true);
  });
});

describe('request ids', () => {
  it('echoes a well-formed X-Request-Id, replaces a malformed one, and logs it with the route template', async () => {
    const api = makeApi();
    const given = await request(api.app).get('/healthz').set('X-Request-Id', 'req-123');
    expect(given.headers['x-request-id']).toBe('req-123');
    const replaced = await request(api.app).get('/healthz').set('X-Request-Id', 'bad id with spaces');
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const line = JSON.parse(api.logs.find((l) => l.includes('req-123'))!) as Record<string, unknown>;
    expect(line).toMatchObject({ requestId: 'req-123', method: 'GET', route: '/healthz', status: '200' });
  });
});

describe('card vault', () => {
  it('is not served on the public port: the vault has a listener of its own (card-vault/server.ts)', async () => {
    const api = makeApi();
    for (const path of ['/internal/card-vault/secrets/AAAAAAAAAAAAAAAAAAAAAA', '/secrets/AAAAAAAAAAAAAAAAAAAAAA']) {
      const res = await request(api.app).get(path).set('Authorization', 'Bearer any-token');
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('route_not_found');
    }
  });
});

describe('errors', () => {
  it('answers an unknown route with a JSON 404', async () => {
    const api = makeApi();
    const res = await request(api.app).get('/v2/nothing');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ type: 'not_found_error', code: 'route_not_found' });
  });

  it('does not echo the path of an unknown route (it could hold card data)', async () => {
    const api = makeApi();
    const res = await request(api.app).get('/4012001037141112');
    expect(res.text).not.toContain('4012001037141112');
  });

  it.each([
    ['DELETE', '/v1/payments', 'GET, POST'],
    ['PATCH', '/v1/payments', 'GET, POST'],
    ['POST', '/v1/payments/ref-1', 'GET'],
    ['GET', '/v1/payments/ref-1/otp', 'POST'],
    ['PUT', '/v1/payments/ref-1/capture', 'POST'],
    ['GET', '/v1/webhooks/plural', 'POST'],
    ['POST', '/healthz', 'GET'],
  ])('answers %s %s with 405 and Allow: %s', async (method, path, allow) => {
    const api = makeApi();
    const res = await request(api.app)[method.toLowerCase() as 'get'](path).set(auth);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.body.error.type).toBe('method_not_allowed_error');
  });

  it('answers an undecodable path parameter with 400, not 500', async () => {
    const api = makeApi();
    const res = await request(api.app).get('/v1/payments/%E0%A4%A').set(auth);
    expect(res.status).toBe(400);
    expect(res.body.error).toBeDefined();
  });

  it('answers an unexpected engine failure with a generic 500 body and no stack trace', async () => {
    const api = makeApi();
    api.engine.get = () => Promise.reject(new Error('boom at /secret/path.ts:1:2'));
    const res = await request(api.app).get('/v1/payments/ref-1').set(auth);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      error: { type: 'api_error', code: 'internal_error', message: 'internal error; the request may be retried' },
    });
    expect(res.text).not.toContain('boom');
  });

  it('answers a body with an unsupported charset with 415', async () => {
    const api = makeApi();
    const res = await request(api.app)
      .post('/v1/payments')
      .set(auth)
      .set('Content-Type', 'application/json; charset=klingon')
      .send('{}');
    expect(res.status).toBe(415);
  });
});
