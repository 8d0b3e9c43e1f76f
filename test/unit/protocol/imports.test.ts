/**
 * The import graph of the sources, read as text: no module imports itself back through
 * others, the protocol depends on nothing but node's built-ins, and the SDK and the network
 * tooling reach the chaincode's vocabulary through @emr/protocol only.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');
const rel = (file: string) => path.relative(root, file);

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sourcesUnder(file);
    return file.endsWith('.ts') && !file.endsWith('.d.ts') ? [file] : [];
  });
}

/** Every module specifier a file imports, re-exports, requires or loads dynamically. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g),
    ...text.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g),
    ...text.matchAll(/\b(?:import|require)\(\s*['"]([^'"]+)['"]\s*\)/g),
  ];
  return found.map((m) => m[1]!);
}

/** The source file a specifier names inside this repository, or null for a package or built-in. */
function resolve(from: string, spec: string): string | null {
  let base: string;
  if (spec.startsWith('.')) base = path.resolve(path.dirname(from), spec);
  else {
    const m = /^@emr\/([a-z-]+)(?:\/dist\/(.+))?$/.exec(spec);
    if (!m) return null;
    base = path.join(root, m[1]!, 'src', m[2] ?? 'index');
  }
  for (const file of [`${base}.ts`, path.join(base, 'index.ts')]) if (existsSync(file)) return file;
  throw new Error(`${rel(from)}: cannot resolve '${spec}'`);
}

/** The first import cycle among `files` (type-only imports count too), as a path, or null. */
function findCycle(files: string[]): string[] | null {
  const inScope = new Set(files);
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): string[] | null => {
    if (state.get(file) === 'done') return null;
    if (state.get(file) === 'open') return [...stack.slice(stack.indexOf(file)), file].map(rel);
    state.set(file, 'open');
    stack.push(file);
    for (const spec of specifiers(file)) {
      const next = resolve(file, spec);
      const cycle = next && inScope.has(next) && visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(file, 'done');
    return null;
  };
  for (const file of files) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return null;
}

const workspace = (name: string) => sourcesUnder(path.join(root, name));

describe('imports', () => {
  it('finds a cycle when there is one (the check itself), type-only imports included', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'import-cycle-'));
    try {
      writeFileSync(path.join(dir, 'a.ts'), "import { b } from './b';\nexport const a = () => b;\n");
      writeFileSync(path.join(dir, 'b.ts'), "import type { C } from './c';\nexport const b = (c: C) => c;\n");
      writeFileSync(path.join(dir, 'c.ts'), "export {\n  a,\n} from './a';\nexport type C = number;\n");
      expect(findCycle(sourcesUnder(dir))?.map((f) => path.basename(f))).toEqual(['a.ts', 'b.ts', 'c.ts', 'a.ts']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the protocol and the chaincode have no circular imports, within or between them', () => {
    expect(findCycle([...workspace('protocol/src'), ...workspace('chaincode/src')])).toBeNull();
  });

  it('the protocol depends on node built-ins only: no Fabric, no other workspace', () => {
    const outside = workspace('protocol/src').flatMap((file) => specifiers(file).filter((s) => !s.startsWith('.') && !s.startsWith('node:')).map((s) => `${rel(file)}: ${s}`));
    expect(outside).toEqual([]);
  });

  it('the SDK and the network tooling import neither the chaincode nor fabric-shim', () => {
    const offending = [...workspace('client/src'), ...workspace('client/bench'), ...workspace('client/privacy'), ...workspace('network/src')].flatMap((file) =>
      specifiers(file)
        .filter((s) => /^@emr\/chaincode\b|^fabric-(shim|contract-api)\b/.test(s) || /(^|\/)chaincode\/src\//.test(s))
        .map((s) => `${rel(file)}: ${s}`),
    );
    expect(offending).toEqual([]);
  });
});
