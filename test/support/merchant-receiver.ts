/**
 * A merchant's webhook endpoint for tests: verifies every delivery with the `standardwebhooks` library, as the README
 * tells merchants to, and records what it accepted. It can be down: answering 503 (`mode = 'unavailable'`) or not
 * listening at all (`stop()`, then `start()` again on the same port: connections refused meanwhile).
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** A delivery the receiver accepted (2xx): signature verified. */
export interface AcceptedDelivery {
  webhookId: string;
  timestamp: string;
  body: {
    id: string;
    type: string;
    timestamp: string;
    sequence: number;
    data: Record<string, unknown> & { merchant_order_reference: string; refund: Record<string, unknown> | null };
  };
  rawBody: string;
}

export class MerchantReceiver {
  /** `up`: verify and accept (204); `unavailable`: answer 503 without looking. */
  mode: 'up' | 'unavailable' = 'up';
  readonly accepted: AcceptedDelivery[] = [];
  /** Every request that reached the receiver, accepted or not. */
  attempts = 0;
  /** Requests refused for a bad signature (there should be none). */
  readonly unverified: string[] = [];
  private server: Server | undefined;
  private port = 0;

  constructor(private readonly secret: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/merchant/webhooks`;
  }

  /** Listens (again, on the same port once it has one). */
  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.attempts += 1;
        const status = this.handle(req.headers, Buffer.concat(chunks).toString('utf8'));
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening: connections are refused until {@link start}. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Accepted deliveries of one order, in arrival order. */
  of(reference: string): AcceptedDelivery[] {
    return this.accepted.filter((d) => d.body.data.merchant_order_reference === reference);
  }

  private handle(headers: IncomingHttpHeaders, rawBody: string): number {
    if (this.mode === 'unavailable') return 503;
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) if (typeof v === 'string') flat[k] = v;
    try {
      const body = new Webhook(this.secret).verify(rawBody, flat) as AcceptedDelivery['body'];
      this.accepted.push({
        webhookId: flat['webhook-id'] ?? '',
        timestamp: flat['webhook-timestamp'] ?? '',
        body,
        rawBody,
      });
      return 204;
    } catch (err) {
      this.unverified.push(err instanceof Error ? err.message : String(err));
      return 401;
    }
  }
}
