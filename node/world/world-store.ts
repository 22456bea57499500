/**
 * The replicated state of every world: objects and object attributes, in memory and in LevelDB. `apply`
 * is the one way in for a change, whatever its source (`applyBatch`: a run of them in one write); it
 * merges (ops.ts), persists, then tells listeners.
 * It knows nothing of transports, so a remote op goes through it unchanged.
 */
import { EventEmitter } from 'node:events';
import { type Database, key, valuesWithPrefix } from '../../storage/db/database.ts';
import type { AttributeRecord, ObjectFields, ObjectRecord } from '../../storage/db/records.ts';
import type { HybridClock } from './hlc.ts';
import { type AttributePutOp, mergeAttribute, mergeObject, type ObjectPutOp, type WorldOp } from './ops.ts';

export interface ObjectChange {
  kind: 'object';
  worldId: string;
  object: ObjectRecord;
  changed: (keyof ObjectFields)[];
  /** True when the object did not exist before this op. */
  created: boolean;
  op: ObjectPutOp;
}

export interface AttributeChange {
  kind: 'attribute';
  worldId: string;
  objectId: string;
  pluginId: string;
  name: string;
  value: Record<string, unknown> | null;
  op: AttributePutOp;
}

export type WorldChange = ObjectChange | AttributeChange;

export interface WorldStoreEvents {
  change: [WorldChange];
}

/** Merges an op into memory as part of a batch (`WorldStore.applyBatch`): its change, or undefined when none. */
export type StagePut = (op: WorldOp) => WorldChange | undefined;

/** An op merged, not yet applied (`WorldStore.step`). */
interface Step {
  change: WorldChange;
  writes: { type: 'put'; sublevel: unknown; key: string; value: unknown }[];
  show(): () => void;
}

/** One world's state as loaded from LevelDB. */
export interface WorldState {
  id: string;
  objects: Map<string, ObjectRecord>;
  /** objectId!pluginId!name → record */
  attributes: Map<string, AttributeRecord>;
}

export const attributeKey = (objectId: string, pluginId: string, name: string) =>
  key(objectId, pluginId, name);

/**
 * The tables of worlds (names are on-disk key prefixes: never rename them). The object attributes are
 * here and not with the other attribute families of `AttributeService`: they replicate with the objects,
 * merged by stamp in `apply` and fanned out from its 'change', so only this store may write them.
 * `AttributeService` reads them from the loaded world state and writes them as ops through `apply`.
 */
export function worldTables(db: Database) {
  return {
    level: db.level,
    /** objectId → object (a world is the object whose world is itself) */
    objects: db.sublevel<ObjectRecord>('objects'),
    /** worldId!objectId → 1: the objects of a world, for loading a world without a scan. */
    worldObjects: db.sublevel<number>('world-objects'),
    /** objectId!pluginId!name → object attribute (see `attributeKey`) */
    objectAttributes: db.sublevel<AttributeRecord>('attr-object'),
  };
}

export class WorldStore extends EventEmitter<WorldStoreEvents> {
  private readonly db: ReturnType<typeof worldTables>;
  readonly clock: HybridClock;
  private readonly worlds = new Map<string, WorldState>();
  /** objectId → worldId, for every object of every loaded world */
  private readonly objectWorld = new Map<string, string>();
  /** Per-world tail of the apply chain: ops of one world are merged and persisted one at a time. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(components: { db: Database; clock: HybridClock }) {
    super();
    this.db = worldTables(components.db);
    this.clock = components.clock;
  }

  /** Loads every world (objects whose world is themselves) into memory. */
  async start(): Promise<void> {
    for await (const [worldId, object] of this.db.objects.iterator()) {
      if (object.worldId === worldId && !this.worlds.has(worldId)) await this.load(worldId);
    }
  }

  private async load(worldId: string): Promise<WorldState> {
    const state: WorldState = { id: worldId, objects: new Map(), attributes: new Map() };
    for (const [k] of await valuesWithPrefix(this.db.worldObjects, worldId)) {
      const objectId = k.slice(worldId.length + 1);
      const object = await this.db.objects.get(objectId);
      if (!object) continue;
      state.objects.set(objectId, object);
      this.objectWorld.set(objectId, worldId);
      for (const [attrKey, attr] of await valuesWithPrefix(this.db.objectAttributes, objectId)) {
        state.attributes.set(attrKey, attr);
      }
    }
    this.worlds.set(worldId, state);
    return state;
  }

