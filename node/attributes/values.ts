/** What an attribute value may be: a JSON object, small and shallow enough to store and relay. */
import { invalid } from '../../common/errors.ts';

export type AttributeValue = Record<string, unknown>;

/** Largest value, serialized as JSON: attributes are small documents, not a blob store. */
export const MAX_VALUE_BYTES = 64 * 1024;
/** Deepest nesting of a value (PosBus refuses to encode past 64). */
export const MAX_VALUE_DEPTH = 32;

/** Bounded depth first (a deep value would overflow JSON.stringify's stack), then bounded size. */
export function checkValue(value: AttributeValue): void {
  if (deeperThan(value, MAX_VALUE_DEPTH))
    throw invalid('invalid_attribute_value', `value nests deeper than ${MAX_VALUE_DEPTH} levels`);
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > MAX_VALUE_BYTES)
    throw invalid(
      'attribute_value_too_large',
      `value is ${bytes} bytes serialized; the limit is ${MAX_VALUE_BYTES}`,
    );
}

function deeperThan(v: unknown, levels: number): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (levels === 0) return true;
  return Object.values(v).some((child) => deeperThan(child, levels - 1));
}
