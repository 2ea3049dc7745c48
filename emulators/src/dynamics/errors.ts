/**
 * Dataverse Web API errors: `{"error":{"code":"0x…","message":"…"}}`. The code is the
 * platform's hexadecimal error code (the SDK's OrganizationServiceFault.ErrorCode as
 * 0x…); a few failures raised by the OData layer itself carry an empty code on the
 * real service, but most carry 0x80060888.
 */

export const ERROR_CODES = {
  /** ObjectDoesNotExist: "<logicalname> With Id = <guid> Does Not Exist". */
  objectDoesNotExist: '0x80040217',
  /** The OData layer: unknown properties, query syntax, unknown segments, bad payloads. */
  odata: '0x80060888',
  /** ConcurrencyVersionMismatch: If-Match with a stale ETag. */
  versionMismatch: '0x80060882',
  /** DuplicateRecord: a row with the key already exists (If-None-Match: *, POST with a taken id). */
  duplicateRecord: '0x80040237',
  /** ExpiredVersionStamp: a delta token older than the organisation's change-tracking retention. */
  expiredVersionStamp: '0x80044352',
  /** ChangeTrackingNotEnabledForEntity. */
  changeTrackingNotEnabled: '0x80072491',
  /** A validation error (string too long, value out of range). */
  validation: '0x80044331',
  /** InvalidArgument. */
  invalidArgument: '0x80040203',
  /** Service protection: number of requests in the 5-minute window. */
  requestLimit: '0x80072322',
  /** Service protection: combined execution time in the 5-minute window. */
  executionTimeLimit: '0x80072321',
  /** Service protection: concurrent requests. */
  concurrencyLimit: '0x80072326',
  /** An unexpected (server side) error. */
  unexpected: '0x80040216',
} as const;

export interface DataverseErrorBody {
  error: { code: string; message: string };
}

/**
 * A failed Web API operation with its HTTP status and Dataverse error body. The store
 * throws these too, so a write made directly through the store fails like one over HTTP.
 */
export class DataverseError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'DataverseError';
  }

  toBody(): DataverseErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

/** 400 from the OData layer (query syntax, unknown properties, bad payloads). */
export function odataError(message: string, status = 400): DataverseError {
  return new DataverseError(status, ERROR_CODES.odata, message);
}

/** "Could not find a property named 'x' on type 'Microsoft.Dynamics.CRM.contact'." */
export function propertyNotFound(typeName: string, name: string): DataverseError {
  return odataError(`Could not find a property named '${name}' on type '${typeName}'.`);
}

/** 404 for a row that does not exist, worded as Dataverse words it. */
export function rowNotFound(logicalName: string, id: string): DataverseError {
  return new DataverseError(404, ERROR_CODES.objectDoesNotExist, `${logicalName} With Id = ${id} Does Not Exist`);
}

/** 404 for an unknown path segment (entity set, function). */
export function segmentNotFound(segment: string): DataverseError {
  return odataError(`Resource not found for the segment '${segment}'.`, 404);
}
