/**
 * Read-only views of one world's object tree: children, subtrees, depth-bounded trees. Pure functions over
 * a WorldState; the object service decides what to do with them.
 */
import type { ObjectRecord } from '../../storage/db/records.ts';
import { OBJECT_TYPES } from './seed.ts';
import type { WorldState } from './world-store.ts';

/** parentId → live children, for the whole world in one pass. */
export function childrenIndex(state: WorldState): Map<string, ObjectRecord[]> {
  const index = new Map<string, ObjectRecord[]>();
  for (const object of state.objects.values()) {
    if (object.removed || object.id === state.id) continue;
    const list = index.get(object.parentId);
    if (list) list.push(object);
    else index.set(object.parentId, [object]);
  }
  return index;
}

export function liveChildCount(state: WorldState, parentId: string): number {
  let count = 0;
  for (const object of state.objects.values()) {
    if (!object.removed && object.parentId === parentId && object.id !== state.id) count++;
  }
  return count;
}

/**
 * The object and everything below it, children before their parents, so that removing in this order never
 * leaves a live object under a removed one. Bounded by the world's size, so a parent cycle cannot loop.
 */
export function subtreeChildrenFirst(state: WorldState, rootId: string): ObjectRecord[] {
  const index = childrenIndex(state);
  const root = state.objects.get(rootId);
  if (!root || root.removed) return [];
  const out: ObjectRecord[] = [];
  const seen = new Set<string>();
  const visit = (object: ObjectRecord) => {
    if (seen.has(object.id)) return;
    seen.add(object.id);
    for (const child of index.get(object.id) ?? []) visit(child);
    out.push(object);
  };
  visit(root);
  return out;
}

export interface TreeNode {
  object: ObjectRecord;
  typeName: string;
  totalDirectChildren: number;
  /** Empty below the depth bound even when the object has children (see totalDirectChildren). */
  children: TreeNode[];
}

/** The object's tree down to `maxDepth` levels of children (the original's semantics: the root is level 1). */
export function objectTree(state: WorldState, root: ObjectRecord, maxDepth: number): TreeNode {
  const index = childrenIndex(state);
  const build = (object: ObjectRecord, level: number): TreeNode => {
    const children = index.get(object.id) ?? [];
    return {
      object,
      typeName: objectTypeOf(object.typeId)?.name ?? '',
      totalDirectChildren: children.length,
      children: level > maxDepth ? [] : children.map((child) => build(child, level + 1)),
    };
  };
  return build(root, 1);
}

export function objectTypeOf(typeId: string) {
  return Object.values(OBJECT_TYPES).find((t) => t.id === typeId);
}
