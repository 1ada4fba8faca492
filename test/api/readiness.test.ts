/**
 * `/readyz` reports the engine (Temporal) and the gateway (Plural) separately: any HTTP answer from Plural's origin
 * is reachable, a refused connection or a timeout unreachable; a gateway outage keeps the 200 (`degraded`), an
 * engine outage is the 503. The probe is cached and shared by concurrent checks.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Ajv2020 from 'ajv/dist/2020';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createGatewayProbe, createGatewayProbes } from '../../api/gateway-probe';
import { buildOpenApiDocument } from '../../api/openapi';
import type { GatewayProbe } from '../../api/gateway-probe';
import { makeApi } from './helpers';

const servers: http.Server[] = [];
const probes: GatewayProbe[] = [];

afterEach(async () => {
  for (const p of probes.splice(0)) await p.close();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A stand-in gateway origin; `answer` decides what each request gets (`hang` never answers). */
async function gateway(answer: 'notFound' | 'hang' = 'notFound'): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits += 1;
    if (answer === 'hang') return;
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"NOT_FOUND"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

/** A port nothing listens on. */
async function closedPort(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return `http://127.0.0.1:${port}`;
}

function probe(baseUrl: string, options: { timeoutMs?: number; cacheMs?: number; now?: () => number } = {}) {
  const p = createGatewayProbe({ baseUrl, timeoutMs: 300, ...options });
  probes.push(p);
  return p;
}

describe('GET /readyz', () => {
  it('reports both reachable (any HTTP answer from Plural, even a 404, counts) with 200 ready', async () => {
    const g = await gateway();
    const api = makeApi({}, { gatewayProbe: probe(g.url) });
    const res = await request(api.app).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ready',
      engine: { reachable: true },
      gateway: { reachable: true, checked_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
    });
  });

  it('stays 200 when Plural refuses connections, saying degraded and gateway unreachable', async () => {
    const api = makeApi({}, { gatewayProbe: probe(await closedPort()) });
    const res = await request(api.app).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'degraded', engine: { reachable: true }, gateway: { reachable: false } });
  });

  it('counts a Plural that does not answer within the timeout as unreachable', async () => {
    const g = await gateway('hang');
    const api = makeApi({}, { gatewayProbe: probe(g.url, { timeoutMs: 150 }) });
    // The gateway never answers: without the probe's timeout this request would not be answered either.
    const res = await request(api.app).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body.gateway.reachable).toBe(false);
  });

  it('probes every Plural origin the merchants use: degraded while one of them does not answer', async () => {
    const [a, b] = [await gateway(), await gateway()];
    const down = await closedPort();
    const both = createGatewayProbes([a.url, `${b.url}/`, a.url], { timeoutMs: 300 })!;
    const oneDown = createGatewayProbes([a.url, down], { timeoutMs: 300 })!;
    probes.push(both, oneDown);
    const ready = await request(makeApi({}, { gatewayProbe: both }).app).get('/readyz');
    expect(ready.body).toMatchObject({ status: 'ready', gateway: { reachable: true } });
    expect([a.hits(), b.hits()]).toEqual([1, 1]); // each origin once, however many merchants name it
    const api = makeApi({}, { gatewayProbe: oneDown });
    const degraded = await request(api.app).get('/readyz');
    expect(degraded.status).toBe(200);
    expect(degraded.body).toMatchObject({ status: 'degraded', gateway: { reachable: false } });
    expect(JSON.stringify(degraded.body)).not.toContain('127.0.0.1'); // origins go to the log, not the public body
    expect(api.logs.join('')).toContain(new URL(down).origin);
    expect(createGatewayProbes([])).toBeUndefined();
  });

  it('answers 503 when the engine is down, still reporting the gateway', async () => {
    const g = await gateway();
    const api = makeApi({}, { gatewayProbe: probe(g.url) });
    api.engine.reachable = false;
    const res = await request(api.app).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({
      error: { code: 'engine_unreachable' },
      status: 'unavailable',
      engine: { reachable: false },
      gateway: { reachable: true },
    });
  });

  it('answers as the OpenAPI document says, 200 and 503 alike', async () => {
    const doc = buildOpenApiDocument({ serverUrl: 'x' });
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema({ $id: 'doc', components: doc.components });
    const validate = ajv.compile({ $ref: 'doc#/components/schemas/Readiness' });
    const api = makeApi({}, { gatewayProbe: probe(await closedPort()) });
    expect(validate((await request(api.app).get('/readyz')).body), JSON.stringify(validate.errors)).toBe(true);
    api.engine.reachable = false;
    expect(validate((await request(api.app).get('/readyz')).body), JSON.stringify(validate.errors)).toBe(true);
  });

  it('reports gateway.reachable null when the API knows no Plural origin', async () => {
    const res = await request(makeApi().app).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ready',
      engine: { reachable: true },
      gateway: { reachable: null, checked_at: null },
    });
  });
});

describe('the gateway probe', () => {
  it('asks Plural once per cache period, and once for concurrent checks', async () => {
    const g = await gateway();
    let clock = 1_000_000;
    const p = probe(g.url, { cacheMs: 5_000, now: () => clock });
    const [a, b] = await Promise.all([p.check(), p.check()]);
    expect(a).toBe(b);
    await p.check();
    expect(g.hits()).toBe(1);
    clock += 5_000;
    const fresh = await p.check();
    expect(g.hits()).toBe(2);
    expect(fresh.checkedAt).toBe(new Date(clock).toISOString());
  });

  it('sees Plural come back once the cached answer is old', async () => {
    let clock = 0;
    const down = await closedPort();
    const p = probe(down, { cacheMs: 1_000, now: () => clock });
    expect((await p.check()).reachable).toBe(false);
    const port = Number(new URL(down).port);
    const server = http.createServer((_req, res) => res.writeHead(200).end());
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    servers.push(server);
    expect((await p.check()).reachable).toBe(false); // cached
    clock += 1_000;
    expect((await p.check()).reachable).toBe(true);
  });
});
