/**
 * Loaded with `node --import` into a node process under test (test/node/lean-start.test.ts): records the
 * URL of every module the process resolves, and writes them, one a line, to $MODULE_RECORD when the
 * process exits. JavaScript, not TypeScript, so that it loads before anything is type-stripped.
 */
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const urls = new Set();
registerHooks({
  resolve(specifier, context, next) {
    const resolved = next(specifier, context);
    urls.add(resolved.url);
    return resolved;
  },
});
process.on('exit', () => {
  if (process.env.MODULE_RECORD) writeFileSync(process.env.MODULE_RECORD, [...urls].join('\n'));
});
