/**
 * The `/entries` listing: every user's value of one object-user attribute flattened into one list of
 * entries (one per top-level key whose value is an object), filtered, searched, sorted and paged. Used for
 * community lists such as skyboxes, where each user's value is `{<image hash>: {name, artist_name, …}}`.
 */

export interface EntriesQuery {
  /** Fields of each entry to return; all when absent. */
  fields?: string[];
  /** field → the text its value must equal. */
  filters: Record<string, string>;
  /** A field, `-field` for descending. */
  order?: string;
  limit: number;
  offset: number;
  /** Case-insensitive text the key or a text field must contain. */
  q?: string;
}

export interface Entry {
  key: string;
  userId: string;
  fields: Record<string, unknown>;
}

type Json = Record<string, unknown>;

const isMap = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function listEntries(
  values: { userId: string; value: Json }[],
  query: EntriesQuery,
): { count: number; items: Entry[] } {
  const needle = query.q?.toLowerCase();
  const matched: { key: string; userId: string; entry: Json }[] = [];
  for (const { userId, value } of values) {
    for (const [entryKey, entry] of Object.entries(value)) {
      if (!isMap(entry)) continue;
      if (!Object.entries(query.filters).every(([f, want]) => textOf(entry[f]) === want)) continue;
      if (needle && !matchesText(entryKey, entry, needle)) continue;
      matched.push({ key: entryKey, userId, entry });
    }
  }
  if (query.order) {
    const descending = query.order.startsWith('-');
    const field = descending ? query.order.slice(1) : query.order;
    matched.sort((a, b) => {
      const [x, y] = [a.entry[field], b.entry[field]];
      // Entries without the field go last either way.
      if (x === undefined || y === undefined) return Number(x === undefined) - Number(y === undefined);
      return compare(x, y) * (descending ? -1 : 1);
    });
  }
  const page = matched.slice(query.offset, query.offset + query.limit);
  return {
    count: matched.length,
    items: page.map(({ key, userId, entry }) => ({ key, userId, fields: pick(entry, query.fields) })),
  };
}

function pick(entry: Json, fields: string[] | undefined): Json {
  if (!fields) return entry;
  const out: Json = {};
  for (const f of fields) if (Object.hasOwn(entry, f)) out[f] = entry[f];
  return out;
}

function textOf(v: unknown): string | undefined {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

function matchesText(entryKey: string, entry: Json, needle: string): boolean {
  if (entryKey.toLowerCase().includes(needle)) return true;
  return Object.values(entry).some((v) => typeof v === 'string' && v.toLowerCase().includes(needle));
}

/** Numbers by value, everything else by its text. */
function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const [x, y] = [String(a), String(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}
