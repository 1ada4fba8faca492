import { invalidArgument } from './errors';
import { WorkflowExecutionStatus, duration, timestamp } from './proto';
import type { IPayload, Loose } from './proto';
import type { temporal } from '@temporalio/proto';
import type { WorkflowRun } from './workflow-run';

type Value = string | number | boolean | null | Value[];

/** Status names as the visibility query language spells them. */
export const STATUS_NAMES: Record<number, string> = {
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING]: 'Running',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED]: 'Completed',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED]: 'Failed',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED]: 'Canceled',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED]: 'Terminated',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW]: 'ContinuedAsNew',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT]: 'TimedOut',
};

const TIME_ATTRIBUTES = new Set(['StartTime', 'CloseTime', 'ExecutionTime']);

/** Reads a search attribute (built-in or custom) of a run, as the query language sees it. */
export function attributeValue(run: WorkflowRun, name: string): Value {
  switch (name) {
    case 'WorkflowId':
      return run.workflowId;
    case 'RunId':
      return run.runId;
    case 'WorkflowType':
      return run.config.workflowType;
    case 'TaskQueue':
      return run.config.taskQueue;
    case 'ExecutionStatus':
      return STATUS_NAMES[run.status] ?? 'Unspecified';
    case 'StartTime':
      return run.config.startTime;
    case 'ExecutionTime':
      return run.config.executionTime;
    case 'CloseTime':
      return run.closeTime > 0 ? run.closeTime : null;
    case 'HistoryLength':
      return run.history.length;
    default: {
      const payload = run.searchAttributes.get(name);
      return payload ? decodePayloadValue(payload) : null;
    }
  }
}

function decodePayloadValue(p: IPayload): Value {
  if (!p.data) return null;
  const text = Buffer.from(p.data).toString('utf8');
  try {
    return JSON.parse(text) as Value;
  } catch {
    return text;
  }
}

// ---------------------------------------------------------------- parsing

type Token =
  | { t: 'id'; v: string }
  | { t: 'str'; v: string }
  | { t: 'num'; v: number }
  | { t: 'op'; v: string }
  | { t: 'punct'; v: '(' | ')' | ',' };

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const c = query.charAt(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      let v = '';
      while (j < query.length && query.charAt(j) !== c) {
        if (query.charAt(j) === '\\' && j + 1 < query.length) j++;
        v += query.charAt(j++);
      }
      if (j >= query.length) throw invalidArgument(`invalid query: unterminated string in: ${query}`);
      tokens.push({ t: 'str', v });
      i = j + 1;
    } else if (c === '`') {
      const j = query.indexOf('`', i + 1);
      if (j < 0) throw invalidArgument(`invalid query: unterminated identifier in: ${query}`);
      tokens.push({ t: 'id', v: query.slice(i + 1, j) });
      i = j + 1;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ t: 'punct', v: c });
      i++;
    } else if ('=!<>'.includes(c)) {
      const two = query.slice(i, i + 2);
      if (['!=', '<>', '>=', '<='].includes(two)) {
        tokens.push({ t: 'op', v: two === '<>' ? '!=' : two });
        i += 2;
      } else if (c === '!') {
        throw invalidArgument(`invalid query: unexpected '!' in: ${query}`);
      } else {
        tokens.push({ t: 'op', v: c });
        i++;
      }
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?\d+(\.\d+)?/.exec(query.slice(i));
      if (!m) throw invalidArgument(`invalid query: unexpected '${c}' in: ${query}`);
      tokens.push({ t: 'num', v: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(query.slice(i));
      tokens.push({ t: 'id', v: m![0] });
      i += m![0].length;
    } else {
      throw invalidArgument(`invalid query: unexpected '${c}' in: ${query}`);
    }
  }
  return tokens;
}

type Predicate = (run: WorkflowRun) => boolean;

/** A parsed visibility query: a filter, an optional ORDER BY and an optional GROUP BY. */
export interface ParsedQuery {
  filter: Predicate;
  orderBy?: { attribute: string; desc: boolean };
  groupBy?: string;
}

const isKeyword = (tok: Token | undefined, word: string): boolean => tok?.t === 'id' && tok.v.toUpperCase() === word;

