/**
 * Rows of tables the emulator does not serve but that every organisation's rows point
 * at: its users (the application user the client signs in as among them), teams, root
 * business unit and base currency. Their ids follow from the seed value (and the
 * client id), so seeded createdby, modifiedby and owner values, WhoAmI and writes agree.
 */
import { hashString, mixSeed } from '../shared/prng.js';
import { guidFromWords } from './seed.js';

/** Default tenant and application (client) ids: fixed, so configurations can be written down. */
export const DEFAULT_TENANT_ID = '8c3f1a52-6d0e-4b7a-9f21-3e5d7c9a1b40';
export const DEFAULT_CLIENT_ID = '4f7b2c19-0a8e-4d63-b5f1-9c2e6a8d3f57';

/** A GUID that is a pure function of its parts. */
export function stableGuid(...parts: string[]): string {
  const h = parts.map(hashString);
  return guidFromWords(mixSeed(0x6d657461, ...h, 1), mixSeed(0x6d657461, ...h, 2), mixSeed(0x6d657461, ...h, 3), mixSeed(0x6d657461, ...h, 4));
}

/** Logical name → entity set of the tables whose rows are known only by id. */
const REFERENCE_SETS: Record<string, string> = {
  systemuser: 'systemusers',
  team: 'teams',
  businessunit: 'businessunits',
  transactioncurrency: 'transactioncurrencies',
};

/** Users besides the application user, who created and changed the seeded rows. */
const SEEDED_USERS = 8;
const SEEDED_TEAMS = 2;

export class Organisation {
  /** The application user of the app registration: the caller of every Web API request. */
  readonly userId: string;
  readonly businessUnitId: string;
  readonly organizationId: string;
  private readonly rows: Record<string, readonly string[]>;

  constructor(seedValue: number, clientId: string = DEFAULT_CLIENT_ID) {
    const seed = String(seedValue);
    this.userId = stableGuid('whoami', seed, 'user', clientId.toLowerCase());
    this.businessUnitId = stableGuid('whoami', seed, 'businessunit');
    this.organizationId = stableGuid('whoami', seed, 'organization');
    const some = (table: string, count: number) => Array.from({ length: count }, (_, i) => stableGuid(table, seed, String(i)));
    this.rows = {
      systemuser: [this.userId, ...some('systemuser', SEEDED_USERS)],
      team: some('team', SEEDED_TEAMS),
      businessunit: [this.businessUnitId],
      transactioncurrency: some('transactioncurrency', 1),
    };
  }

  /** The ids of a reference table's rows (none for other tables); seeded rows point at them. */
  ids(logicalName: string): readonly string[] {
    return this.rows[logicalName] ?? [];
  }

  /** The base currency, which a row with money values gets unless it names another. */
  get currencyId(): string {
    return this.rows.transactioncurrency?.[0] as string;
  }

  /** The logical name behind a reference table's entity set (`systemusers` → `systemuser`). */
  logicalNameOf(entitySet: string): string | undefined {
    return Object.keys(REFERENCE_SETS).find((logical) => REFERENCE_SETS[logical] === entitySet);
  }

  has(logicalName: string, id: string): boolean {
    return this.ids(logicalName).includes(id.toLowerCase());
  }
}