  /** The world an object (live or removed) belongs to, if this node has it. */
  worldOfObject(objectId: string): string | undefined {
    return this.objectWorld.get(objectId);
  }

  /** A world's state as stored, removed or not (what federation checks a remote op against). */
  peek(worldId: string): WorldState | undefined {
    return this.worlds.get(worldId);
  }

  /** A world that exists and is not removed. */
  get(worldId: string): WorldState | undefined {
    const state = this.worlds.get(worldId);
    const root = state?.objects.get(worldId);
    return root && !root.removed ? state : undefined;
  }

  /** A live (not removed) object of any world, with its world's state. */
  findObject(objectId: string): { state: WorldState; object: ObjectRecord } | undefined {
    const worldId = this.objectWorld.get(objectId);
    const state = worldId ? this.get(worldId) : undefined;
    const object = state?.objects.get(objectId);
    return state && object && !object.removed ? { state, object } : undefined;
  }

  /** An object's stored record, live or removed, of any world (a removed world's too). */
  async storedObject(objectId: string): Promise<ObjectRecord | undefined> {
    return this.db.objects.get(objectId);
  }

  worldIds(): string[] {
    return [...this.worlds.keys()].filter((id) => this.get(id));
  }

  /** Applies an op: merge, persist, notify. Resolves with the change, or undefined when the op changed nothing. */
  apply(op: WorldOp): Promise<WorldChange | undefined> {
    this.clock.observe(op.stamp);
    return this.enqueue(op.worldId, () => this.applyNow(op));
  }

  /**
   * Applies a run of ops of one world as one LevelDB batch (world sync: a window of objects), in one turn
   * of the world's apply chain: ops handed to `apply` meanwhile wait for it. `stage` hands each op to
   * `put`, which merges it into memory at once, so that what `stage` checks next (a child after its
   * parent) sees it; the batch is then written and the changes emitted in order. Until the write, what is
   * staged is in memory only, without its change: a write that fails takes all of it out again and emits
   * nothing. What `stage` put before it threw is still written, then its error rethrown. A listener that
   * throws stops none of the other changes (`emitAll`); its error is rethrown once all were emitted
   * (after the stage's own, if that failed too).
   */
  applyBatch<T>(worldId: string, stage: (put: StagePut) => Promise<T>): Promise<T> {
    return this.enqueue(worldId, () => this.applyStaged(worldId, stage));
  }

  /** Runs `run` after every op of the world handed over before it: one world's ops go one at a time. */
  private enqueue<T>(worldId: string, run: () => Promise<T>): Promise<T> {
    const tail = this.queues.get(worldId) ?? Promise.resolve();
    const next = tail.then(run);
    const settled = next.catch(() => {});
    this.queues.set(worldId, settled);
    void settled.then(() => {
      if (this.queues.get(worldId) === settled) this.queues.delete(worldId);
    });
    return next;
  }

  private async applyNow(op: WorldOp): Promise<WorldChange | undefined> {
    const step = this.step(op, Date.now());
    if (!step) return undefined;
    await this.db.level.batch(step.writes as never);
    step.show();
    this.emit('change', step.change);
    return step.change;
  }

