/**
 * The starter assets a fresh node ships: small glTF-binary shapes and a sky image, generated here so
 * that the repository carries no binary files and every node makes byte-identical files (hence the same
 * CIDs everywhere). The writers are minimal but valid: glTF 2.0 (one mesh, positions, normals, indices)
 * and PNG (8-bit RGB, uncompressed deflate blocks: a compressor's output may change between zlib versions,
 * stored blocks never do).
 */
import { crc32 } from 'node:zlib';

type Vec3 = [number, number, number];

interface Mesh {
  positions: number[];
  normals: number[];
  indices: number[];
}

/** A mesh of flat-shaded faces: each face's vertices get the face's normal. Faces are convex, CCW from outside. */
function flatMesh(faces: Vec3[][]): Mesh {
  const mesh: Mesh = { positions: [], normals: [], indices: [] };
  for (const face of faces) {
    const [a, b, c] = face;
    const u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    const v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
    const n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
    const len = Math.hypot(n[0], n[1], n[2]);
    const base = mesh.positions.length / 3;
    for (const p of face) {
      mesh.positions.push(...p);
      mesh.normals.push(n[0] / len, n[1] / len, n[2] / len);
    }
    for (let i = 1; i < face.length - 1; i++) mesh.indices.push(base, base + i, base + i + 1);
  }
  return mesh;
}

/** A unit cube centred on the origin. */
export function cubeMesh(): Mesh {
  const h = 0.5;
  const c = (x: number, y: number, z: number): Vec3 => [x * h, y * h, z * h];
  return flatMesh([
    [c(1, -1, -1), c(1, 1, -1), c(1, 1, 1), c(1, -1, 1)],
    [c(-1, -1, 1), c(-1, 1, 1), c(-1, 1, -1), c(-1, -1, -1)],
    [c(-1, 1, 1), c(1, 1, 1), c(1, 1, -1), c(-1, 1, -1)],
    [c(-1, -1, -1), c(1, -1, -1), c(1, -1, 1), c(-1, -1, 1)],
    [c(-1, -1, 1), c(1, -1, 1), c(1, 1, 1), c(-1, 1, 1)],
    [c(1, -1, -1), c(-1, -1, -1), c(-1, 1, -1), c(1, 1, -1)],
  ]);
}

/** A square pyramid, base 1×1 at y = -0.5, apex at y = 0.5. */
export function pyramidMesh(): Mesh {
  const apex: Vec3 = [0, 0.5, 0];
  const b = (x: number, z: number): Vec3 => [x * 0.5, -0.5, z * 0.5];
  return flatMesh([
    [b(-1, -1), b(1, -1), b(1, 1), b(-1, 1)],
    [b(-1, 1), b(1, 1), apex],
    [b(1, 1), b(1, -1), apex],
    [b(1, -1), b(-1, -1), apex],
    [b(-1, -1), b(-1, 1), apex],
  ]);
}

const pad4 = (n: number) => (n + 3) & ~3;

