/**
 * Points on the globe as operators and reverse proxies write them (`LAT,LON` in degrees), and the
 * great-circle distance between two of them, which is what "nearest" ranks by when both ends are known.
 */
import type { GeoPoint } from '../../protocol/gossip/index.ts';

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** `"52.52,13.40"` → { lat: 52.52, lon: 13.4 }; undefined for anything else (or out of range). */
export function parseGeo(text: string | undefined): GeoPoint | undefined {
  if (!text) return undefined;
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length !== 2 || !parts.every((p) => NUMBER.test(p))) return undefined;
  const [lat, lon] = parts.map(Number);
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180) return undefined;
  return { lat, lon };
}

const EARTH_RADIUS_KM = 6371;
const rad = (deg: number) => (deg * Math.PI) / 180;

/** Haversine distance in km. */
export function distanceKm(a: GeoPoint, b: GeoPoint): number {
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}
