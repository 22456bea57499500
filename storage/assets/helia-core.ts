/**
 * Helia's core class without the `helia` package's entry point. That entry point (`import … from 'helia'`)
 * also imports `@helia/libp2p`, whose libp2p defaults pull in a whole IPFS host we never build: Kademlia
 * DHT, WebRTC (with a 9 MB native library), AutoTLS with an ACME client (axios, node-forge, x509), UPnP,
 * circuit relay, autoNAT and undici: ~650 modules and ~30 MiB of RSS on every node, idle or not, measured
 * in docs/benchmarks.md ("Memory"). The node attaches Helia to its own libp2p host (ipfs.ts), so it needs
 * only the class that `createHeliaLight` wraps, which the package does not export by name: it is loaded
 * here from the file beside the entry point, with a clear error if a Helia upgrade moves it.
 */
import type { Helia, HeliaInit } from 'helia';

type HeliaConstructor = new (init: HeliaInit & { name: string; version: string }) => Helia;

/** The entry point's siblings: `helia.js` (the class) and `version.js` (what the node reports). */
const entry = import.meta.resolve('helia');
const [core, about] = await Promise.all([
  import(new URL('./helia.js', entry).href) as Promise<{ Helia?: HeliaConstructor }>,
  import(new URL('./version.js', entry).href) as Promise<{ name?: string; version?: string }>,
]).catch((error: Error) => {
  throw new Error(`helia-core: cannot load Helia's core files beside ${entry}: ${error.message}`);
});
if (typeof core.Helia !== 'function' || !about.name || !about.version)
  throw new Error(`helia-core: ${entry}'s helia.js no longer exports the Helia class (Helia upgraded?)`);
const HeliaClass = core.Helia;
const identity = { name: about.name, version: about.version };

/** As `createHeliaLight` from 'helia': a Helia node with no libp2p, routers or block brokers of its own. */
export function createHeliaCore(init: HeliaInit): Helia {
  return new HeliaClass({ ...identity, ...init });
}
