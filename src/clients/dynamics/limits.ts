/** Dataverse's largest page (and the default): Prefer: odata.maxpagesize may ask for less. */
export const DYNAMICS_MAX_PAGE_SIZE = 5_000;

/**
 * Dataverse's service protection allows 6,000 requests per user in any five minutes (and
 * 52 at once); crmsync stays under the first and never comes near the second.
 */
export const SERVICE_PROTECTION = { requests: 6_000, windowMs: 300_000 };
