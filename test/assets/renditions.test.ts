/** The original's scaled textures: PNGs of a target pixel count, made once with sharp and cached. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitPixels } from '../../storage/assets/renditions.ts';
import { walletUser } from '../api/world-fixtures.ts';
import { call } from '../support/http.ts';
import { type Guest, guest, startNode, type TestNode } from '../support/node.ts';
import { download, hdr, png, upload } from './support.ts';

let node: TestNode;
let user: Guest;

beforeAll(async () => {
  node = await startNode({ assetGcGraceMs: 0, admins: '0x00000000000000000000000000000000000000aa' });
  user = await guest(node);
});
afterAll(() => node.cleanup());

/** A real 400×200 JPEG (a gradient, so it is not trivially compressible). */
async function picture(): Promise<Uint8Array> {
  const width = 400;
  const height = 200;
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) raw.set([i % 256, (i >> 8) % 256, 128], i * 3);
  return new Uint8Array(
    await sharp(raw, { raw: { width, height, channels: 3 } })
      .jpeg()
      .toBuffer(),
  );
}

describe('texture sizes', () => {
  it('keeps the aspect and never enlarges', () => {
    expect(fitPixels(400, 200, 1024)).toEqual({ width: 45, height: 22 });
    expect(fitPixels(400, 200, 14_745_600)).toEqual({ width: 400, height: 200 });
    expect(fitPixels(1, 10_000, 1024)).toEqual({ width: 1, height: 1024 });
  });

  it('serves s0…s9 as PNGs with x-width/x-height, rendered once and cached', async () => {
    const jpeg = await picture();
    const up = await upload(node, user.token, jpeg, { path: '/media/upload/image' });
    expect(up.status).toBe(200);
    const hash = up.body.hash as string;
    const url = (size: string) => `${node.url}/api/v4/media/render/texture/${size}/${hash}`;

    const s0 = await download(url('s0'));
    expect(s0.res.status).toBe(200);
    expect(s0.res.headers.get('content-type')).toBe('image/png');
    expect([s0.res.headers.get('x-width'), s0.res.headers.get('x-height')]).toEqual(['45', '22']);
    expect(s0.res.headers.get('etag')).toBe(`"${hash}.s0"`);
    const meta = await sharp(s0.data).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 45, 22]);

    const s9 = await download(url('s9'));
    expect([s9.res.headers.get('x-width'), s9.res.headers.get('x-height')]).toEqual(['400', '200']);
    // The cached file answers the second time, byte for byte, ranges included.
    const again = await download(url('s0'));
    expect(Buffer.from(again.data).equals(Buffer.from(s0.data))).toBe(true);
    const part = await download(url('s0'), { range: 'bytes=0-7' });
    expect(part.res.status).toBe(206);
    expect(Buffer.from(part.data).equals(Buffer.from(s0.data.subarray(0, 8)))).toBe(true);
    const cached = await readdir(join(node.dir, 'cache/renditions', hash));
    expect(cached.sort()).toEqual(['s0.png', 's9.png']);

    expect((await fetch(url('s10'))).status).toBe(400);
    expect((await fetch(url('x1'))).status).toBe(400);

    // Garbage collection drops the renditions with the asset.
    const admin = await walletUser(node, '0x00000000000000000000000000000000000000aa');
    const gc = await call<{ removed_assets: string[] }>(node, 'POST', '/api/v4/assets/gc', {
      token: admin.token,
    });
    expect(gc.body.removed_assets).toContain(hash);
    await expect(readdir(join(node.dir, 'cache/renditions', hash))).rejects.toThrow();
  });

  it('sends formats it cannot scale as they are, and 415 for an image that does not decode', async () => {
    const sky = hdr(5000, 'sky');
    const up = await upload(node, user.token, sky, { fields: { kind: 'skybox' } });
    const { res, data } = await download(`${node.url}/api/v4/media/render/texture/s3/${up.body.cid}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/vnd.radiance');
    expect(data.length).toBe(sky.length);

    const broken = await upload(node, user.token, png(3000, 'not-really'), { path: '/media/upload/image' });
    const bad = await fetch(`${node.url}/api/v4/media/render/texture/s3/${broken.body.hash}`);
    expect(bad.status).toBe(415);
    expect(await bad.json()).toMatchObject({ error: { reason: 'unsupported_media_type' } });
  });
});
