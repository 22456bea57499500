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

/** The world's bound (option `bound`: half extent per axis), else the default. */
export function worldBound(state: WorldState | undefined): number {
  const option = state?.objects.get(state.id)?.options.bound;
  return typeof option === 'number' && option > 0 ? option : DEFAULT_WORLD_BOUND;
}

/** True when a position lies inside a world bound (`worldBound`). */
export function insideBound(bound: number, p: { x: number; y: number; z: number }): boolean {
  return Math.abs(p.x) <= bound && Math.abs(p.y) <= bound && Math.abs(p.z) <= bound;
}

export function isFiniteTransform(t: Partial<Transform>): boolean {
  // Spelled out, not a loop over the three vectors: every move of every user passes here.
  return finiteVec3(t.position) && finiteVec3(t.rotation) && finiteVec3(t.scale);
}

function finiteVec3(v: { x: number; y: number; z: number } | undefined): boolean {
  return !v || (Number.isFinite(v.x) && Number.isFinite(v.y) && Number.isFinite(v.z));
}
