import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Requests and sample responses extracted from Plural's integration guides (copied to test/fixtures/plural-docs). */

export const DOCS_DIR = join(__dirname, '..', 'fixtures', 'plural-docs');

export interface DocExchange {
  readonly file: string;
  readonly method: string;
  /** Path as documented, e.g. `/api/pay/v1/orders/{order_id}/payments`. */
  readonly path: string;
  readonly body: unknown;
  /** The next "Sample Response" block after the request, if any. */
  readonly response: unknown;
}

/** The guides' JSON is hand-written: tolerate trailing commas (pay-by-points sample response has one). */
export function parseLooseJson(text: string): unknown {
  return JSON.parse(text.replace(/,(\s*[}\]])/g, '$1'));
}

/** UAT curl blocks (PROD duplicates skipped) paired with the sample response that follows them. */
export function docExchanges(file: string): DocExchange[] {
  const text = readFileSync(join(DOCS_DIR, file), 'utf8');
  const blocks = [...text.matchAll(/```(\w+)?([^\n]*)\n([\s\S]*?)```/g)].map((m) => ({
    lang: m[1] ?? '',
    title: (m[2] ?? '').trim(),
    content: m[3] ?? '',
  }));
  const out: DocExchange[] = [];
  let pending: Omit<DocExchange, 'response'> | undefined;
  const flush = (response: unknown): void => {
    if (pending) out.push({ ...pending, response });
    pending = undefined;
  };
  for (const block of blocks) {
    if (block.lang === 'curl') {
      if (/PROD/i.test(block.title)) continue;
      const url = /(?:--url|--location)\s+'?(https:\/\/[^\s'\\]+)/.exec(block.content)?.[1];
      if (!url) continue;
      flush(undefined);
      const explicit = /--request\s+(\w+)/.exec(block.content)?.[1];
      const data = /--data\s+'([\s\S]*)'/.exec(block.content)?.[1];
      pending = {
        file,
        method: (explicit ?? (data !== undefined ? 'POST' : 'GET')).toUpperCase(),
        path: decodeURIComponent(new URL(url).pathname),
        body: data !== undefined ? parseLooseJson(data) : undefined,
      };
    } else if (block.lang === 'json' && /Sample Response/i.test(block.title) && pending) {
      flush(parseLooseJson(block.content));
    }
  }
  flush(undefined);
  return out;
}

/** The one documented exchange whose path ends with `suffix` (throws when absent, so a docs change fails loudly). */
export function docExchange(file: string, suffix: string, nth = 0): DocExchange {
  const found = docExchanges(file).filter((e) => e.path.endsWith(suffix));
  const hit = found[nth];
  if (!hit) throw new Error(`no documented request ending with ${suffix} in ${file}`);
  return hit;
}