/** Parses the subset of the visibility query language: =, !=, <, <=, >, >=, IN, NOT IN, STARTS_WITH, BETWEEN, IS [NOT] NULL, AND, OR, NOT, parentheses, ORDER BY, GROUP BY. */
export function parseQuery(query: string | null | undefined): ParsedQuery {
  const text = (query ?? '').trim();
  if (!text) return { filter: () => true };
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const next = (): Token => {
    const tok = tokens[pos++];
    if (!tok) throw invalidArgument(`invalid query: unexpected end of query: ${text}`);
    return tok;
  };
  const literal = (): Value => {
    const tok = next();
    if (tok.t === 'str' || tok.t === 'num') return tok.v;
    if (isKeyword(tok, 'TRUE')) return true;
    if (isKeyword(tok, 'FALSE')) return false;
    throw invalidArgument(`invalid query: expected a value in: ${text}`);
  };
  const expectPunct = (p: string): void => {
    const tok = next();
    if (tok.t !== 'punct' || tok.v !== p) throw invalidArgument(`invalid query: expected '${p}' in: ${text}`);
  };

  const comparison = (): Predicate => {
    const attrTok = next();
    if (attrTok.t !== 'id') throw invalidArgument(`invalid query: expected a search attribute name in: ${text}`);
    const attr = attrTok.v;
    const read = (run: WorkflowRun): Value => attributeValue(run, attr);
    const coerce = (v: Value): Value => (TIME_ATTRIBUTES.has(attr) && typeof v === 'string' ? Date.parse(v) : v);
    const tok = next();
    if (tok.t === 'op') {
      const value = coerce(literal());
      return (run) => compare(read(run), tok.v, value);
    }
    let negate = false;
    let op: Token = tok;
    if (isKeyword(op, 'NOT')) {
      negate = true;
      op = next();
    }
    if (isKeyword(op, 'IN')) {
      expectPunct('(');
      const values: Value[] = [coerce(literal())];
      while (peek()?.t === 'punct' && (peek() as { v: string }).v === ',') {
        pos++;
        values.push(coerce(literal()));
      }
      expectPunct(')');
      return (run) => values.some((v) => compare(read(run), '=', v)) !== negate;
    }
    if (isKeyword(op, 'STARTS_WITH')) {
      const prefix = literal();
      return (run) => {
        const v = read(run);
        const hit = Array.isArray(v)
          ? v.some((x) => typeof x === 'string' && x.startsWith(String(prefix)))
          : typeof v === 'string' && v.startsWith(String(prefix));
        return hit !== negate;
      };
    }
    if (isKeyword(op, 'BETWEEN')) {
      const lo = coerce(literal());
      if (!isKeyword(next(), 'AND')) throw invalidArgument(`invalid query: expected AND in BETWEEN in: ${text}`);
      const hi = coerce(literal());
      return (run) => (compare(read(run), '>=', lo) && compare(read(run), '<=', hi)) !== negate;
    }
    if (isKeyword(op, 'IS') && !negate) {
      let isNot = false;
      let t = next();
      if (isKeyword(t, 'NOT')) {
        isNot = true;
        t = next();
      }
      if (!isKeyword(t, 'NULL')) throw invalidArgument(`invalid query: expected NULL in: ${text}`);
      return (run) => (read(run) === null) !== isNot;
    }
    throw invalidArgument(`invalid query: unsupported operator near '${attr}' in: ${text}`);
  };

  const unary = (): Predicate => {
    const tok = peek();
    if (isKeyword(tok, 'NOT')) {
      pos++;
      const inner = unary();
      return (run) => !inner(run);
    }
    if (tok?.t === 'punct' && tok.v === '(') {
      pos++;
      const inner = orExpr();
      expectPunct(')');
      return inner;
    }
    return comparison();
  };
  const andExpr = (): Predicate => {
    const parts = [unary()];
    while (isKeyword(peek(), 'AND')) {
      pos++;
      parts.push(unary());
    }
    return parts.length === 1 ? parts[0]! : (run) => parts.every((p) => p(run));
  };
  const orExpr = (): Predicate => {
    const parts = [andExpr()];
    while (isKeyword(peek(), 'OR')) {
      pos++;
      parts.push(andExpr());
    }
    return parts.length === 1 ? parts[0]! : (run) => parts.some((p) => p(run));
  };

  let filter: Predicate = () => true;
  if (!isKeyword(peek(), 'ORDER') && !isKeyword(peek(), 'GROUP')) filter = orExpr();
  const result: ParsedQuery = { filter };
  while (pos < tokens.length) {
    const tok = next();
    if (isKeyword(tok, 'ORDER') && isKeyword(next(), 'BY')) {
      const attr = next();
      if (attr.t !== 'id') throw invalidArgument(`invalid query: expected attribute after ORDER BY in: ${text}`);
      let desc = false;
      if (isKeyword(peek(), 'DESC')) {
        pos++;
        desc = true;
      } else if (isKeyword(peek(), 'ASC')) {
        pos++;
      }
      result.orderBy = { attribute: attr.v, desc };
    } else if (isKeyword(tok, 'GROUP') && isKeyword(next(), 'BY')) {
      const attr = next();
      if (attr.t !== 'id') throw invalidArgument(`invalid query: expected attribute after GROUP BY in: ${text}`);
      if (attr.v !== 'ExecutionStatus') {
        throw invalidArgument(
          `invalid query: 'GROUP BY' clause is only supported for ExecutionStatus search attribute`,
        );
      }
      result.groupBy = attr.v;
    } else {
      throw invalidArgument(`invalid query: unexpected token in: ${text}`);
    }
  }
  return result;
}

