import { randomUUID } from 'node:crypto';

/**
 * HubSpot's error body (the `Error` schema of the CRM OpenAPI documents, plus the
 * `status: "error"` field every real response carries).
 */
export interface HubSpotErrorBody {
  status: 'error';
  message: string;
  correlationId: string;
  /** Absent on a few errors, e.g. an unknown object type. */
  category?: string;
  subCategory?: string;
  context?: Record<string, string[]>;
  errors?: HubSpotErrorDetail[];
  links?: Record<string, string>;
  /** Only on 429 responses. */
  errorType?: string;
  policyName?: string;
}

export interface HubSpotErrorDetail {
  message: string;
  code?: string;
  in?: string;
  subCategory?: string;
  context?: Record<string, string[]>;
}

/**
 * An API failure with its HTTP status and HubSpot error body. The store throws these
 * too, so a write made directly through the store fails exactly like one made over HTTP.
 */
export class HubSpotApiError extends Error {
  readonly status: number;
  readonly category: string;
  readonly extra: Partial<Omit<HubSpotErrorBody, 'status' | 'message' | 'correlationId' | 'category'>>;

  constructor(status: number, category: string, message: string, extra: HubSpotApiError['extra'] = {}) {
    super(message);
    this.name = 'HubSpotApiError';
    this.status = status;
    this.category = category;
    this.extra = extra;
  }

  toBody(correlationId: string = randomUUID()): HubSpotErrorBody {
    const category = this.category === '' ? {} : { category: this.category };
    return { status: 'error', message: this.message, correlationId, ...category, ...this.extra };
  }
}

export function validationError(message: string, extra: HubSpotApiError['extra'] = {}): HubSpotApiError {
  return new HubSpotApiError(400, 'VALIDATION_ERROR', message, extra);
}

/**
 * HubSpot's answer to an object type it does not know (in a path or in the `associations`
 * parameter): 400 with a body of status, message and correlationId only, no category.
 */
export function unknownObjectType(type: string): HubSpotApiError {
  return new HubSpotApiError(400, '', `Unable to infer object type from: ${type}`);
}

export function notFound(message = 'resource not found', extra: HubSpotApiError['extra'] = {}): HubSpotApiError {
  return new HubSpotApiError(404, 'OBJECT_NOT_FOUND', message, extra);
}

/** One entry of HubSpot's "Property values were not valid" list. */
export interface PropertyValidationProblem {
  isValid: false;
  message: string;
  error: string;
  name: string;
  localizedErrorMessage: string;
}

/**
 * HubSpot reports invalid property values as one VALIDATION_ERROR whose message embeds
 * the JSON list of problems ("Property values were not valid: [{...}]"); the emulator
 * also lists them in `errors` so clients need not parse the message.
 */
export function propertyValuesError(problems: PropertyValidationProblem[]): HubSpotApiError {
  return validationError(`Property values were not valid: ${JSON.stringify(problems)}`, {
    errors: problems.map((problem) => ({ message: problem.message, code: problem.error, context: { propertyName: [problem.name] } })),
  });
}

export function propertyProblem(name: string, error: string, message: string): PropertyValidationProblem {
  return { isValid: false, message, error, name, localizedErrorMessage: message };
}

/**
 * HubSpot's 409 for a unique value (a contact's email, a custom property with unique
 * values) that another record already holds: "Contact already exists. Existing ID: 123",
 * body `{status, message, correlationId, category: "CONFLICT"}` (as HubSpot's clients
 * report it for single and batch creates). Without `existingId` - a value two inputs of
 * one batch share, where no record held it before - the message stops after "exists"
 * (assumption: published responses show this shorter message for batch creates, without
 * saying which case produced it). The noun for objects other than contacts is an
 * assumption too.
 */
export function alreadyExists(singular: string, existingId?: number): HubSpotApiError {
  const noun = singular.charAt(0) + singular.slice(1).toLowerCase();
  return new HubSpotApiError(409, 'CONFLICT', existingId === undefined ? `${noun} already exists` : `${noun} already exists. Existing ID: ${existingId}`);
}

/**
 * HubSpot's 400 for an update or upsert addressed by a property without unique values
 * (hs_object_id included), as its users have published it: "Unable to perform
 * update/upsert by non-unique 0-2 property domain" (some answers add " in portal ID …").
 */
export function nonUniqueIdProperty(objectTypeId: string, name: string): HubSpotApiError {
  return validationError(`Unable to perform update/upsert by non-unique ${objectTypeId} property ${name}`);
}

/** HubSpot's 400 for a batch that names one record twice (ids, or idProperty values). */
export function duplicateIds(ids: string[]): HubSpotApiError {
  return validationError(`Duplicate IDs found in batch input: [${ids.join(', ')}]. IDs must be unique`, { context: { ids } });
}
