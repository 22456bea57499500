/** Uploads into Helia and downloads out of it, over real HTTP on loopback, with a real LevelDB blockstore. */
import { CID } from 'multiformats/cid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, reason } from '../support/http.ts';
import { type Guest, guest, startNode, type TestNode } from '../support/node.ts';
import { bytes, countBlocks, download, glb, independentCid, png, upload } from './support.ts';

let node: TestNode;
let user: Guest;

beforeAll(async () => {
  node = await startNode({ assetMaxImageBytes: 100 * 1024 });
  user = await guest(node);
});
afterAll(() => node.cleanup());

describe('upload and download', () => {
  // Several chunks, and not a multiple of the chunk size, so the DAG has a root node and uneven leaves.
  const model = glb(3 * 262_144 + 12_345, 'model-a');
  let cid: string;
  let umid: string;

  it('stores a multipart upload under its CID and serves the same bytes back', async () => {
    const up = await upload(node, user.token, model, { fields: { kind: 'model', name: 'Statue' } });
    expect(up.status).toBe(201);
    expect(up.body).toMatchObject({
      kind: 'model',
      mime: 'model/gltf-binary',
      size: model.length,
      name: 'Statue',
    });
    expect(up.body.uploader_id).toBe(user.id);
    cid = up.body.cid as string;
    umid = up.body.umid as string;
    expect(cid).toMatch(/^bafy/);
    const digest = CID.parse(cid).multihash.digest;
    expect(umid.replace(/-/g, '')).toBe(Buffer.from(digest.subarray(0, 16)).toString('hex'));

    const { res, data } = await download(`${node.url}/api/v4/assets/${cid}`);
    expect(res.status).toBe(200);
    expect(Buffer.from(data).equals(Buffer.from(model))).toBe(true);
    expect(res.headers.get('content-type')).toBe('model/gltf-binary');
    expect(res.headers.get('etag')).toBe(`"${cid}"`);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-length')).toBe(String(model.length));
  });

  it('computes the CID any IPFS implementation would (independent importer, same settings)', async () => {
    expect((await independentCid(model)).toString()).toBe(cid);
    // A one-chunk file is a single raw block: its CID is the raw leaf itself.
    const small = png(5000, 'small');
    const up = await upload(node, user.token, small);
    expect(up.body.cid).toBe((await independentCid(small)).toString());
    expect(up.body.cid).toMatch(/^bafkrei/);
  });

  it('answers by UMID with and without dashes, and on the original download path', async () => {
    for (const id of [umid, umid.replace(/-/g, ''), umid.toUpperCase()]) {
      const { res, data } = await download(`${node.url}/api/v4/assets/${id}`);
      expect(res.status).toBe(200);
      expect(data.length).toBe(model.length);
    }
    const { res, data } = await download(`${node.url}/api/v4/media/render/asset/${umid.replace(/-/g, '')}`);
    expect(res.status).toBe(200);
    expect(Buffer.from(data).equals(Buffer.from(model))).toBe(true);
    const meta = await call(node, 'GET', `/api/v4/assets/${umid}/meta`);
    expect(meta.body).toMatchObject({ cid, umid, size: model.length, kind: 'model' });
  });

  it('stores the same bytes once: one CID, no new blocks', async () => {
    const before = await countBlocks(node);
    const again = await upload(node, user.token, model, { fields: { kind: 'model', name: 'Other name' } });
    expect(again.status).toBe(200);
    expect(again.body.cid).toBe(cid);
    expect(again.body.name).toBe('Statue');
    expect(await countBlocks(node)).toBe(before);
    // 4 raw leaves + 1 root node.
    const other = await upload(node, user.token, glb(3 * 262_144 + 12_345, 'model-b'));
    expect(other.status).toBe(201);
    expect(await countBlocks(node)).toBe(before + 5);
  });

  it('serves byte ranges (206), suffix ranges, and 416 past the end; HEAD has headers only', async () => {
    const url = `${node.url}/api/v4/assets/${cid}`;
    const cases: [string, number, number][] = [
      ['bytes=0-99', 0, 99],
      ['bytes=262100-262200', 262_100, 262_200], // across a chunk boundary
      ['bytes=-10', model.length - 10, model.length - 1],
      [`bytes=${model.length - 5}-`, model.length - 5, model.length - 1],
      [`bytes=100-${model.length + 1000}`, 100, model.length - 1],
    ];
    for (const [range, start, end] of cases) {
      const { res, data } = await download(url, { range });
      expect(res.status, range).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${model.length}`);
      expect(Buffer.from(data).equals(Buffer.from(model.subarray(start, end + 1))), range).toBe(true);
    }
    const past = await download(url, { range: `bytes=${model.length}-` });
    expect(past.res.status).toBe(416);
    expect(past.res.headers.get('content-range')).toBe(`bytes */${model.length}`);

    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(model.length));
    expect(head.headers.get('etag')).toBe(`"${cid}"`);
    expect((await head.arrayBuffer()).byteLength).toBe(0);
    const cached = await fetch(url, { headers: { 'if-none-match': `"${cid}"` } });
    expect(cached.status).toBe(304);
  });

  it('answers 400 for a malformed id and 404 for an unknown one, as JSON errors', async () => {
    expect(reason(await call(node, 'GET', '/api/v4/assets/not-a-cid'))).toBe('invalid_asset_id');
    expect(reason(await call(node, 'GET', '/api/v4/assets/..%2F..%2Fetc%2Fpasswd'))).toBe('invalid_asset_id');
    const unknown = (await independentCid(bytes(10, 'nobody'))).toString();
    const r = await call(node, 'GET', `/api/v4/assets/${unknown}`);
    expect(r.status).toBe(404);
    expect(reason(r)).toBe('asset_not_found');
    expect((await call(node, 'GET', '/api/v4/assets/00000000-0000-0000-0000-00000000abcd/meta')).status).toBe(
      404,
    );
  });
});

describe("the original's upload routes", () => {
  it('assets-3d/upload answers 202 with the UMID as id; names default to the file name', async () => {
    const data = glb(2000, 'three-d');
    const up = await upload(node, user.token, data, {
      path: '/assets-3d/upload',
      field: 'asset',
      filename: 'C:\\models\\Chair.glb',
      fields: { preview_hash: 'abc', is_private: 'true' },
    });
    expect(up.status).toBe(202);
    const cid = (await independentCid(data)).toString();
    const meta = await call<{ umid: string; name: string }>(node, 'GET', `/api/v4/assets/${cid}/meta`);
    expect(meta.body.name).toBe('Chair');
    expect(up.body).toEqual({
      id: meta.body.umid,
      user_id: user.id,
      is_private: true,
      meta: { name: 'Chair', type: 1, category: 'custom', preview_hash: 'abc' },
    });
  });

  it('media/upload/image answers {hash} = the CID, served by the render paths', async () => {
    const image = png(3000, 'image');
    const up = await upload(node, user.token, image, { path: '/media/upload/image' });
    expect(up.status).toBe(200);
    expect(up.body.hash).toBe((await independentCid(image)).toString());
    // (Scaled textures need an image that decodes: renditions.test.ts.)
    for (const path of [`/media/render/get/${up.body.hash}`, `/media/render/asset/${up.body.hash}`]) {
      const { res, data } = await download(`${node.url}/api/v4${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/png');
      expect(data.length).toBe(image.length);
    }
  });

  it('needs a token to upload (the original did not), none to download', async () => {
    const up = await upload(node, undefined, png(100, 'anon'), { path: '/media/upload/image' });
    expect(up.status).toBe(401);
    expect((await upload(node, 'nonsense', png(100, 'anon'))).status).toBe(401);
  });
});

describe('validation', () => {
  it('refuses content that is not of the claimed kind with 415, storing nothing', async () => {
    const before = await countBlocks(node);
    const listed = (
      await call<{ assets: unknown[] }>(node, 'GET', '/api/v4/assets?limit=500', { token: user.token })
    ).body.assets.length;
    const cases = [
      { data: png(1000, 'x'), opts: { fields: { kind: 'model' } } },
      { data: glb(1000, 'x'), opts: { path: '/media/upload/image' } },
      { data: png(1000, 'y'), opts: { path: '/assets-3d/upload', field: 'asset' } },
      { data: bytes(1000, 'noise'), opts: {} },
      { data: new TextEncoder().encode('{"not": "gltf"}'), opts: { fields: { kind: 'model' } } },
    ];
    for (const { data, opts } of cases) {
      const up = await upload(node, user.token, data, opts);
      expect(up.status, JSON.stringify(opts)).toBe(415);
      expect(up.body).toMatchObject({ error: { reason: 'unsupported_media_type' } });
    }
    const after = await call<{ assets: unknown[] }>(node, 'GET', '/api/v4/assets?limit=500', {
      token: user.token,
    });
    expect(after.body.assets.length).toBe(listed);
    // Sniffing happens before the first block is written.
    expect(await countBlocks(node)).toBe(before);
  });

  it('accepts glTF JSON as a model', async () => {
    const gltf = new TextEncoder().encode(' {"asset": {"version": "2.0"}, "scenes": []}');
    const up = await upload(node, user.token, gltf, { fields: { kind: 'model' } });
    expect(up.status).toBe(201);
    expect(up.body.mime).toBe('model/gltf+json');
  });

  it('refuses an upload over the kind limit with 413 and records nothing (streamed and announced)', async () => {
    const listed = async () =>
      (
        await call<{ assets: unknown[] }>(node, 'GET', '/api/v4/assets?limit=500&kind=image', {
          token: user.token,
        })
      ).body.assets.length;
    const before = await listed();
    // 150 KiB: under limit + multipart allowance, so it is refused while streaming; 2 MiB up front.
    for (const size of [150 * 1024, 2 * 1024 * 1024]) {
      const up = await upload(node, user.token, png(size, `big-${size}`), { path: '/media/upload/image' });
      expect(up.status, String(size)).toBe(413);
      expect(up.body).toMatchObject({ error: { reason: 'asset_too_large' } });
    }
    expect(await listed()).toBe(before);
    // The node still works after an aborted upload.
    expect(
      (await upload(node, user.token, png(50 * 1024, 'fits'), { path: '/media/upload/image' })).status,
    ).toBe(200);
  });

  it('lists assets a bounded page at a time', async () => {
    const page = await call<{ assets: { cid: string }[]; next?: string }>(
      node,
      'GET',
      '/api/v4/assets?limit=2',
      {
        token: user.token,
      },
    );
    expect(page.body.assets).toHaveLength(2);
    const rest = await call<{ assets: { cid: string }[] }>(
      node,
      'GET',
      `/api/v4/assets?after=${page.body.next}`,
      {
        token: user.token,
      },
    );
    expect(rest.body.assets.map((a) => a.cid)).not.toContain(page.body.assets[0].cid);
    expect((await call(node, 'GET', '/api/v4/assets?limit=100000', { token: user.token })).status).toBe(400);
    expect((await call(node, 'GET', '/api/v4/assets')).status).toBe(401);
    const mine = await call<{ assets: { uploader_id: string }[] }>(node, 'GET', '/api/v4/assets?mine=true', {
      token: user.token,
    });
    expect(mine.body.assets.every((a) => a.uploader_id === user.id)).toBe(true);
  });
});
