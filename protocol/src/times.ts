/**
 * Times as transactions take them (a consent's window, a grant's expiry): an ISO-8601 date
 * and time of day with a zone, `Z` or `±hh:mm`, that names a real instant. Date.parse alone
 * is lenient: it rolls 2026-02-30 over to March 2, reads 24:00 as the next day, and reads a
 * time without a zone in the local zone of whoever parses it, so endorsers in other zones
 * would disagree. A failed check throws INVALID_ARGUMENT[field] (errors.ts).
 */
import { invalid } from './errors';

export const TIME_RULE = 'must be an ISO-8601 time with a zone, like 2026-01-01T00:00:00Z';
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const daysIn = (year: number, month: number): number => (month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : DAYS[month - 1]!);

/** The time, normalised to UTC as toISOString writes it. */
export function checkTime(value: unknown, field: string): string {
  const m = typeof value === 'string' ? ISO_TIME.exec(value) : null;
  if (!m) throw invalid(field, TIME_RULE);
  const [year, month, day, hour, minute, second, zoneHours, zoneMinutes] = m.slice(1).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number, number, number];
  const real = month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month) && hour <= 23 && minute <= 59 && second <= 59 && zoneHours <= 23 && zoneMinutes <= 59;
  if (!real) throw invalid(field, `${TIME_RULE}; ${value} is no such date, time of day or zone`);
  return new Date(Date.parse(value as string)).toISOString();
}
