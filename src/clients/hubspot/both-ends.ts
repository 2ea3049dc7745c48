import type { SourcePage } from '../crm.js';
import type { HubSpotPage } from './client.js';

/**
 * Where a full read from both ends stands, stored with every page it yields. The list
 * endpoint walks ids upwards from the first record; searches sorted by id, descending,
 * walk down from `ceiling`; each takes only ids the other has not, so no record is read
 * twice. Once they meet, the list reads every id above the ceiling.
 */
export interface BothEndsCursor {
  kind: 'both-ends';
  /** The highest id the search walk starts from; the list reads every id above it. */
  ceiling: number;
  /** The list's next page; null: its first. */
  listAfter: string | null;
  /** The highest id at or below the ceiling the list has taken (0: none). */
  listHigh: number;
  /** The last id the list has read, taken or not (0: none). */
  listLast: number;
  /** The lowest id the search walk has taken (ceiling + 1: none). */
  searchLow: number;
  /** Whether the walks have met: the search walk is over, the list reads above the ceiling. */
  met: boolean;
}

export interface BothEndsRequests {
  /** One list page from `after` (undefined: the first). */
  list(after: string | undefined): Promise<HubSpotPage>;
  /** The `limit` records with the highest ids below `below`, highest first. */
  searchBelow(below: number): Promise<HubSpotPage>;
  /** Records a search returns at most per request here: fewer ends the walk. */
  searchLimit: number;
}

interface IdRecord {
  id: string | number;
}

type Lane = 'list' | 'search';
type Arrival = { lane: Lane; page: HubSpotPage };

/** A request of one lane on its way; a dropped one's answer is awaited but never used. */
interface InFlight {
  lane: Lane;
  dropped: boolean;
  /** Settles (never rejects) once the request has been answered. */
  answered: Promise<void>;
}

/**
 * The lanes' answers in the order they come. Racing the same pending request anew for every
 * page of the other lane would keep each page that race returned reachable until that
 * request settles: tens of megabytes while a slow search is out and list pages stream in.
 */
class Arrivals {
  private readonly queue: ({ ok: true; arrival: Arrival } | { ok: false; error: unknown })[] = [];
  private wake: (() => void) | undefined;

  send(lane: Lane, request: Promise<HubSpotPage>): InFlight {
    const inFlight: InFlight = { lane, dropped: false, answered: Promise.resolve() };
    inFlight.answered = request.then(
      (page) => this.arrive(inFlight, { ok: true, arrival: { lane, page } }),
      (error: unknown) => this.arrive(inFlight, { ok: false, error }),
    );
    return inFlight;
  }

