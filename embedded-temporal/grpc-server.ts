import { gunzipSync, inflateSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import * as serverInterceptors from '@grpc/grpc-js/build/src/server-interceptors';
import { EncodedResponse } from './engine';
import { ServiceError } from './errors';
import { root } from './proto';
import type { CallContext, Handler } from './workflow-service';

interface MessageType {
  decode(bytes: Uint8Array): unknown;
  encode(message: unknown): { finish(): Uint8Array };
}

interface ReflectedMethod {
  name: string;
  resolve(): unknown;
  resolvedRequestType: MessageType | null;
  resolvedResponseType: MessageType | null;
}

interface ReflectedService {
  methodsArray: ReflectedMethod[];
}

const NEVER_ABORTED = new AbortController().signal;

/** Methods whose handlers wait (long polls, queries, sleeps) and so must stop when the caller goes away. */
const WAITING_METHODS = new Set([
  'PollWorkflowTaskQueue',
  'PollActivityTaskQueue',
  'GetWorkflowExecutionHistory',
  'QueryWorkflow',
  'Sleep',
  'SleepUntil',
  'UnlockTimeSkippingWithSleep',
]);

/**
 * Registers every method of a service from the protobuf reflection root. Methods without a handler answer
 * UNIMPLEMENTED with their name, so an unsupported feature fails loudly.
 */
export function addService(server: grpc.Server, serviceName: string, handlers: Record<string, Handler>): void {
  installSyncDecompression();
  const service = (root as unknown as { lookupService(name: string): ReflectedService }).lookupService(serviceName);
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const requestType = method.resolvedRequestType!;
    const responseType = method.resolvedResponseType!;
    definition[method.name] = {
      path: `/${serviceName}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (value: unknown) => Buffer.from(requestType.encode(value).finish()),
      requestDeserialize: (bytes: Buffer) => requestType.decode(bytes),
      responseSerialize: (value: unknown) =>
        value instanceof EncodedResponse ? value.bytes : Buffer.from(responseType.encode(value).finish()),
      responseDeserialize: (bytes: Buffer) => responseType.decode(bytes),
    };
    const handler = handlers[method.name];
    implementation[method.name] = (
      call: grpc.ServerUnaryCall<unknown, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ): void => {
      if (!handler) {
        callback({
          code: grpc.status.UNIMPLEMENTED,
          details: `${serviceName}.${method.name} is not implemented by the embedded Temporal service`,
        });
        return;
      }
      // Only calls that can wait need to observe cancellation (an AbortController per call is measurable).
      let signal = NEVER_ABORTED;
      if (WAITING_METHODS.has(method.name)) {
        const controller = new AbortController();
        call.on('cancelled', () => controller.abort());
        signal = controller.signal;
      }
      const deadline = call.getDeadline();
      const ctx: CallContext = {
        signal,
        deadline: deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? deadline : Infinity,
      };
      let result: unknown;
      try {
        result = handler(call.request, ctx);
      } catch (err) {
        callback(toGrpcError(err, method.name));
        return;
      }
      if (result instanceof Promise) {
        result.then(
          (value: unknown) => callback(null, value),
          (err: unknown) => callback(toGrpcError(err, method.name)),
        );
      } else {
        callback(null, result);
      }
    };
  }
  server.addService(definition, implementation);
}

function toGrpcError(err: unknown, method: string): Partial<grpc.StatusObject> {
  if (err instanceof ServiceError) return { code: err.code, details: err.message };
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(
    `embedded-temporal: internal error in ${method}: ${err instanceof Error ? err.stack : message}\n`,
  );
  return { code: grpc.status.INTERNAL, details: `internal error in ${method}: ${message}` };
}

type Decompress = (this: { maxReceiveMessageSize?: number }, message: Buffer, encoding: string) => unknown;

let syncDecompressionInstalled = false;

/**
 * The Rust core gzips every request. grpc-js inflates each message through a zlib *stream* created per message, which
 * cost about a fifth of the server's CPU in the benchmark; one-shot `gunzipSync` on these small messages is several
 * times cheaper. Replaces grpc-js's private `decompressMessage` when it has the expected shape, else leaves it.
 */
export function installSyncDecompression(): void {
  if (syncDecompressionInstalled) return;
  syncDecompressionInstalled = true;
  const prototype = (serverInterceptors.BaseServerInterceptingCall as unknown as { prototype: Record<string, unknown> })
    ?.prototype;
  const original = prototype?.decompressMessage as Decompress | undefined;
  if (!prototype || typeof original !== 'function') return;
  const replacement: Decompress = function (message, encoding) {
    if (encoding !== 'gzip' && encoding !== 'deflate') return original.call(this, message, encoding);
    const limit = this.maxReceiveMessageSize;
    const options = limit !== undefined && limit > 0 ? { maxOutputLength: limit } : {};
    try {
      const body = message.subarray(5);
      return encoding === 'gzip' ? gunzipSync(body, options) : inflateSync(body, options);
    } catch {
      // grpc-js expects its status object here, not an Error.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      return Promise.reject({ code: grpc.status.INTERNAL, details: 'Failed to decompress message' });
    }
  };
  prototype.decompressMessage = replacement;
}
