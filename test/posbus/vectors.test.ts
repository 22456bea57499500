/**
 * The shared vector file (SPEC.md §9) through scripts/posbus-vectors.ts: as a child process (exit code and
 * report lines) and in-process via its `checkVector`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decode, encode } from '../../protocol/posbus/index.ts';
import { checkVector } from '../../scripts/posbus-vectors.ts';
import { bytes, hex, loadVectors, REPO_ROOT, SPEC_TYPE_IDS, VECTORS_PATH, type Vector } from './helpers.ts';

const SCRIPT = join(REPO_ROOT, 'scripts/posbus-vectors.ts');
// Node 24 runs .ts directly; vitest started through npm/npx already runs on it, a bare `vitest` may not.
const LOCAL_NODE = join(REPO_ROOT, 'node_modules/.bin/node');
const NODE = existsSync(LOCAL_NODE) ? LOCAL_NODE : process.execPath;

const vectors = loadVectors();

function runScript(path: string) {
  const r = spawnSync(NODE, [SCRIPT, path], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 20_000 });
  const lines = r.stdout.trimEnd().split('\n');
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, lines, last: lines[lines.length - 1] };
}

describe('vector file', () => {
  it('holds vectors for every message type of SPEC.md §5, with its type ids', () => {
    expect(vectors.length).toBeGreaterThan(0);
    expect(new Set(vectors.map((v) => v.message))).toEqual(new Set(Object.keys(SPEC_TYPE_IDS)));
    for (const v of vectors) {
      expect(Number.parseInt(v.type_id, 16)).toBe(SPEC_TYPE_IDS[v.message as keyof typeof SPEC_TYPE_IDS]);
    }
  });
});

describe('scripts/posbus-vectors.ts as a process', () => {
  it(`passes every vector of ${VECTORS_PATH}`, () => {
    const r = runScript(VECTORS_PATH);
    expect(r.stderr).toBe('');
    expect(r.last).toBe(`${vectors.length} passed, 0 failed`);
    expect(r.lines).toHaveLength(1);
    expect(r.status).toBe(0);
  });

  describe('with a corrupted copy', () => {
    const dir = mkdtempSync(join(tmpdir(), 'posbus-vectors-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    // Vector A: flip every bit of the first body byte (the first byte of FlyToMe's `pilot` UMID).
    const a = vectors.findIndex((v) => v.message === 'FlyToMe');
    const original = bytes(vectors[a].hex);
    const corrupted = original.slice();
    corrupted[4] ^= 0xff;
    // Vector B: change HighFive's `message` field; its length prefix sits after two UMIDs (4 + 16 + 16).
    const b = vectors.findIndex((v) => v.message === 'HighFive');
    const oldMessage = vectors[b].fields.message as string;
    const newMessage = `${oldMessage}?`;

    const copy: Vector[] = structuredClone(vectors);
    copy[a].hex = hex(corrupted);
    copy[b].fields.message = newMessage;
    const path = join(dir, 'vectors.json');
    writeFileSync(path, JSON.stringify(copy));
    let result: ReturnType<typeof runScript> | undefined;
    const corruptedRun = () => {
      result ??= runScript(path);
      return result;
    };

    it('exits non-zero and counts the two failures', () => {
      const r = corruptedRun();
      expect(r.status).not.toBe(0);
      expect(r.last).toBe(`${vectors.length - 2} passed, 2 failed`);
    });

    it('names the vector whose hex changed, with the first differing byte and field', () => {
      const { lines } = corruptedRun();
      const label = `FlyToMe #${a}`;
      const want = hex(corrupted.subarray(4, 5));
      const got = hex(original.subarray(4, 5));
      expect(lines).toContain(
        `${label} encode: first differing byte at offset 4: expected ${want}, got ${got}`,
      );
      const pilot = vectors[a].fields.pilot as string;
      const decodedPilot = want + pilot.slice(2);
      expect(lines).toContain(`${label} decode: fields.pilot: expected "${pilot}", got "${decodedPilot}"`);
    });

    it('names the vector whose fields changed, with the field and the first differing byte', () => {
      const { lines } = corruptedRun();
      const label = `HighFive #${b}`;
      expect(lines).toContain(
        `${label} decode: fields.message: expected ${JSON.stringify(newMessage)}, got ${JSON.stringify(oldMessage)}`,
      );
      expect(lines.some((l) => l.startsWith(`${label} encode: first differing byte at offset 36:`))).toBe(
        true,
      );
      // Only the two corrupted vectors are reported.
      const reported = new Set(lines.slice(0, -1).map((l) => l.split(' ').slice(0, 2).join(' ')));
      expect(reported).toEqual(new Set([`FlyToMe #${a}`, label]));
    });
  });

  it('exits with 2 and a usage message without a file argument', () => {
    const r = spawnSync(NODE, [SCRIPT], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage/);
  });
});

describe('checkVector in-process', () => {
  it.each(vectors.map((v, i) => [`${v.message} #${i}`, v, i] as const))('%s', (_label, v, i) => {
    expect(checkVector(v, i)).toEqual([]);
    // And directly through the public API: the frame re-encodes to itself.
    const f = bytes(v.hex);
    expect(hex(encode(decode(f)))).toBe(v.hex);
  });

  it('reports a vector whose type_id is not the message type’s', () => {
    const v = { ...vectors[0], type_id: '0x00000001' };
    expect(checkVector(v, 0)).toEqual([`${v.message} #0: type_id 0x00000001 is not ours`]);
  });

  it('reports an unknown message name', () => {
    const v = { ...vectors[0], message: 'NoSuchMessage' };
    expect(checkVector(v, 7)).toEqual(['NoSuchMessage #7: unknown message type']);
  });

  it('reports a vector whose frame does not decode', () => {
    const v = { ...vectors[0], hex: vectors[0].hex.slice(0, 10) };
    const failures = checkVector(v, 0);
    expect(failures[0]).toMatch(/ decode: posbus decode: frame-too-short/);
    expect(failures[1]).toMatch(/ encode: first differing byte at offset 5: expected end of frame/);
  });
});

describe('float32 is judged by the message schema, not by key names', () => {
  const target = '9b1c7a0e-0d2f-4e58-b3a1-6c9d8e7f6a5b';
  const plugin = 'f0f0f0f0-0f0f-4ff0-af0f-f0f0f0f0f0f0';
  // An AnyMap value shaped {x,y,z}: the wire carries these as float64, not float32.
  const anyMapVector = (fields: { x: number; y: number; z: number }): Vector => {
    const frame = encode({
      type: 'AttributeValueChanged',
      pluginId: plugin,
      attributeName: 'spot',
      changeType: 'attribute_changed',
      value: { x: 0.1, y: -2.5e-7, z: 1e300 },
      targetId: target,
    } as never);
    return {
      message: 'AttributeValueChanged',
      type_id: '0x10DACDB7',
      fields: {
        plugin_id: plugin,
        attribute_name: 'spot',
        change_type: 'attribute_changed',
        value: fields,
        target_id: target,
      },
      hex: hex(frame),
    };
  };

  it('passes a float64 AnyMap value shaped {x,y,z} that the codec decodes exactly', () => {
    const v = anyMapVector({ x: 0.1, y: -2.5e-7, z: 1e300 });
    expect((decode(bytes(v.hex)) as { value: unknown }).value).toEqual({ x: 0.1, y: -2.5e-7, z: 1e300 });
    expect(checkVector(v, 0)).toEqual([]);
  });

  it('fails such a value when the fields hold its float32 rounding (float64 compares exactly)', () => {
    const v = anyMapVector({ x: Math.fround(0.1), y: -2.5e-7, z: 1e300 });
    expect(checkVector(v, 0).join('\n')).toMatch(/decode: fields\.value\.x: expected/);
  });

  it('still rounds the Vec3 fields of the schema to float32 (MyTransform, AddObjects transforms)', () => {
    const transform = { position: { x: 0.1, y: 2, z: -3.3 }, rotation: { x: 0, y: 0.7, z: 0 } };
    const frame = encode({ type: 'MyTransform', ...transform } as never);
    expect(
      checkVector({ message: 'MyTransform', type_id: '0xF878C4BF', fields: transform, hex: hex(frame) }, 0),
    ).toEqual([]);
    // A float32 field off by more than the rounding is still caught.
    const off = structuredClone(transform);
    off.position.x = 0.11;
    expect(
      checkVector({ message: 'MyTransform', type_id: '0xF878C4BF', fields: off, hex: hex(frame) }, 0).join(
        '\n',
      ),
    ).toMatch(/decode: fields\.position\.x/);
  });
});
