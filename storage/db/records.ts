/**
 * What the node keeps in LevelDB. Storage knows nothing of PosBus, HTTP or libp2p: these are plain
 * records. Replicated records carry a hybrid-logical-clock stamp per field (`stamps`), so that a change
 * from anywhere can be merged last-writer-wins.
 */

export interface Vec3Record {
  x: number;
  y: number;
  z: number;
}

export interface TransformRecord {
  position: Vec3Record;
  rotation: Vec3Record;
  scale: Vec3Record;
}

/** Everything in a world is an object; a world is the object whose parent is the node. */
export interface ObjectFields {
  parentId: string;
  ownerId: string;
  typeId: string;
  name: string;
  /** Asset id as a UMID (see the object storage design); the nil UMID when the object has none. */
  assetType: string;
  /** Asset3dType: 0 addressable, 1 gltf, 2 basic. */
  assetFormat: number;
  transform: TransformRecord;
  isEditable: boolean;
  tetheredToParent: boolean;
  showOnMinimap: boolean;
  /** Free-form options; worlds keep `spawnPoint` and `bounds` here. */
  options: Record<string, unknown>;
  /** Tombstone: a removed object stays as a stamped record so that an older concurrent edit cannot resurrect it. */
  removed: boolean;
}

export interface ObjectRecord extends ObjectFields {
  id: string;
  worldId: string;
  /** Per-field HLC stamps (field name → stamp). */
  stamps: Partial<Record<keyof ObjectFields, string>>;
  /** Per-field actor of the winning op (absent in records written before federation). */
  actors?: Partial<Record<keyof ObjectFields, string>>;
  createdAt: number;
  updatedAt: number;
}

/** An attribute value: a JSON object, or null once removed (kept as a stamped tombstone). */
export interface AttributeRecord {
  value: Record<string, unknown> | null;
  stamp: string;
  /** Who made the winning op (object attributes; absent in records written before federation). */
  actor?: string;
  updatedAt: number;
}

export interface UserProfile {
  bio?: string;
  location?: string;
  avatarHash?: string;
  profileLink?: string;
  onboarded?: boolean;
}

export interface UserRecord {
  id: string;
  name: string;
  isGuest: boolean;
  profile?: UserProfile;
  /** Wallet addresses in lowercase: 0x… (EVM) or 0x + 64 hex (a Substrate sr25519 public key). */
  wallets?: string[];
  /** Avatar asset reference (hash / CID text), '' when none. */
  avatar: string;
  createdAt: number;
  updatedAt: number;
  /** For guests: when their last session ended (ms); they are deleted some time after it. */
  lastSeenAt?: number;
}

export interface PositionRecord {
  position: Vec3Record;
  rotation: Vec3Record;
  at: number;
}

/** A timeline entry (the original's `activity`): a post about an object, usually a world. */
export interface ActivityRecord {
  /** A UUIDv7: ids sort by creation time. */
  activityId: string;
  userId: string;
  objectId: string;
  /** `video`, `screenshot`, `world_created`, `stake`, `unstake`. */
  type: string;
  data: ActivityDataRecord;
  createdAt: number;
}

export interface ActivityDataRecord {
  /** Where the author stood in the object's world when posting. */
  position: Vec3Record | null;
  description: string | null;
  hash: string | null;
  tokenSymbol: string | null;
  tokenAmount: string | null;
  bcTxHash: string | null;
  bcLogIndex: string | null;
}

/** A plugin: owner of attribute types (the original's `plugin` table). */
export interface PluginRecord {
  id: string;
  meta: { name: string; description?: string; scopeName?: string; scriptUrl?: string };
  options: Record<string, unknown> | null;
  createdAt: number;
  updatedAt: number;
}

/** Who may read and write an attribute: `+`-joined role lists (`any`, `user`, `admin`, `user_owner`, `target_user`). */
export interface AttributePermissions {
  read?: string;
  write?: string;
}

/** Options of an attribute type (the original's `attribute_type.options`), or per-row overrides of them. */
export interface AttributeOptions {
  permissions?: AttributePermissions;
  /** Relay every change over PosBus as AttributeValueChanged to the scopes listed (`object`, `world`, `user`). */
  posbus_auto?: { scope: string[]; topic?: string; send_to?: number };
  /** The change is render data (an ObjectData slot). */
  render_auto?: { slot_type: string; slot_name?: string; value_field?: string; content_type?: string };
}

/** An attribute type: a (plugin, name) that attributes of any family may be stored under. */
export interface AttributeTypeRecord {
  pluginId: string;
  name: string;
  description: string;
  options: AttributeOptions;
  createdAt: number;
  updatedAt: number;
}

/** An asset in object storage (storage/assets): its bytes live in the Helia blockstore under `cid`. */
export interface AssetRecord {
  /** CIDv1 text (base32): the asset's id and checksum. */
  cid: string;
  /** First 16 bytes of the CID's digest as a UUID: what PosBus and the original's routes carry. */
  umid: string;
  /** Display name given at upload; never used as a path. */
  name: string;
  kind: 'model' | 'texture' | 'skybox' | 'image';
  mime: string;
  /** File size in bytes. */
  size: number;
  /** User id of the first uploader (on the node it was uploaded to, for an asset fetched from a peer). */
  uploader: string;
  createdAt: number;
  /**
   * Set on an asset this node fetched from a peer rather than had uploaded: the peer's id. Such a record
   * charges nobody's upload quota here.
   */
  fetchedFrom?: string;
  /** Set while no world references the asset: when the last reference went (or the upload, if none came). */
  releasedAt?: number;
}
