/**
 * Scaled images for the original's `/media/render/texture/s0…s9/<hash>`: PNGs made on first request with
 * sharp and cached under `<cacheDir>/<cid>/<size>.png`. Derived data: deleting the cache only costs
 * re-rendering, and garbage collection drops the renditions of removed assets. Paths are built from the
 * CID (base32) and the size name only, both validated, never from anything a client named.
 */
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CID } from 'multiformats/cid';
import type { AssetRecord } from '../db/records.ts';

/** The original's sizes: a target pixel count each (aspect kept, never enlarged). */
export const RENDITION_PIXELS: Record<string, number> = {
  s0: 1024,
  s1: 4096,
  s2: 9216,
  s3: 25600,
  s4: 65536,
  s5: 193600,
  s6: 577600,
  s7: 1721344,
  s8: 5062500,
  s9: 14745600,
};

/**
 * Largest picture decoded (8192×8192): an 8K equirectangular sky fits; a decompression bomb does not get to
 * allocate gigabytes. Larger images are still served as they are by the other routes.
 */
const MAX_INPUT_PIXELS = 8192 * 8192;

/** Formats sharp decodes; others (ktx2, hdr, exr) are served as they are. */
const SCALABLE = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif']);

export interface Rendition {
  path: string;
  size: number;
  width: number;
  height: number;
}

/** The width and height of a target pixel count, keeping the aspect, never enlarging. */
export function fitPixels(width: number, height: number, pixels: number): { width: number; height: number } {
  if (width * height <= pixels) return { width, height };
  const scale = Math.sqrt(pixels / (width * height));
  let w = Math.max(1, Math.floor(width * scale));
  let h = Math.max(1, Math.floor(height * scale));
  // A very thin image: its short side stops at 1 px, so the long side gets the rest of the budget.
  if (w === 1) h = Math.min(height, Math.floor(pixels));
  if (h === 1) w = Math.min(width, Math.floor(pixels));
  return { width: w, height: h };
}

/** Width and height from a PNG's IHDR (bytes 16–23), so a cached file needs no decoding to answer. */
async function pngSize(path: string): Promise<{ width: number; height: number }> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(24);
    await file.read(head, 0, 24, 0);
    return { width: head.readUInt32BE(16), height: head.readUInt32BE(20) };
  } finally {
    await file.close();
  }
}

export class Renditions {
  private readonly dir: string;
  private readonly read: (cid: CID) => AsyncIterable<Uint8Array>;
  /** Renders in flight, so that concurrent requests for one rendition make it once. */
  private readonly pending = new Map<string, Promise<Rendition>>();

  constructor(dir: string, read: (cid: CID) => AsyncIterable<Uint8Array>) {
    this.dir = dir;
    this.read = read;
  }

  static scalable(record: AssetRecord): boolean {
    return SCALABLE.has(record.mime);
  }

  /** The cached PNG of `record` at `size` (s0…s9), rendered now if it is not cached yet. */
  async get(record: AssetRecord, cid: CID, size: string): Promise<Rendition> {
    const pixels = RENDITION_PIXELS[size];
    if (!pixels) throw new Error(`unknown size ${size}`);
    const path = join(this.dir, record.cid, `${size}.png`);
    const cached = await stat(path).catch(() => undefined);
    if (cached) return { path, size: cached.size, ...(await pngSize(path)) };
    let work = this.pending.get(path);
    if (!work) {
      work = this.render(cid, path, pixels).finally(() => this.pending.delete(path));
      this.pending.set(path, work);
    }
    return work;
  }

  /** Drops the cached renditions of an asset (after garbage collection removed it). */
  async forget(cid: string): Promise<void> {
    await rm(join(this.dir, cid), { recursive: true, force: true });
  }

  private async render(cid: CID, path: string, pixels: number): Promise<Rendition> {
    // Loaded on first use: a node that never scales an image never loads libvips.
    const { default: sharp } = await import('sharp');
    // Renditions are cached on disk; libvips' own operation cache would only hold memory.
    sharp.cache(false);
    const parts: Uint8Array[] = [];
    for await (const part of this.read(cid)) parts.push(part);
    const input = Buffer.concat(parts);
    // The first frame of an animated GIF. Sizes after EXIF orientation is applied, as the picture is shown.
    const options = { limitInputPixels: MAX_INPUT_PIXELS };
    const { autoOrient } = await sharp(input, options).metadata();
    const target = fitPixels(autoOrient.width, autoOrient.height, pixels);
    const { data, info } = await sharp(input, options)
      .autoOrient()
      .resize(target.width, target.height, { fit: 'fill' })
      .png()
      .toBuffer({ resolveWithObject: true });
    await mkdir(join(path, '..'), { recursive: true });
    // Written aside and renamed, so a reader never sees half a file.
    const partial = `${path}.${process.pid}.${Date.now()}.tmp`;
    const file = await open(partial, 'w');
    try {
      await file.writeFile(data);
    } finally {
      await file.close();
    }
    await rename(partial, path);
    return { path, size: data.length, width: info.width, height: info.height };
  }
}
