/**
 * First-start content: the default world, its object and asset types, a few basic shapes, a skybox and a
 * spawn point. Written through the world store like any other change, so every value carries a stamp.
 * Idempotent: a marker in the meta sublevel, written last, says the seed is complete.
 */
import type { Database } from '../../storage/db/database.ts';
import type { ObjectFields } from '../../storage/db/records.ts';
import { SYSTEM_ACTOR, type WorldOp } from './ops.ts';
import { CORE_PLUGIN_ID } from './render.ts';
import type { WorldStore } from './world-store.ts';

export const DEFAULT_WORLD_ID = '5e1f0d2c-7a41-4c39-9b1e-0d0000000001';
/** The original's system user ("Deity"), owner of seeded content. */
export const SYSTEM_USER_ID = '00000000-0000-0000-0000-000000000003';

export const OBJECT_TYPES = {
  node: { id: '00000000-0000-0000-0000-000000000001', name: 'Node', category: 'Node' },
  world: { id: 'a41ee21e-6c56-41b3-81a9-1c86578b6b3c', name: 'World', category: 'Worlds' },
  custom: { id: '4ed3a5bb-53f8-4511-941b-07902982c31c', name: 'Custom', category: 'Custom' },
} as const;

/** Basic shapes of the original seed (asset ids are the MD5 of its GLB files, written as UUIDs). */
export const BASIC_ASSETS = [
  { id: '5b5bd872-0328-e38c-1b54-bf2bfa70fc85', name: 'Cube', format: 2 },
] as const;

/** Where a visitor of a fresh world appears (the option `spawnPoint` of the world object). */
export const DEFAULT_SPAWN_POINT = { position: { x: 0, y: 2, z: 20 }, rotation: { x: 0, y: 0, z: 0 } };
/** The original's default skybox image hash (core attribute `active_skybox`). */
export const DEFAULT_SKYBOX_HASH = '26485e74acb29223ba7a9fa600d36c7f';

const SEED_MARKER = 'seed';
const SEED_VERSION = 1;

const v = (x: number, y: number, z: number) => ({ x, y, z });

/**
 * Seed ops carry one fixed stamp, the same on every node, just above "never written": every node's seed
 * is then the same op, and any real edit — made on any node, at any time — wins over it. Otherwise a node
 * that joins a federation later would reset the default world to its fresh seed.
 */
export const SEED_STAMP = '000000000001:0000:seed';
/** The starter assets' changes to the default world (skybox, tower model), one step after the seed. */
export const STARTER_STAMP = '000000000002:0000:seed';

export function seeded<T extends WorldOp>(op: T, stamp = SEED_STAMP): T {
  return { ...op, stamp, origin: 'seed' };
}

export async function seed(db: Database, store: WorldStore): Promise<boolean> {
  if (((await db.meta.get(SEED_MARKER)) as number | undefined) === SEED_VERSION) return false;
  await db.meta.put('objectTypes', Object.values(OBJECT_TYPES));
  await db.meta.put('assets3d', BASIC_ASSETS);
  const world: Partial<ObjectFields> = {
    parentId: '',
    ownerId: SYSTEM_USER_ID,
    typeId: OBJECT_TYPES.world.id,
    name: 'Odyssey Plaza',
    transform: { position: v(0, 0, 0), rotation: v(0, 0, 0), scale: v(1, 1, 1) },
    isEditable: false,
    showOnMinimap: false,
    options: {
      spawnPoint: structuredClone(DEFAULT_SPAWN_POINT),
      /** Anyone in the default world may move its shapes: it is the sandbox of a fresh node. */
      publicEditing: true,
      bound: 5000,
    },
  };
  await store.apply(seeded(store.objectOp(DEFAULT_WORLD_ID, DEFAULT_WORLD_ID, world, SYSTEM_ACTOR)));
  const shapes = [
    { id: '5e1f0d2c-7a41-4c39-9b1e-0d0000000101', name: 'Red cube', at: v(-6, 1, 0), color: '#e63946' },
    { id: '5e1f0d2c-7a41-4c39-9b1e-0d0000000102', name: 'Green cube', at: v(0, 1, -6), color: '#2a9d8f' },
    { id: '5e1f0d2c-7a41-4c39-9b1e-0d0000000103', name: 'Blue cube', at: v(6, 1, 0), color: '#457b9d' },
    { id: '5e1f0d2c-7a41-4c39-9b1e-0d0000000104', name: 'Tower', at: v(0, 4, -14), color: '#f4a261' },
  ];
  for (const shape of shapes) {
    await store.apply(
      seeded(
        store.objectOp(
          DEFAULT_WORLD_ID,
          shape.id,
          {
            parentId: DEFAULT_WORLD_ID,
            ownerId: SYSTEM_USER_ID,
            typeId: OBJECT_TYPES.custom.id,
            name: shape.name,
            assetType: BASIC_ASSETS[0].id,
            assetFormat: BASIC_ASSETS[0].format,
            transform: {
              position: shape.at,
              rotation: v(0, 0, 0),
              scale: shape.name === 'Tower' ? v(2, 8, 2) : v(2, 2, 2),
            },
            isEditable: true,
            showOnMinimap: true,
          },
          SYSTEM_ACTOR,
        ),
      ),
    );
    await store.apply(
      seeded(
        store.attributeOp(
          DEFAULT_WORLD_ID,
          shape.id,
          CORE_PLUGIN_ID,
          'object_color',
          { value: shape.color },
          SYSTEM_ACTOR,
        ),
      ),
    );
  }
  await store.apply(
    seeded(
      store.attributeOp(
        DEFAULT_WORLD_ID,
        DEFAULT_WORLD_ID,
        CORE_PLUGIN_ID,
        'active_skybox',
        {
          render_hash: DEFAULT_SKYBOX_HASH,
        },
        SYSTEM_ACTOR,
      ),
    ),
  );
  await db.meta.put(SEED_MARKER, SEED_VERSION);
  return true;
}
