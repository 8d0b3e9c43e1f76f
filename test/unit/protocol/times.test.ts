import { TIME_RULE, checkTime } from '@emr/protocol';
import { rejection } from '../../support/rejection';

describe('time checks', () => {
  it('take ISO-8601 times with a zone and normalise them to UTC', () => {
    expect(checkTime('2026-01-01T00:00:00Z', 'validFrom')).toBe('2026-01-01T00:00:00.000Z');
    expect(checkTime('2026-01-01T01:30:00+01:30', 'validFrom')).toBe('2026-01-01T00:00:00.000Z');
    expect(checkTime('2026-06-30T23:59:59.123456789Z', 'validFrom')).toBe('2026-06-30T23:59:59.123Z');
    expect(checkTime('2026-01-01T00:00Z', 'validFrom')).toBe('2026-01-01T00:00:00.000Z');
    expect(checkTime('2024-02-29T12:00:00Z', 'validFrom')).toBe('2024-02-29T12:00:00.000Z');
    expect(checkTime('2000-02-29T12:00:00Z', 'validFrom')).toBe('2000-02-29T12:00:00.000Z');
  });

  it('refuse, naming the field, what Date.parse rolls over, reads in the local zone, or reads at all', () => {
    const bad = [
      '2026-02-30T00:00:00Z', // Date.parse: March 2
      '2025-02-29T12:00:00Z', // not a leap year
      '1900-02-29T12:00:00Z',
      '2026-04-31T00:00:00.000Z',
      '2026-13-01T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-01-00T00:00:00Z',
      '2026-01-01T24:00:00Z', // Date.parse: the next day
      '2026-01-01T12:60:00Z',
      '2026-01-01T12:00:60Z',
      '2026-01-01T00:00:00+24:00',
      '2026-01-01T00:00:00', // no zone: local time
      '2026-01-01',
      '+275761-01-01T00:00:00Z',
      '2026-1-1T00:00:00Z',
      '2026-01-01T00:00:00ZZ',
      '2026-01-01T00:00:00Z\u200b',
      '\uff12026-01-01T00:00:00Z',
      ' 2026-01-01T00:00:00Z',
      '',
    ];
    for (const value of bad) {
      const err = rejection(() => checkTime(value, 'validUntil'));
      expect([value, err.code, err.field]).toEqual([value, 'INVALID_ARGUMENT', 'validUntil']);
      expect(err.detail.startsWith(TIME_RULE)).toBe(true);
    }
    for (const value of [null, 1767225600000, {}, ['2026-01-01T00:00:00Z']]) expect(rejection(() => checkTime(value, 'expiresAt')).field).toBe('expiresAt');
  });
});
