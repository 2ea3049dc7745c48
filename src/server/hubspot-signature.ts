import { createHash, timingSafeEqual } from 'node:crypto';
import { Signature } from '@hubspot/api-client/lib/src/utils/signature.js';

/** HubSpot refuses to sign with a timestamp further than this from its clock; a request that old (or that far ahead) is a replay or a wrong clock. */
export const MAX_TIMESTAMP_SKEW_MS = 5 * 60_000;

/**
 * HubSpot decodes these percent-escapes in the URI before signing it (and no others), so a
 * query such as `?a=b%3Ac` is signed as `?a=b:c`.
 */
const DECODED_BEFORE_SIGNING = /%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi;

/** The URI HubSpot signed: the origin it posted to, then the path and query as sent, with its escapes decoded. */
export function signedUri(origin: string, requestUrl: string): string {
  return `${origin}${requestUrl}`.replace(DECODED_BEFORE_SIGNING, (escape) => decodeURIComponent(escape));
}

export interface SignedRequest {
  clientSecret: string;
  method: string;
  /** As signedUri gives it. */
  uri: string;
  rawBody: Buffer;
  /** The X-HubSpot-Request-Timestamp and X-HubSpot-Signature-v3 headers. */
  timestamp: string | undefined;
  signature: string | undefined;
  now: number;
}

/**
 * Why a request does not carry a valid v3 signature, or null when it does. The SDK's
 * Signature.isValid is not used: it compares with `===` and accepts timestamps in the future.
 */
export function hubspotSignatureProblem(request: SignedRequest): string | null {
  if (request.signature === undefined || request.signature === '') return 'no X-HubSpot-Signature-v3 header';
  if (request.timestamp === undefined || request.timestamp === '') return 'no X-HubSpot-Request-Timestamp header';
  if (!/^\d{1,16}$/.test(request.timestamp)) return 'X-HubSpot-Request-Timestamp is not milliseconds since the epoch';
  const skew = request.now - Number(request.timestamp);
  if (skew > MAX_TIMESTAMP_SKEW_MS) return 'X-HubSpot-Request-Timestamp is more than 5 minutes old';
  if (-skew > MAX_TIMESTAMP_SKEW_MS) return 'X-HubSpot-Request-Timestamp is more than 5 minutes in the future';
  const expected = Signature.getSignature(request.method, 'v3', {
    signature: request.signature,
    clientSecret: request.clientSecret,
    url: request.uri,
    requestBody: request.rawBody.toString('utf8'),
    timestamp: Number(request.timestamp),
  });
  return sameSecret(restorePluses(request.signature, expected.length), expected) ? null : 'X-HubSpot-Signature-v3 does not match';
}

/**
 * A proxy that form-decodes headers turns the base64 '+' into a space, and a leading one is
 * then trimmed away with the header's white space: both are put back. Only '+' is restored,
 * so a match still needs every other character of the signature.
 */
function restorePluses(signature: string, length: number): string {
  return signature.trim().replaceAll(' ', '+').padStart(length, '+');
}

/** Constant-time equality of two strings of any length: their digests are compared, never the strings. */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}
