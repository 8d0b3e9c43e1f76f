// Resolves as jest always does; a package that exports only an `import` condition (kubo-rpc-client,
// cborg, ... among the ESM-only packages jest transpiles, esm-packages.js) is resolved again
// with that condition.
'use strict';
module.exports = (request, options) => {
  try {
    return options.defaultResolver(request, options);
  } catch {
    return options.defaultResolver(request, { ...options, conditions: ['import', 'node', 'default'] });
  }
};