  private async applyStaged<T>(worldId: string, stage: (put: StagePut) => Promise<T>): Promise<T> {
    const steps: Step[] = [];
    const hide: (() => void)[] = [];
    let open = true;
    const put: StagePut = (op) => {
      if (!open) throw new Error(`op put in a batch of ${worldId} after it was written`);
      if (op.worldId !== worldId) throw new Error(`op of ${op.worldId} put in a batch of ${worldId}`);
      this.clock.observe(op.stamp);
      const step = this.step(op, Date.now());
      if (!step) return undefined;
      hide.push(step.show());
      steps.push(step);
      return step.change;
    };
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: await stage(put) };
    } catch (error) {
      outcome = { ok: false, error };
    } finally {
      open = false;
    }
    if (steps.length) {
      try {
        await this.db.level.batch(steps.flatMap((s) => s.writes) as never);
      } catch (error) {
        for (const h of hide.reverse()) h();
        throw error;
      }
      const listenerError = this.emitAll(steps);
      // The stage's own failure first (a peer's bad answer, say): what its caller acts on.
      if (!outcome.ok) throw outcome.error;
      if (listenerError) throw listenerError.error;
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  /**
   * Emits every written change of a batch, even past a listener that throws: the batch is on disk, and a
   * listener that stopped the rest would leave rooms and peers without the changes after it. The first
   * listener error is handed back, for the caller to see as `apply`'s caller does.
   */
  private emitAll(steps: Step[]): { error: unknown } | undefined {
    let failed: { error: unknown } | undefined;
    for (const s of steps) {
      try {
        this.emit('change', s.change);
      } catch (error) {
        failed ??= { error };
      }
    }
    return failed;
  }

  /**
   * What an op does to the world as it is in memory now, not done yet: its change, its LevelDB writes, and
   * `show`, which puts its records in memory and returns how to take them out again. Undefined when the
   * op changes nothing.
   */
  private step(op: WorldOp, now: number): Step | undefined {
    const known = this.worlds.get(op.worldId);
    const state =
      known ?? ({ id: op.worldId, objects: new Map(), attributes: new Map() } satisfies WorldState);
    const showWorld = () => {
      this.worlds.set(op.worldId, state);
      return () => {
        if (!known) this.worlds.delete(op.worldId);
      };
    };
    if (op.kind === 'object.put') {
      const current = state.objects.get(op.objectId);
      const { next, changed } = mergeObject(current, op, now);
      if (!changed.length) return undefined;
      const change: ObjectChange = {
        kind: 'object',
        worldId: op.worldId,
        object: next,
        changed,
        created: !current,
        op,
      };
      return {
        change,
        writes: [
          { type: 'put', sublevel: this.db.objects, key: op.objectId, value: next },
          { type: 'put', sublevel: this.db.worldObjects, key: key(op.worldId, op.objectId), value: 1 },
        ],
        show: () => {
          const home = this.objectWorld.get(op.objectId);
          const hideWorld = showWorld();
          state.objects.set(op.objectId, next);
          this.objectWorld.set(op.objectId, op.worldId);
          return () => {
            restore(this.objectWorld, op.objectId, home);
            restore(state.objects, op.objectId, current);
            hideWorld();
          };
        },
      };
    }
    const k = attributeKey(op.objectId, op.pluginId, op.name);
    const current = state.attributes.get(k);
    const next = mergeAttribute(current, op, now);
    if (!next) return undefined;
    const change: AttributeChange = {
      kind: 'attribute',
      worldId: op.worldId,
      objectId: op.objectId,
      pluginId: op.pluginId,
      name: op.name,
      value: next.value,
      op,
    };
    return {
      change,
      writes: [{ type: 'put', sublevel: this.db.objectAttributes, key: k, value: next }],
      show: () => {
        const hideWorld = showWorld();
        state.attributes.set(k, next);
        return () => {
          restore(state.attributes, k, current);
          hideWorld();
        };
      },
    };
  }

  /** Waits until every op handed to `apply` so far is persisted. */
  async flush(): Promise<void> {
    await Promise.all(this.queues.values());
  }

  /** Builds an object op stamped now by this node, made for `actor` (see `ObjectPutOp.actor`). */
  objectOp(worldId: string, objectId: string, fields: Partial<ObjectFields>, actor: string): ObjectPutOp {
    return {
      kind: 'object.put',
      worldId,
      objectId,
      fields,
      stamp: this.clock.now(),
      origin: this.clock.nodeId,
      actor,
    };
  }

  attributeOp(
    worldId: string,
    objectId: string,
    pluginId: string,
    name: string,
    value: Record<string, unknown> | null,
    actor: string,
  ): AttributePutOp {
    return {
      kind: 'attribute.put',
      worldId,
      objectId,
      pluginId,
      name,
      value,
      stamp: this.clock.now(),
      origin: this.clock.nodeId,
      actor,
    };
  }
}

/** Puts back what a map had under `k`: the value, or no entry. */
function restore<V>(map: Map<string, V>, k: string, value: V | undefined): void {
  if (value === undefined) map.delete(k);
  else map.set(k, value);
}

/** The object record as routes and transports see it. */
export type { ObjectRecord } from '../../storage/db/records.ts';
