// The ESM-only packages jest must transpile: @noble (the crypto) and everything ESM that
// kubo-rpc-client pulls in, found by walking its dependency tree once per jest start.
'use strict';
const { existsSync, readFileSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
function packageDir(name, from) {
  for (let d = from; ; d = path.dirname(d)) {
    const candidate = path.join(d, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (d === path.dirname(d)) return undefined;
  }
}
const seen = new Set();
const esm = new Set(['@noble']);
(function visit(name, from) {
  const dir = packageDir(name, from);
  if (!dir || seen.has(dir)) return;
  seen.add(dir);
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  if (pkg.type === 'module') esm.add(name.startsWith('@') ? name.split('/')[0] : name);
  for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir);
})('kubo-rpc-client', path.join(root, 'client'));
module.exports = [...esm];
