/**
 * Registers the payment workflow's custom search attributes on the namespace at worker start-up, so a fresh Temporal
 * (e.g. `temporal server start-dev`) does not fail workflow tasks on their first upsert. Best effort: where the
 * worker may not call the OperatorService (Temporal Cloud, restricted roles) it logs the command to run instead.
 */
import type { SearchAttributeType } from '@temporalio/common';
import { TypedSearchAttributes } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { NativeConnection } from '@temporalio/worker';
import type { AppLogger } from '../observability';
import { SEARCH_ATTRIBUTE } from '../workflows/definitions';

/** What {@link ensureSearchAttributes} found and did. */
export interface SearchAttributesResult {
  /** Attributes this call registered. */
  added: string[];
  /** Attributes registered with a different type than the workflow expects (operators must fix them). */
  mismatched: string[];
  /** Set when the OperatorService call failed; the worker still starts. */
  error?: string;
}

const IndexedValueType = temporal.api.enums.v1.IndexedValueType;
const INDEXED_TYPE: Record<SearchAttributeType, temporal.api.enums.v1.IndexedValueType> = {
  TEXT: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  DOUBLE: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** The OperatorService's type code of an SDK search attribute type. */
export const indexedValueType = (type: SearchAttributeType): temporal.api.enums.v1.IndexedValueType =>
  INDEXED_TYPE[type];

/** Lists the namespace's search attributes and adds the missing payment ones. Never throws. */
export async function ensureSearchAttributes(
  connection: NativeConnection,
  namespace: string,
  logger: AppLogger,
): Promise<SearchAttributesResult> {
  const wanted = Object.values(SEARCH_ATTRIBUTE);
  const result: SearchAttributesResult = { added: [], mismatched: [] };
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const custom = existing.customAttributes ?? {};
    const missing: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
    for (const key of wanted) {
      const type = INDEXED_TYPE[key.type];
      const current = custom[key.name];
      if (current === undefined) missing[key.name] = type;
      else if (current !== type) result.mismatched.push(key.name);
    }
    if (Object.keys(missing).length > 0) {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
      result.added.push(...Object.keys(missing));
      logger.info({ namespace, added: result.added }, 'registered payment search attributes');
    }
    if (result.mismatched.length > 0) {
      logger.error(
        { namespace, mismatched: result.mismatched },
        'search attributes exist with the wrong type; payment workflows will fail to upsert them',
      );
    }
  } catch (err) {
    result.error = err instanceof Error ? err.message : 'unknown error';
    const commands = wanted.map(
      (k) =>
        `temporal operator search-attribute create --namespace ${namespace} --name ${k.name} --type ${TypedSearchAttributes.toMetadataType(k.type)}`,
    );
    logger.warn(
      { namespace, error: result.error, commands },
      'could not check or register the payment search attributes; register them with the commands listed',
    );
  }
  return result;
}
