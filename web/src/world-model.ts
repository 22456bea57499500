/**
 * What the viewer knows of one world, fed by PosBus messages: objects and users by id with their latest
 * positions. Pure (no DOM), so the drawing and the DOM mirror both read one state.
 */
import type { Message } from '../../protocol/posbus/index.ts';

export interface Point {
  x: number;
  y: number;
  z: number;
}

export interface ObjectShape {
  id: string;
  parentId: string;
  name: string;
  position: Point;
  scale: Point;
}

export interface UserDot {
  id: string;
  name: string;
  position: Point;
  isGuest: boolean;
}

export class WorldModel {
  worldId = '';
  worldName = '';
  readonly objects = new Map<string, ObjectShape>();
  readonly users = new Map<string, UserDot>();
  /** `object_color` of objects that have one (ObjectData may come before or after the object). */
  readonly colors = new Map<string, string>();
  /** Bumped on every change, so a renderer can skip frames where nothing moved. */
  version = 0;

  /** Applies one message; true when the model changed. */
  apply(message: Message): boolean {
    switch (message.type) {
      case 'SetWorld':
        // A (re-)entered world: what the server sends next is its full state.
        this.worldId = message.id;
        this.worldName = message.name;
        this.objects.clear();
        this.users.clear();
        this.colors.clear();
        break;
      case 'AddObjects':
        for (const o of message.objects) {
          this.objects.set(o.id, {
            id: o.id,
            parentId: o.parentId,
            name: o.name,
            position: { ...o.transform.position },
            scale: { ...o.transform.scale },
          });
        }
        break;
      case 'ObjectTransform': {
        const object = this.objects.get(message.id);
        if (!object) return false;
        object.position = { ...message.transform.position };
        object.scale = { ...message.transform.scale };
        break;
      }
      case 'ObjectData': {
        const color = message.entries.string?.object_color;
        // Only a plain #rrggbb reaches the canvas: the value is whatever an admin wrote.
        if (typeof color !== 'string' || !/^#[0-9a-f]{6}$/i.test(color)) return false;
        this.colors.set(message.id, color);
        break;
      }
      case 'RemoveObjects':
        for (const id of message.objects) {
          this.objects.delete(id);
          this.colors.delete(id);
        }
        break;
      case 'AddUsers':
        for (const u of message.users) {
          this.users.set(u.id, {
            id: u.id,
            name: u.name,
            position: { ...u.transform.position },
            isGuest: u.isGuest,
          });
        }
        break;
      case 'UserData':
        this.users.set(message.id, {
          id: message.id,
          name: message.name,
          position: { ...message.transform.position },
          isGuest: message.isGuest,
        });
        break;
      case 'RemoveUsers':
        for (const id of message.users) this.users.delete(id);
        break;
      case 'UsersTransformList': {
        let moved = false;
        for (const t of message.value) {
          const user = this.users.get(t.id);
          if (!user) continue;
          user.position = { ...t.transform.position };
          moved = true;
        }
        if (!moved) return false;
        break;
      }
      default:
        return false;
    }
    this.version++;
    return true;
  }

  /** The x/z rectangle holding every object and user (the world's root, at its origin, is left out). */
  extent(): { minX: number; maxX: number; minZ: number; maxZ: number } {
    let minX = Number.POSITIVE_INFINITY;
    let maxX = Number.NEGATIVE_INFINITY;
    let minZ = Number.POSITIVE_INFINITY;
    let maxZ = Number.NEGATIVE_INFINITY;
    const add = (p: Point, pad = 0) => {
      minX = Math.min(minX, p.x - pad);
      maxX = Math.max(maxX, p.x + pad);
      minZ = Math.min(minZ, p.z - pad);
      maxZ = Math.max(maxZ, p.z + pad);
    };
    for (const o of this.objects.values()) if (o.id !== this.worldId) add(o.position, size(o) / 2);
    for (const u of this.users.values()) add(u.position);
    if (!Number.isFinite(minX)) return { minX: -10, maxX: 10, minZ: -10, maxZ: 10 };
    return { minX, maxX, minZ, maxZ };
  }
}

/** A footprint for an object: its larger horizontal scale, at least a metre so it stays visible. */
export function size(o: ObjectShape): number {
  return Math.max(1, Math.abs(o.scale.x), Math.abs(o.scale.z));
}
