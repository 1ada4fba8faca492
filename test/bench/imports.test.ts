/**
 * The benchmarks run under plain Node (`npm run bench` is `node --import tsx bench/index.ts`), not under vitest, and
 * vitest refuses to be loaded outside its runner. They borrow a few test helpers (the dev stack in a child process),
 * so a helper that starts asserting with vitest breaks `npm run bench` without failing a single test: it did once,
 * when the challenge-page helper moved next to the stack's. This walks every module the benchmarks load.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.join(__dirname, '..', '..');
const BENCH = path.join(ROOT, 'bench');

/** The repository file a relative specifier names, as Node with tsx resolves it; undefined for packages. */
function resolveLocal(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, `${base}.cjs`, `${base}.js`, path.join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  throw new Error(`${path.relative(ROOT, from)} imports ${specifier}, which does not resolve`);
}

/** Every specifier a module imports, requires or dynamically imports. */
function specifiersOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** The modules reachable from `entries`, each with the packages it imports. */
function moduleGraph(entries: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const queue = [...entries];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (graph.has(file)) continue;
    const packages: string[] = [];
    for (const specifier of specifiersOf(file)) {
      const local = resolveLocal(file, specifier);
      if (local === undefined) packages.push(specifier);
      else queue.push(local);
    }
    graph.set(file, packages);
  }
  return graph;
}

const benchEntries = (): string[] =>
  readdirSync(BENCH, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(BENCH, f));

describe('the benchmarks', () => {
  it('load no module that imports vitest', () => {
    const graph = moduleGraph(benchEntries());
    const offenders = [...graph]
      .filter(([, packages]) => packages.some((p) => p === 'vitest' || p.startsWith('vitest/')))
      .map(([file]) => path.relative(ROOT, file));
    // The walk reached the helpers the benchmarks borrow from test/: it would pass vacuously otherwise.
    expect([...graph.keys()].map((f) => path.relative(ROOT, f))).toContain(
      path.join('test', 'e2e', 'stack-process.ts'),
    );
    expect(offenders).toEqual([]);
  });

  it('find an import of vitest in a module they load', () => {
    // The check above, on a module graph that does import vitest: this test file's own.
    const graph = moduleGraph([__filename]);
    expect(graph.get(__filename)).toContain('vitest');
  });
});
