#!/usr/bin/env -S node --max-semi-space-size=4
// The `odyssey-node` command. Needs Node >= 22.18 (TypeScript type stripping); `npm start` uses the pinned Node 24.
//
// Node's compile cache (os.tmpdir()/node-compile-cache, or NODE_COMPILE_CACHE; NODE_DISABLE_COMPILE_CACHE=1
// turns it off) keeps the type-stripped sources and V8's code cache between starts. From the second start
// on, no TypeScript file is stripped again, so Node never instantiates its WebAssembly type stripper, which
// otherwise holds ~18 MiB of an idle node's RSS (docs/benchmarks.md, "Memory"). It must be enabled before
// the first .ts module loads, hence this JavaScript entry point and the dynamic import.
import { enableCompileCache } from 'node:module';

enableCompileCache?.();
await import('../composition/cli.ts');
