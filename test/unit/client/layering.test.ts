/**
 * The SDK's layers (docs/architecture.md, "Where does X live"): fabric/ knows only the chain;
 * wire/ is what travels to the services and may use fabric/; services/ (the servers) and
 * sharing/ (the SDK's flows) both build on wire/ and fabric/ but never on each other.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const src = path.join(__dirname, '../../../client/src');

/** The client directories each file of `dir` imports (relative imports only). */
function importedLayers(dir: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const file of readdirSync(path.join(src, dir)).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(path.join(src, dir, file), 'utf8');
    const layers = new Set<string>();
    for (const [, spec] of text.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const target = path.relative(src, path.resolve(src, dir, spec!));
      layers.add(target.includes(path.sep) ? target.split(path.sep)[0]! : '.');
    }
    out.set(`${dir}/${file}`, layers);
  }
  return out;
}

const allowed: Record<string, string[]> = {
  fabric: ['fabric'],
  wire: ['wire', 'fabric'],
  services: ['services', 'wire', 'fabric'],
  sharing: ['sharing', 'wire', 'fabric'],
};

describe('client layers', () => {
  for (const [layer, may] of Object.entries(allowed)) {
    it(`${layer}/ imports only ${may.join(', ')}`, () => {
      const offending = [...importedLayers(layer)].flatMap(([file, layers]) => [...layers].filter((l) => !may.includes(l)).map((l) => `${file} → ${l}/`));
      expect(offending).toEqual([]);
    });
  }

  it('sees the imports it checks (a file of each layer imports another layer)', () => {
    expect([...importedLayers('sharing').values()].some((l) => l.has('wire'))).toBe(true);
    expect([...importedLayers('services').values()].some((l) => l.has('wire'))).toBe(true);
  });
});
