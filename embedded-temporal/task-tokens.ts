/**
 * Task tokens: opaque to workers, readable here. A workflow task token names the run and the task's sequence number,
 * an activity token the run, the activity's scheduled event id and the attempt's dispatch number, so a token of an
 * earlier task or attempt is recognised as stale (NOT_FOUND), as on the real server.
 */

type ParsedToken =
  | { kind: 'w'; runId: string; seq: number }
  | { kind: 'q'; runId: string; queryId: string }
  | { kind: 'a'; runId: string; scheduledEventId: number; dispatchSeq: number };

export function workflowTaskToken(runId: string, seq: number): Buffer {
  return Buffer.from(`w|${runId}|${seq}`);
}

export function queryTaskToken(runId: string, queryId: string): Buffer {
  return Buffer.from(`q|${runId}|${queryId}`);
}

export function activityTaskToken(runId: string, scheduledEventId: number, dispatchSeq: number): Buffer {
  return Buffer.from(`a|${runId}|${scheduledEventId}|${dispatchSeq}`);
}

export function parseToken(token: Uint8Array | null | undefined): ParsedToken | undefined {
  if (!token || token.length === 0) return undefined;
  const parts = Buffer.from(token).toString('utf8').split('|');
  const [kind, runId] = parts;
  if (!runId) return undefined;
  if (kind === 'w') return { kind, runId, seq: Number(parts[2]) };
  if (kind === 'q') return { kind, runId, queryId: parts[2] ?? '' };
  if (kind === 'a') return { kind, runId, scheduledEventId: Number(parts[2]), dispatchSeq: Number(parts[3]) };
  return undefined;
}
