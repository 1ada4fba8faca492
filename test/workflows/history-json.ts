/**
 * History <-> JSON for the committed replay fixtures.
 *
 * `historyToJSON`/`historyFromJSON` from `@temporalio/common` throw "type must be a Type" in this install: npm
 * nested two separate copies of protobufjs 8 (under @temporalio/common and @temporalio/proto), because the root
 * holds protobufjs 7 for @grpc/proto-loader. Until that is deduplicated, the fixtures use protobufjs's own
 * object form (enums and int64 as strings, bytes as base64), which round-trips through the generated classes.
 */
import { temporal } from '@temporalio/proto';

const History = temporal.api.history.v1.History;

/** Serializes a fetched history to stable, reviewable JSON. */
export function historyToFixtureJSON(history: temporal.api.history.v1.IHistory): string {
  const message = History.fromObject(history);
  return JSON.stringify(History.toObject(message, { longs: String, enums: String, bytes: String }), null, 2);
}

/** Parses a fixture written by {@link historyToFixtureJSON}. */
export function historyFromFixtureJSON(json: string): temporal.api.history.v1.History {
  return History.fromObject(JSON.parse(json) as Record<string, unknown>);
}
