/**
 * The attribute catalog: plugins and attribute types, kept in LevelDB (seeded on first start, see seed.ts)
 * and held in memory, since every attribute read and write looks its type up.
 */
import { type Database, key } from '../../storage/db/database.ts';
import type { AttributeOptions, AttributeTypeRecord, PluginRecord } from '../../storage/db/records.ts';

/** The tables of the catalog (names are on-disk key prefixes: never rename them). */
export function catalogTables(db: Database) {
  return {
    /** pluginId → plugin */
    plugins: db.sublevel<PluginRecord>('plugins'),
    /** pluginId!name → attribute type */
    attributeTypes: db.sublevel<AttributeTypeRecord>('attribute-types'),
  };
}

export class AttributeTypes {
  private readonly types: Map<string, AttributeTypeRecord>;
  private readonly pluginsById: Map<string, PluginRecord>;

  constructor(types: AttributeTypeRecord[], plugins: PluginRecord[]) {
    this.types = new Map(types.map((t) => [key(t.pluginId, t.name), t]));
    this.pluginsById = new Map(plugins.map((p) => [p.id, p]));
  }

  static async load(db: Database): Promise<AttributeTypes> {
    const tables = catalogTables(db);
    const types: AttributeTypeRecord[] = [];
    for await (const t of tables.attributeTypes.values()) types.push(t);
    const plugins: PluginRecord[] = [];
    for await (const p of tables.plugins.values()) plugins.push(p);
    return new AttributeTypes(types, plugins);
  }

  get(pluginId: string, name: string): AttributeTypeRecord | undefined {
    return this.types.get(key(pluginId, name));
  }

  list(): AttributeTypeRecord[] {
    return [...this.types.values()];
  }

  plugins(): PluginRecord[] {
    return [...this.pluginsById.values()];
  }
}

/** True when changes of an object attribute of this type go to everyone in the object's world. */
export function relaysToWorld(options: AttributeOptions): boolean {
  const scope = options.posbus_auto?.scope ?? [];
  return scope.includes('object') || scope.includes('world');
}
