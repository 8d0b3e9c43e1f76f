/**
 * Reads through one org's peer what another org's gateway saw committed: each peer commits a
 * block when it receives it, so a read right after a commit elsewhere may be one block behind.
 * Reads again until `ok` (or `ms` passed) and returns the last value, for the test to assert on.
 */
export async function readUntil<T>(read: () => Promise<T>, ok: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}
