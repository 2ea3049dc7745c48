import type { Store } from '../db/database.js';
import { healthReport } from '../db/health.js';
import { UsageError } from '../errors.js';

/**
 * GET /healthz: the verdict of `crmsync health` (default allowed ages), its body the report
 * `crmsync health --json` prints. A database without any run yet has nothing to judge, as
 * `crmsync health` says too: unhealthy, with that message.
 */
export async function healthVerdict(store: Store): Promise<{ healthy: boolean; body: unknown }> {
  try {
    const report = healthReport(store);
    return { healthy: report.healthy, body: report };
  } catch (error) {
    if (error instanceof UsageError) return { healthy: false, body: { healthy: false, message: error.message } };
    throw error;
  }
}