  async next(): Promise<Arrival> {
    while (this.queue.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    const settled = this.queue.shift()!;
    if (!settled.ok) throw settled.error;
    return settled.arrival;
  }

  private arrive(inFlight: InFlight, settled: Arrivals['queue'][number]): void {
    if (inFlight.dropped) return;
    this.queue.push(settled);
    this.wake?.();
    this.wake = undefined;
  }
}

const idOf = (record: unknown) => Number((record as IdRecord).id);

export function startingCursor(ceiling: number): BothEndsCursor {
  // Nothing searchable: the list alone reads everything.
  return { kind: 'both-ends', ceiling, listAfter: null, listHigh: 0, listLast: 0, searchLow: ceiling + 1, met: ceiling <= 0 };
}

export function isBothEndsCursor(value: unknown): value is BothEndsCursor {
  return typeof value === 'object' && value !== null && (value as BothEndsCursor).kind === 'both-ends';
}

/**
 * Reads every record from both ends at once: list pages and searches draw on separate
 * budgets (HubSpot's ten-second window and its per-second search limit), so each walk
 * goes at its own budget's pace. Pages are yielded as they arrive, each with a cursor
 * that covers exactly what has been yielded, so a read resumed from any of them neither
 * misses nor repeats a record.
 */
export async function* readFromBothEnds(requests: BothEndsRequests, start: BothEndsCursor, firstListPage?: Promise<HubSpotPage>): AsyncGenerator<SourcePage> {
  const cursor: BothEndsCursor = { ...start };
  const arrivals = new Arrivals();
  // No next page after pages read: the list has reached its end.
  const listEnded = cursor.listAfter === null && cursor.listLast > 0;
  let list: InFlight | undefined = listEnded ? undefined : arrivals.send('list', firstListPage ?? requests.list(cursor.listAfter ?? undefined));
  let search: InFlight | undefined = cursor.met ? undefined : arrivals.send('search', requests.searchBelow(cursor.searchLow));
  // The form of the list's cursors, learnt from its pages, to start it above the ceiling.
  let sample: CursorSample | undefined;
  // A cursor moved once: should the list not start where it names, it walks on from there.
  let jumped = false;
  // Requests whose pages the meeting made unnecessary: the read ends once they are answered,
  // so none reaches HubSpot after it (where it would count against whatever runs next).
  const unused: InFlight[] = [];
  const drop = (inFlight: InFlight) => {
    inFlight.dropped = true;
    unused.push(inFlight);
  };
  try {
    while (list || search) {
      const arrival = await arrivals.next();
      const { page } = arrival;
      let records: unknown[];
      if (arrival.lane === 'list') {
        records = takeListPage(cursor, page.results);
        const lastId = page.results.length > 0 ? idOf(page.results.at(-1)) : undefined;
        if (page.after !== undefined && lastId !== undefined) sample = { after: page.after, lastId };
        cursor.listAfter = page.after ?? null;
        // The end of the list: every record from its start on has been seen.
        if (page.after === undefined) cursor.met = true;
      } else {
        records = takeSearchPage(cursor, page.results, requests.searchLimit);
      }
      if (cursor.met) {
        if (search) drop(search);
        search = undefined;
      } else if (arrival.lane === 'search') search = arrivals.send('search', requests.searchBelow(cursor.searchLow));
      if (arrival.lane === 'list' || cursor.met) {
        const jump: string | undefined = cursor.met && !jumped && cursor.listAfter !== null && cursor.listLast < cursor.ceiling && sample ? cursorAt(cursor.ceiling, sample) : undefined;
        // A list page still on its way holds only ids the search walk has taken or the jump reads again.
        if (jump !== undefined) {
          if (list && arrival.lane !== 'list') drop(list);
          cursor.listAfter = jump;
          jumped = true;
        }
        if (arrival.lane === 'list' || jump !== undefined) list = cursor.listAfter === null ? undefined : arrivals.send('list', requests.list(cursor.listAfter));
      }
      yield { records, checkpoint: { ...cursor } };
    }
  } finally {
    await Promise.all([...unused, list, search].map((inFlight) => inFlight?.answered));
  }
}

/** The list page's records no search took: ids between the two walks, and every id above the ceiling. */
function takeListPage(cursor: BothEndsCursor, results: unknown[]): unknown[] {
  const taken: unknown[] = [];
  for (const record of results) {
    const id = idOf(record);
    if (id > cursor.ceiling) {
      taken.push(record);
      cursor.met = true;
    } else if (id > cursor.listHigh && id < cursor.searchLow) {
      taken.push(record);
      cursor.listHigh = id;
    } else if (id >= cursor.searchLow) cursor.met = true;
    cursor.listLast = Math.max(cursor.listLast, id);
  }
  return taken;
}

/**
 * The search page's records the list has not reached, highest id first. A page that
 * reaches the list's ids, or a short one (nothing lower is searchable), ends the walk.
 */
function takeSearchPage(cursor: BothEndsCursor, results: unknown[], limit: number): unknown[] {
  const taken: unknown[] = [];
  for (const record of results) {
    const id = idOf(record);
    if (id > cursor.listHigh && id < cursor.searchLow) {
      taken.push(record);
      cursor.searchLow = id;
    } else if (id <= cursor.listHigh) cursor.met = true;
  }
  if (results.length < limit) cursor.met = true;
  return taken;
}

/** A cursor of the list endpoint and the last id of the page it came with. */
interface CursorSample {
  after: string;
  lastId: number;
}

/**
 * The list endpoint's cursor for the page after `id`, in the form its own cursors take.
 * HubSpot documents `after` as opaque, but its list cursors name the id the next page
 * starts from (plain, or base64-encoded); a form not recognised here returns undefined,
 * and the list walks on through ids it then leaves for the search walk.
 */
export function cursorAt(id: number, sample: CursorSample): string | undefined {
  const plain = /^\d+$/.test(sample.after) ? sample.after : undefined;
  if (plain !== undefined) return shifted(Number(plain), sample.lastId, id, String);
  for (const encoding of ['base64url', 'base64'] as const) {
    const decoded = Buffer.from(sample.after, encoding).toString('latin1');
    const match = /^(\d+)(\s*)$/.exec(decoded);
    if (!match || Buffer.from(decoded, 'latin1').toString(encoding) !== sample.after) continue;
    return shifted(Number(match[1]), sample.lastId, id, (next) => Buffer.from(`${next}${match[2]}`, 'latin1').toString(encoding));
  }
  return undefined;
}

/** A cursor naming the last id read or the one after it, moved to name `id` the same way. */
function shifted(named: number, lastId: number, id: number, encode: (value: number) => string): string | undefined {
  const offset = named - lastId;
  return offset === 0 || offset === 1 ? encode(id + offset) : undefined;
}
