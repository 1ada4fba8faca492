import { status } from '@grpc/grpc-js';

/** An error answered to the gRPC caller with a specific status code. */
export class ServiceError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

export const notFound = (message: string): ServiceError => new ServiceError(status.NOT_FOUND, message);
export const invalidArgument = (message: string): ServiceError => new ServiceError(status.INVALID_ARGUMENT, message);
export const alreadyExists = (message: string): ServiceError => new ServiceError(status.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string): ServiceError =>
  new ServiceError(status.FAILED_PRECONDITION, message);
export const unimplemented = (message: string): ServiceError => new ServiceError(status.UNIMPLEMENTED, message);
