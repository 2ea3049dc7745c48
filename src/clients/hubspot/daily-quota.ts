import { DailyQuotaStop } from '../../errors.js';
import { formatDuration } from '../../processors/health.js';
import type { DailyReserve } from '../crm.js';
import type { Reply } from '../http/request.js';

/** What HubSpot says of when its daily quota comes back: nothing more precise reaches a private app. */
const RESETS = "HubSpot resets it at midnight in the portal's time zone (Settings > Account Defaults)";
const CONTINUES = 'the next run continues from the last page saved';

/** The reserve in requests for a daily limit; undefined when a share is asked of a limit HubSpot has not stated. */
export function reserveRequests(reserve: DailyReserve, limit: number | undefined): number | undefined {
  if ('requests' in reserve) return reserve.requests;
  return limit === undefined ? undefined : Math.ceil((limit * reserve.percent) / 100);
}

/** As --daily-reserve takes it: 10%, 25000. */
export function describeReserve(reserve: DailyReserve): string {
  return 'percent' in reserve ? `${reserve.percent}%` : String(reserve.requests);
}

/**
 * HubSpot's daily request quota as a connection last heard it: every app of the portal
 * draws on it (250,000 to 1,000,000 requests a day), so a run stops before the request that
 * would leave less than its reserve, and the other apps keep theirs. Answers state what is
 * left (X-HubSpot-RateLimit-Daily-Remaining), counting every app's requests; requests sent
 * and not yet answered are counted as spent. Until a first answer states the quota (and on
 * OAuth tokens, whose answers never do), requests go out.
 */
export class DailyQuota {
  private remaining?: number;
  private limit?: number;
  private inFlight = 0;

  /** Before a request: a DailyQuotaStop when sending it would leave less than `reserve`. */
  admit(reserve: DailyReserve | undefined): void {
    if (reserve !== undefined && this.remaining !== undefined) {
      const kept = reserveRequests(reserve, this.limit);
      const left = this.remaining - this.inFlight;
      if (kept !== undefined && kept > 0 && left - 1 < kept) {
        throw new DailyQuotaStop(
          `stopped at HubSpot's daily quota reserve: ${Math.max(0, left)} of ${this.limit ?? '?'} requests left today, ${kept} kept for the portal's other apps (--daily-reserve ${describeReserve(reserve)}); ${RESETS}, and ${CONTINUES}`,
        );
      }
    }
    this.inFlight++;
  }

  /** After the request: its answer's figures, when it has an answer that states them. */
  settle(remaining: number | undefined, limit: number | undefined): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (remaining === undefined) return;
    this.remaining = remaining;
    if (limit !== undefined) this.limit = limit;
  }
}

/**
 * A 429 of HubSpot's DAILY policy: nothing is left until the quota resets, so waiting within
 * the run cannot help. Retry-After, when HubSpot sends one, says how long until it resets.
 */
export function dailyQuotaSpent(reply: Reply, limit: number | undefined): DailyQuotaStop {
  const retryAfter = Number(reply.header('retry-after'));
  const when = retryAfter > 0 ? `${RESETS}; HubSpot asks to wait ${formatDuration(retryAfter * 1000)}` : RESETS;
  return new DailyQuotaStop(`HubSpot refused a request: the portal's daily quota of ${limit ?? '?'} requests is used up (429 DAILY); ${when}, and ${CONTINUES}`);
}
