/**
 * Workflow changes made after histories existed, each behind `patched(id)` so that a payment started before the change
 * replays its old branch (workflows/README.md, "Replay safety and versioning"). `test/workflows/replay.test.ts`
 * requires a committed history holding each id's marker. None is live: the last incompatible change (the merchant's
 * requests as Updates, the memo summary) came before any production history and re-recorded the fixtures instead.
 */
export const PATCH = {} as const;
