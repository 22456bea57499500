#!/usr/bin/env -S node --max-semi-space-size=4
// The `odyssey-node` command. Needs Node >= 22.18 (TypeScript type stripping); `npm start` uses the pinned Node 24.
import '../composition/cli.ts';
