import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../protocol/client/backoff.ts';
import { isUuidV7, uuidv7, uuidv7Time } from '../../protocol/uuid.ts';

describe('uuidv7', () => {
  it('has version 7, the RFC variant and the given time', () => {
    const now = Date.UTC(2024, 5, 1, 12, 0, 0, 123);
    const id = uuidv7(now);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(isUuidV7(id)).toBe(true);
    expect(uuidv7Time(id)).toBe(now);
  });

  it('is random beyond the timestamp and sorts by time', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => uuidv7(1_700_000_000_000)));
    expect(ids.size).toBe(1000);
    expect(uuidv7(1_000) < uuidv7(2_000)).toBe(true);
  });

  it('rejects other UUID versions', () => {
    expect(isUuidV7('0190a3c4-5e6f-4a8b-9c0d-1e2f3a4b5c6d')).toBe(false);
    expect(isUuidV7('0190a3c4-5e6f-7a8b-cc0d-1e2f3a4b5c6d')).toBe(false);
    expect(isUuidV7(42)).toBe(false);
  });
});

describe('backoffDelay', () => {
  const policy = { initialDelayMs: 100, maxDelayMs: 1000, maxAttempts: Number.POSITIVE_INFINITY };

  it('doubles per attempt, capped, with jitter in [delay/2, delay]', () => {
    expect([1, 2, 3, 4, 5, 10].map((a) => backoffDelay(policy, a, () => 1))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(policy, a, () => 0))).toEqual([50, 100, 200, 400, 500]);
  });
});
