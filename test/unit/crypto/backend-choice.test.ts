/**
 * Which arithmetic backend a process gets: mcl by default, noble where WebAssembly cannot
 * load or when asked for, and never both (the first choice sticks). Each case loads the
 * crypto package afresh, as a new process would.
 */
type BackendModule = typeof import('../../../crypto/src/backend');

const saved = process.env.EMR_CRYPTO_BACKEND;
afterEach(() => {
  if (saved === undefined) delete process.env.EMR_CRYPTO_BACKEND;
  else process.env.EMR_CRYPTO_BACKEND = saved;
  jest.dontMock('../../../crypto/src/backend-mcl');
});

/** A fresh copy of the backend module (and of everything it loads). */
async function freshBackend(env: string | undefined, mclFails = false): Promise<BackendModule> {
  if (env === undefined) delete process.env.EMR_CRYPTO_BACKEND;
  else process.env.EMR_CRYPTO_BACKEND = env;
  let mod!: BackendModule;
  await jest.isolateModulesAsync(async () => {
    if (mclFails) jest.doMock('../../../crypto/src/backend-mcl', () => ({ loadMcl: () => Promise.reject(new Error('WebAssembly is not defined')) }));
    mod = await import('../../../crypto/src/backend');
  });
  return mod;
}

it('the default is mcl, chosen once: ready() again gives the same backend', async () => {
  const m = await freshBackend(undefined);
  const b = await m.ready();
  expect(b.name).toBe('mcl');
  expect(m.backend()).toBe(b);
  expect(await m.ready()).toBe(b);
  expect(m.backendFallback()).toBeUndefined();
});

it('EMR_CRYPTO_BACKEND=noble chooses noble; a value that is neither is refused by name', async () => {
  expect((await (await freshBackend('noble')).ready()).name).toBe('noble');
  await expect((await freshBackend('openssl')).ready()).rejects.toThrow(/EMR_CRYPTO_BACKEND is 'openssl'; it must be one of noble, mcl/);
});

it('where mcl cannot load, the default falls back to noble and says why; an explicit mcl fails instead', async () => {
  const m = await freshBackend(undefined, true);
  expect((await m.ready()).name).toBe('noble');
  expect(m.backendFallback()).toMatch(/mcl \(WebAssembly\) did not load: WebAssembly is not defined/);
  await expect((await freshBackend('mcl', true)).ready()).rejects.toThrow(/WebAssembly is not defined/);
});

it('a process that made a point before choosing stays on that backend, so points of two backends never meet', async () => {
  const m = await freshBackend(undefined);
  const first = m.backend().G1.BASE; // made before ready(): noble
  expect(m.backend().name).toBe('noble');
  expect((await m.ready()).name).toBe('noble');
  expect(first.add(m.backend().G1.BASE).equals(first.multiply(2n))).toBe(true);
});