function compare(actual: Value, op: string, expected: Value): boolean {
  if (Array.isArray(actual)) {
    // A keyword list matches when any element does (= / IN); != means no element equals.
    if (op === '!=') return !actual.some((a) => compare(a, '=', expected));
    return actual.some((a) => compare(a, op, expected));
  }
  if (actual === null) return op === '!=' && expected !== null;
  switch (op) {
    case '=':
      return actual === expected;
    case '!=':
      return actual !== expected;
    case '>':
      return expected !== null && actual > expected;
    case '>=':
      return expected !== null && actual >= expected;
    case '<':
      return expected !== null && actual < expected;
    case '<=':
      return expected !== null && actual <= expected;
    default:
      return false;
  }
}

/** Default order of the real server's SQL visibility: open runs first, then by close time, then start time, newest first. */
export function sortRuns(runs: WorkflowRun[], orderBy?: { attribute: string; desc: boolean }): WorkflowRun[] {
  if (orderBy) {
    const dir = orderBy.desc ? -1 : 1;
    return runs.sort((a, b) => {
      const va = attributeValue(a, orderBy.attribute);
      const vb = attributeValue(b, orderBy.attribute);
      if (va === vb) return 0;
      if (va === null) return 1;
      if (vb === null) return -1;
      return (va < vb ? -1 : 1) * dir;
    });
  }
  return runs.sort((a, b) => {
    const ca = a.closeTime || Number.MAX_SAFE_INTEGER;
    const cb = b.closeTime || Number.MAX_SAFE_INTEGER;
    if (ca !== cb) return cb - ca;
    if (a.config.startTime !== b.config.startTime) return b.config.startTime - a.config.startTime;
    return a.runId < b.runId ? -1 : 1;
  });
}

/** The WorkflowExecutionInfo of a run (describe and list). */
export function executionInfo(run: WorkflowRun): Loose<temporal.api.workflow.v1.IWorkflowExecutionInfo> {
  const closed = run.closeTime > 0;
  return {
    execution: { workflowId: run.workflowId, runId: run.runId },
    type: { name: run.config.workflowType },
    startTime: timestamp(run.config.startTime),
    closeTime: closed ? timestamp(run.closeTime) : undefined,
    status: run.status,
    historyLength: run.history.length,
    executionTime: timestamp(run.config.executionTime),
    memo: { fields: Object.fromEntries(run.memo) },
    searchAttributes: { indexedFields: Object.fromEntries(run.searchAttributes) },
    taskQueue: run.config.taskQueue,
    stateTransitionCount: run.history.length,
    historySizeBytes: run.history.sizeBytes,
    executionDuration: closed ? duration(run.closeTime - run.config.executionTime) : undefined,
    firstRunId: run.config.firstRunId,
    rootExecution: { workflowId: run.workflowId, runId: run.runId },
  };
}
