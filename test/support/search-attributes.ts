import { SEARCH_ATTRIBUTE } from '../../workflows/definitions';
import type { SearchAttributeSpec } from '../../temporal-server';

/** The search attributes every test server registers at start: the payment workflow's. */
export const TEST_SEARCH_ATTRIBUTES: readonly SearchAttributeSpec[] = Object.values(SEARCH_ATTRIBUTE);
