/**
 * Starter assets: on first start the node adds a few shapes and a sky through the same import path as
 * any upload (sniffed, counted, pinned, recorded; uploader = the system user), keeps them forever, and
 * gives the seeded world the sky and a GLB tower in place of the original's placeholders (the original's
 * skybox hash and built-in cube, which this node does not store). Later starts only re-register the keep.
 */
import type { Logger } from 'pino';
import type { AssetStore } from '../../storage/assets/asset-store.ts';
import type { AssetKind } from '../../storage/assets/sniff.ts';
import type { Database } from '../../storage/db/database.ts';
import { SYSTEM_ACTOR } from '../world/ops.ts';
import { CORE_PLUGIN_ID } from '../world/render.ts';
import {
  BASIC_ASSETS,
  DEFAULT_SKYBOX_HASH,
  DEFAULT_WORLD_ID,
  STARTER_STAMP,
  SYSTEM_USER_ID,
  seeded,
} from '../world/seed.ts';
import type { WorldStore } from '../world/world-store.ts';
import type { AssetReferences } from './references.ts';
import { cubeMesh, glb, pyramidMesh, skyPng } from './starter-files.ts';

export interface StarterAsset {
  name: string;
  kind: AssetKind;
  cid: string;
  umid: string;
}

const MARKER = 'starterAssets';
/** The seeded world's tall box (see seed.ts), drawn with the starter cube. */
const TOWER_ID = '5e1f0d2c-7a41-4c39-9b1e-0d0000000104';
/** Asset3dType of a glTF asset (the original's 1; 2 is its client's built-in "basic" shapes). */
const GLTF_FORMAT = 1;

const FILES: { name: string; kind: AssetKind; bytes: () => Uint8Array }[] = [
  { name: 'Cube', kind: 'model', bytes: () => glb(cubeMesh(), 'Cube') },
  { name: 'Pyramid', kind: 'model', bytes: () => glb(pyramidMesh(), 'Pyramid') },
  { name: 'Sky', kind: 'skybox', bytes: () => skyPng() },
];

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/**
 * Registers the starter assets as permanently referenced, importing them first if this node never did
 * (and `seed` allows it: `odyssey-node gc` only registers).
 */
export async function starterAssets(c: {
  db: Database;
  assets: AssetStore;
  references: AssetReferences;
  store: WorldStore;
  logger: Logger;
  seed: boolean;
}): Promise<StarterAsset[]> {
  let starters = (await c.db.meta.get(MARKER)) as StarterAsset[] | undefined;
  if (!starters && c.seed) {
    starters = [];
    for (const file of FILES) {
      const { record } = await c.assets.import(once(file.bytes()), {
        kind: file.kind,
        name: file.name,
        uploader: SYSTEM_USER_ID,
      });
      starters.push({ name: file.name, kind: file.kind, cid: record.cid, umid: record.umid });
    }
    await dressDefaultWorld(c.store, starters);
    await c.db.meta.put(MARKER, starters);
    c.logger.info({ assets: starters.map((s) => s.name) }, 'added the starter assets');
  }
  for (const s of starters ?? []) c.references.addPermanent(s.umid);
  return starters ?? [];
}

/** The seeded world gets the starter sky and tower, unless its operator already changed them. */
async function dressDefaultWorld(store: WorldStore, starters: StarterAsset[]): Promise<void> {
  const world = store.get(DEFAULT_WORLD_ID);
  if (!world) return;
  const sky = starters.find((s) => s.name === 'Sky');
  const skybox = world.attributes.get(`${DEFAULT_WORLD_ID}!${CORE_PLUGIN_ID}!active_skybox`);
  if (sky && skybox?.value?.render_hash === DEFAULT_SKYBOX_HASH) {
    await store.apply(
      seeded(
        store.attributeOp(
          DEFAULT_WORLD_ID,
          DEFAULT_WORLD_ID,
          CORE_PLUGIN_ID,
          'active_skybox',
          {
            render_hash: sky.cid,
          },
          SYSTEM_ACTOR,
        ),
        STARTER_STAMP,
      ),
    );
  }
  const cube = starters.find((s) => s.name === 'Cube');
  const tower = world.objects.get(TOWER_ID);
  if (cube && tower && !tower.removed && tower.assetType === BASIC_ASSETS[0].id) {
    await store.apply(
      seeded(
        store.objectOp(
          DEFAULT_WORLD_ID,
          TOWER_ID,
          { assetType: cube.umid, assetFormat: GLTF_FORMAT },
          SYSTEM_ACTOR,
        ),
        STARTER_STAMP,
      ),
    );
  }
}