/** A GLB (glTF 2.0 binary) with one node and one mesh of a plain white material. */
export function glb(mesh: Mesh, name: string): Uint8Array {
  const count = mesh.positions.length / 3;
  const positions = new Float32Array(mesh.positions);
  const normals = new Float32Array(mesh.normals);
  const indices = new Uint16Array(mesh.indices);
  const min: Vec3 = [Infinity, Infinity, Infinity];
  const max: Vec3 = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < positions.length; i++) {
    min[i % 3] = Math.min(min[i % 3], positions[i]);
    max[i % 3] = Math.max(max[i % 3], positions[i]);
  }
  const views = [positions, normals, indices];
  const offsets: number[] = [];
  let binLength = 0;
  for (const view of views) {
    offsets.push(binLength);
    binLength = pad4(binLength + view.byteLength);
  }
  const json = {
    asset: { version: '2.0', generator: 'odyssey-node starter assets' },
    scene: 0,
    scenes: [{ nodes: [0] }],
    nodes: [{ mesh: 0, name }],
    meshes: [
      { name, primitives: [{ attributes: { POSITION: 0, NORMAL: 1 }, indices: 2, material: 0, mode: 4 }] },
    ],
    materials: [
      { name: 'white', pbrMetallicRoughness: { baseColorFactor: [1, 1, 1, 1], metallicFactor: 0 } },
    ],
    buffers: [{ byteLength: binLength }],
    bufferViews: [
      { buffer: 0, byteOffset: offsets[0], byteLength: positions.byteLength, target: 34962 },
      { buffer: 0, byteOffset: offsets[1], byteLength: normals.byteLength, target: 34962 },
      { buffer: 0, byteOffset: offsets[2], byteLength: indices.byteLength, target: 34963 },
    ],
    accessors: [
      { bufferView: 0, componentType: 5126, count, type: 'VEC3', min, max },
      { bufferView: 1, componentType: 5126, count, type: 'VEC3' },
      { bufferView: 2, componentType: 5123, count: indices.length, type: 'SCALAR' },
    ],
  };
  // The JSON chunk is padded with spaces, the binary chunk with zeros (glTF 2.0, "GLB File Format").
  const jsonText = Buffer.from(JSON.stringify(json));
  const jsonChunk = Buffer.alloc(pad4(jsonText.length), 0x20);
  jsonText.copy(jsonChunk);
  const bin = Buffer.alloc(binLength);
  views.forEach((view, i) => {
    Buffer.from(view.buffer, view.byteOffset, view.byteLength).copy(bin, offsets[i]);
  });
  const out = Buffer.alloc(12 + 8 + jsonChunk.length + 8 + bin.length);
  out.write('glTF', 0, 'latin1');
  out.writeUInt32LE(2, 4);
  out.writeUInt32LE(out.length, 8);
  out.writeUInt32LE(jsonChunk.length, 12);
  out.write('JSON', 16, 'latin1');
  jsonChunk.copy(out, 20);
  const binAt = 20 + jsonChunk.length;
  out.writeUInt32LE(bin.length, binAt);
  out.write('BIN\0', binAt + 4, 'latin1');
  bin.copy(out, binAt + 8);
  return new Uint8Array(out);
}

/** zlib stream of stored (uncompressed) deflate blocks: byte-identical on every Node and zlib. */
function zlibStored(data: Buffer): Buffer {
  const blocks: Buffer[] = [Buffer.from([0x78, 0x01])];
  for (let at = 0; at < data.length || at === 0; at += 65535) {
    const part = data.subarray(at, at + 65535);
    const head = Buffer.alloc(5);
    head[0] = at + 65535 >= data.length ? 1 : 0; // BFINAL on the last block, BTYPE 00
    head.writeUInt16LE(part.length, 1);
    head.writeUInt16LE(~part.length & 0xffff, 3);
    blocks.push(head, part);
    if (!data.length) break;
  }
  let a = 1;
  let b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE(((b << 16) | a) >>> 0);
  blocks.push(adler);
  return Buffer.concat(blocks);
}

/** An 8-bit RGB PNG from a pixel function. */
export function png(width: number, height: number, pixel: (x: number, y: number) => Vec3): Uint8Array {
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const at = y * (width * 3 + 1); // each row starts with filter type 0 (none)
    for (let x = 0; x < width; x++) rows.set(pixel(x, y), at + 1 + x * 3);
  }
  const chunk = (type: string, data: Buffer) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'latin1');
    data.copy(out, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter method, no interlace
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', zlibStored(rows)),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  );
}

/** An equirectangular sky: deep blue at the zenith, pale at the horizon, a warm glow below it. */
export function skyPng(width = 256, height = 128): Uint8Array {
  const zenith: Vec3 = [38, 84, 160];
  const horizon: Vec3 = [200, 222, 240];
  const ground: Vec3 = [120, 110, 96];
  const mix = (a: Vec3, b: Vec3, t: number): Vec3 =>
    [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t)) as Vec3;
  return png(width, height, (_x, y) => {
    const v = y / (height - 1); // 0 at the top (zenith), 0.5 at the horizon
    return v < 0.5
      ? mix(zenith, horizon, (v / 0.5) ** 1.5)
      : mix(horizon, ground, Math.min(1, (v - 0.5) * 6));
  });
}
