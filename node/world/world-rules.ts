/**
 * Pure world rules, asked by the live rooms (world-controller.ts) and by REST edits (objects.ts,
 * placement.ts): where a visitor appears, what a world's bounds are, what a valid transform is.
 */
import type { Transform, TransformNoScale } from '../../protocol/posbus/index.ts';
import type { WorldState } from './world-store.ts';

export const ORIGIN: TransformNoScale = { position: { x: 0, y: 0, z: 0 }, rotation: { x: 0, y: 0, z: 0 } };
export const DEFAULT_WORLD_BOUND = 100_000;

/** The world's spawn point option, else the origin. */
export function spawnPoint(state: WorldState): TransformNoScale {
  const spawn = state.objects.get(state.id)?.options.spawnPoint as TransformNoScale | undefined;
  if (!spawn?.position) return ORIGIN;
  return { position: spawn.position, rotation: spawn.rotation ?? ORIGIN.rotation };
}

/** True when a position lies inside the world's bounds (option `bound`: half extent per axis). */
export function withinBounds(state: WorldState | undefined, p: { x: number; y: number; z: number }): boolean {
  const option = state?.objects.get(state.id)?.options.bound;
  const bound = typeof option === 'number' && option > 0 ? option : DEFAULT_WORLD_BOUND;
  return Math.abs(p.x) <= bound && Math.abs(p.y) <= bound && Math.abs(p.z) <= bound;
}

export function isFiniteTransform(t: Partial<Transform>): boolean {
  for (const v of [t.position, t.rotation, t.scale]) {
    if (v && !(Number.isFinite(v.x) && Number.isFinite(v.y) && Number.isFinite(v.z))) return false;
  }
  return true;
}
