/** Epoch milliseconds as ISO-8601 text in UTC, as both emulators write timestamps. */

export const DAY_MS = 86_400_000;

const PAD2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const MAX_FAST_ISO = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
/** Days 1970-01-01 .. 2169-12-31 get their "YYYY-MM-DD" cached (filled on first use). */
const CACHED_DAYS = 73_049;
const DAY_TEXT: (string | undefined)[] = new Array<string | undefined>(CACHED_DAYS);

/** "YYYY-MM-DD" of a day number (days since 1970-01-01, >= 0). */
function civilDate(days: number): string {
  // Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil, inverted).
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return `${year}-${PAD2[month]}-${PAD2[day]}`;
}

function dateText(days: number): string {
  if (days >= CACHED_DAYS) return civilDate(days);
  let text = DAY_TEXT[days];
  if (text === undefined) DAY_TEXT[days] = text = civilDate(days);
  return text;
}

/**
 * `new Date(ms).toISOString()`, many times faster (it formats every timestamp served):
 * the date part is cached per day, the time of day comes from lookup tables.
 */
export function toIso(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_FAST_ISO) return new Date(ms).toISOString();
  const days = Math.floor(ms / DAY_MS);
  let rest = ms - days * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  return dateText(days) + 'T' + PAD2[hours] + ':' + PAD2[minutes] + ':' + PAD2[seconds] + '.' + PAD3[millis] + 'Z';
}

/** `toIso(ms).slice(0, 10)`: the UTC date "YYYY-MM-DD". */
export function toIsoDate(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_FAST_ISO) return new Date(ms).toISOString().slice(0, 10);
  return dateText(Math.floor(ms / DAY_MS));
}
