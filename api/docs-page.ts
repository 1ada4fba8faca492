/** A server-rendered HTML listing of the OpenAPI document (no scripts, no external assets: machines may be offline). */

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

interface Operation {
  summary?: string;
  description?: string;
  security?: unknown[];
  responses?: Record<string, { description?: string }>;
}

interface DocumentLike {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
}

/** The page's one inline style; the route's Content-Security-Policy allows it by hash. */
export const DOCS_STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
section{border-top:1px solid #ccc;padding:.5rem 0}.m{font-family:monospace;background:#eef;padding:0 .3rem}`;

/** Render the document as one HTML page: each operation with its summary, description and responses. */
export function docsPage(doc: DocumentLike): string {
  const sections = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => {
      const responses = Object.entries(op.responses ?? {})
        .map(([code, r]) => `<li><code>${escapeHtml(code)}</code> ${escapeHtml(r.description ?? '')}</li>`)
        .join('');
      const auth = op.security?.length === 0 ? 'no API key' : 'Bearer API key';
      return `<section>
<h2><span class="m">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code></h2>
<p><strong>${escapeHtml(op.summary ?? '')}</strong> <em>(${auth})</em></p>
${op.description ? `<p>${escapeHtml(op.description)}</p>` : ''}
<ul>${responses}</ul>
</section>`;
    }),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(doc.info.title)}</title>
<style>${DOCS_STYLE}</style>
</head><body>
<h1>${escapeHtml(doc.info.title)} <small>${escapeHtml(doc.info.version)}</small></h1>
<p>${escapeHtml(doc.info.description ?? '')}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
${sections.join('\n')}
</body></html>`;
}
