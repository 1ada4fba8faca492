import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import {
  decodeOptionalFailureToOptionalError,
  encodeErrorToFailure,
  encodeMapToPayloads,
} from '@temporalio/common/lib/internal-non-workflow/codec-helpers';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow/data-converter-helpers';
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { createDataConverter } from '../../payload-codec';

const KEYS = [{ id: 'dc-1', key: randomBytes(32) }];
const SECRET_MESSAGE = 'card holder Zephyrine Okonkwo-Baptiste declined at issuer';

describe('createDataConverter', () => {
  it('encrypts failure messages and stack traces (encodeCommonAttributes + codec) and restores them on decode', async () => {
    const converter = loadDataConverter(createDataConverter({ mode: 'on', keys: KEYS }));
    const failure = await encodeErrorToFailure(
      converter,
      ApplicationFailure.create({ message: SECRET_MESSAGE, type: 'PaymentDeclined', nonRetryable: true }),
    );
    const wire = Buffer.from(temporal.api.failure.v1.Failure.encode(failure).finish());
    expect(wire.includes(Buffer.from('Zephyrine'))).toBe(false);
    expect(wire.includes(Buffer.from('binary/encrypted'))).toBe(true);
    // The failure type stays readable: callers match failures on it.
    expect(failure.applicationFailureInfo?.type).toBe('PaymentDeclined');
    const back = await decodeOptionalFailureToOptionalError(converter, failure);
    expect(back?.message).toBe(SECRET_MESSAGE);
  });

  it('encrypts memo fields too', async () => {
    const converter = loadDataConverter(createDataConverter({ mode: 'on', keys: KEYS }));
    const memo = await encodeMapToPayloads(converter, { note: 'customer zephyrine@example.in' });
    const wire = Buffer.from(temporal.api.common.v1.Payload.encode(memo.note).finish());
    expect(wire.includes(Buffer.from('zephyrine@'))).toBe(false);
  });

  it('with encryption off, is Temporal default: payloads and failure messages in clear', async () => {
    expect(createDataConverter({ mode: 'off' })).toEqual({});
    const converter = loadDataConverter(createDataConverter({ mode: 'off' }));
    const failure = await encodeErrorToFailure(converter, ApplicationFailure.create({ message: SECRET_MESSAGE }));
    expect(
      Buffer.from(temporal.api.failure.v1.Failure.encode(failure).finish()).includes(Buffer.from('Zephyrine')),
    ).toBe(true);
  });
});
