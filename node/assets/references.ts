/**
 * Which assets the worlds use: an object's `assetType` (a UMID) and its texture attributes (the world's
 * `active_skybox`, an object's `texture`: `render_hash` = a CID). Built from the world store at start and
 * kept in step with its 'change' events, remote ops included, so it holds for every world this node has.
 * A reference counts while its object and the object's world are live. Everything is keyed by UMID, which
 * is derived from the CID: an object may name an asset before its bytes arrive.
 */
import { EventEmitter } from 'node:events';
import { NIL_UMID, normalizeUmid, parseCid, umidOf } from '../../storage/assets/ids.ts';
import { renderSlotOf } from '../world/render.ts';
import type { WorldChange, WorldStore } from '../world/world-store.ts';

/** The pseudo-object holding permanent references (no object id has this form). */
const PERMANENT = '(permanent)';

export class AssetReferences extends EventEmitter<{ changed: [umid: string] }> {
  private readonly store: WorldStore;
  /** objectId → the UMID its assetType names (live or not; liveness is checked on recompute). */
  private readonly objectAsset = new Map<string, string>();
  /** objectId → pluginId!name → UMID of a texture attribute. */
  private readonly objectTextures = new Map<string, Map<string, string>>();
  /** objectId → worldId, for every object with an entry above (to revisit them when a world goes). */
  private readonly worldOf = new Map<string, string>();
  /** objectId → the UMIDs it currently contributes to `counts`. */
  private readonly counted = new Map<string, Set<string>>();
  private readonly counts = new Map<string, number>();
  /** UMID → CID of every texture slot seen: a texture names its CID, a model only its UMID. */
  private readonly textureCids = new Map<string, string>();
  private readonly onChange = (change: WorldChange) => this.apply(change);

  constructor(store: WorldStore) {
    super();
    this.store = store;
  }

  start(): void {
    for (const worldId of this.store.worldIds()) {
      const state = this.store.get(worldId);
      if (!state) continue;
      for (const object of state.objects.values()) this.setObjectAsset(worldId, object.id, object.assetType);
      for (const [k, attr] of state.attributes) {
        const [objectId, pluginId, name] = k.split('!');
        this.setTexture(worldId, objectId, pluginId, name, attr.value);
      }
    }
    for (const objectId of this.worldOf.keys()) this.recompute(objectId, false);
    this.store.on('change', this.onChange);
  }

  stop(): void {
    this.store.off('change', this.onChange);
  }

  /**
   * A reference that no world change removes: the node's starter assets, which every new world may use
   * and which must never be collected.
   */
  addPermanent(umid: string): void {
    const had = this.counted.get(PERMANENT) ?? new Set<string>();
    if (had.has(umid)) return;
    had.add(umid);
    this.counted.set(PERMANENT, had);
    this.counts.set(umid, (this.counts.get(umid) ?? 0) + 1);
    this.emit('changed', umid);
  }

  /** How many live objects use the asset. */
  count(umid: string): number {
    return this.counts.get(umid) ?? 0;
  }

  isReferenced(umid: string): boolean {
    return this.count(umid) > 0;
  }

  /** Every referenced UMID. */
  referenced(): string[] {
    return [...this.counts.keys()];
  }

  /** The CID behind a UMID when a texture slot named it (a model's CID needs its record: record-exchange.ts). */
  cidOf(umid: string): string | undefined {
    return this.textureCids.get(umid);
  }

  /**
   * The worlds whose live objects use the asset; `permanent` when it is a starter asset. A scan of the
   * referencing objects: called per asset fetch, not per change.
   */
  worldsUsing(umid: string): { worlds: Set<string>; permanent: boolean } {
    const worlds = new Set<string>();
    let permanent = false;
    for (const [objectId, umids] of this.counted) {
      if (!umids.has(umid)) continue;
      if (objectId === PERMANENT) permanent = true;
      const worldId = this.worldOf.get(objectId);
      if (worldId) worlds.add(worldId);
    }
    return { worlds, permanent };
  }

  private apply(change: WorldChange): void {
    if (change.kind === 'attribute') {
      if (!this.setTexture(change.worldId, change.objectId, change.pluginId, change.name, change.value))
        return;
      this.recompute(change.objectId, true);
      return;
    }
    const { object, changed } = change;
    if (change.created || changed.includes('assetType')) {
      this.setObjectAsset(change.worldId, object.id, object.assetType);
    }
    if (object.id === change.worldId && changed.includes('removed')) {
      // A world removed (or restored): every object in it stops (or starts) counting.
      for (const [objectId, worldId] of this.worldOf)
        if (worldId === object.id) this.recompute(objectId, true);
      return;
    }
    if (change.created || changed.includes('assetType') || changed.includes('removed')) {
      this.recompute(object.id, true);
    }
  }

  private setObjectAsset(worldId: string, objectId: string, assetType: string | undefined): void {
    const umid = assetType ? normalizeUmid(assetType) : undefined;
    if (umid && umid !== NIL_UMID) {
      this.objectAsset.set(objectId, umid);
      this.worldOf.set(objectId, worldId);
    } else {
      this.objectAsset.delete(objectId);
    }
  }

  /** Records a texture attribute's asset; false when the attribute is not a texture slot. */
  private setTexture(
    worldId: string,
    objectId: string,
    pluginId: string,
    name: string,
    value: Record<string, unknown> | null,
  ): boolean {
    const slot = renderSlotOf(pluginId, name);
    if (slot?.slotType !== 'texture') return false;
    const text = value?.[slot.valueField];
    // Hashes of the original (MD5 hex) or of nothing at all are not assets of this store.
    const cid = typeof text === 'string' ? parseCid(text) : undefined;
    const slotKey = `${pluginId}!${name}`;
    let textures = this.objectTextures.get(objectId);
    if (cid) {
      if (!textures) {
        textures = new Map();
        this.objectTextures.set(objectId, textures);
      }
      const umid = umidOf(cid);
      textures.set(slotKey, umid);
      this.textureCids.set(umid, cid.toString());
      this.worldOf.set(objectId, worldId);
    } else if (textures) {
      textures.delete(slotKey);
      if (!textures.size) this.objectTextures.delete(objectId);
    }
    return true;
  }

  private recompute(objectId: string, notify: boolean): void {
    const want = new Set<string>();
    if (this.store.findObject(objectId)) {
      const asset = this.objectAsset.get(objectId);
      if (asset) want.add(asset);
      for (const umid of this.objectTextures.get(objectId)?.values() ?? []) want.add(umid);
    }
    const had = this.counted.get(objectId) ?? new Set<string>();
    const touched: string[] = [];
    for (const umid of had) {
      if (want.has(umid)) continue;
      const n = (this.counts.get(umid) ?? 1) - 1;
      if (n > 0) this.counts.set(umid, n);
      else this.counts.delete(umid);
      touched.push(umid);
    }
    for (const umid of want) {
      if (had.has(umid)) continue;
      this.counts.set(umid, (this.counts.get(umid) ?? 0) + 1);
      touched.push(umid);
    }
    if (want.size) this.counted.set(objectId, want);
    else this.counted.delete(objectId);
    if (!this.objectAsset.has(objectId) && !this.objectTextures.has(objectId)) this.worldOf.delete(objectId);
    if (notify) for (const umid of touched) this.emit('changed', umid);
  }
}
