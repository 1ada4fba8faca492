import type { temporal } from '@temporalio/proto';
import { alreadyExists, invalidArgument } from './errors';
import { api } from './proto';
import type { Handler } from './workflow-service';

type OS = typeof temporal.api.operatorservice.v1;
type Req<K extends keyof OS> = OS[K] extends { prototype: infer R } ? R : never;
const IndexedValueType = api.enums.v1.IndexedValueType;

/** Built-in search attributes and their types. */
export const SYSTEM_SEARCH_ATTRIBUTES: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  WorkflowId: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  RunId: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  WorkflowType: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  ExecutionStatus: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  TaskQueue: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  StartTime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  CloseTime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  ExecutionTime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  HistoryLength: IndexedValueType.INDEXED_VALUE_TYPE_INT,
};

/**
 * The search-attribute part of `temporal.api.operatorservice.v1.OperatorService`. Registration is optional here
 * (upserts of unregistered keyword attributes are accepted), but operators and tests that register attributes work.
 */
export function operatorServiceHandlers(
  customAttributes: Map<string, temporal.api.enums.v1.IndexedValueType>,
): Record<string, Handler> {
  return {
    AddSearchAttributes: (req: Req<'AddSearchAttributesRequest'>) => {
      const entries = Object.entries(req.searchAttributes ?? {});
      if (entries.length === 0) throw invalidArgument('SearchAttributes are not set on request.');
      for (const [name, type] of entries) {
        if (name in SYSTEM_SEARCH_ATTRIBUTES) {
          throw invalidArgument(`Search attribute ${name} is reserved by system.`);
        }
        if (customAttributes.has(name)) throw alreadyExists(`Search attribute ${name} already exists.`);
        customAttributes.set(name, type);
      }
      return {};
    },
    RemoveSearchAttributes: (req: Req<'RemoveSearchAttributesRequest'>) => {
      for (const name of req.searchAttributes ?? []) customAttributes.delete(name);
      return {};
    },
    ListSearchAttributes: () => ({
      customAttributes: Object.fromEntries(customAttributes),
      systemAttributes: SYSTEM_SEARCH_ATTRIBUTES,
      storageSchema: {},
    }),
  };
}
