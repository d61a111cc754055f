import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { writeFixture } from '../../../bench/fixtures.js';
import { ByteStrings } from '../../../connectors/file/byteStrings.js';
import { ScannedSample, scanSample } from '../../../connectors/file/ndjsonScan.js';
import { SampleBatchBuilder } from '../../../engine/telemetry/builder.js';
import { emptyRaw, rawFromObject, SampleRow, validateSample } from '../../../engine/telemetry/validate.js';
import { mutate, seeded, tempDir } from './files.js';

const path = tempDir('ndjson-scan');

const LINE = '{"ts":1767225600000,"host":"node-00042","component":"hostagent","process":"hostagent","pid":4312,"rss":231211008,"host_mem":68719476736}';

/** The scanned sample as the general reader's SampleRow would hold it; null when declined. */
function scan(line: string | Buffer, strings = new ByteStrings()): { row: Record<string, unknown>; stop: number } | null {
  const buf = typeof line === 'string' ? Buffer.from(line) : line;
  const out = new ScannedSample();
  const stop = scanSample(buf, 0, buf.length, strings, out);
  if (stop < 0) return null;
  const str = (e: number) => (e < 0 ? null : strings.stringOf(e));
  return {
    stop,
    row: {
      ts: out.ts, host: str(out.host), component: str(out.component), process: str(out.process), pid: out.pid, rss: out.rss,
      host_mem: out.host_mem, region: str(out.region), cluster: str(out.cluster), version: str(out.version),
    },
  };
}

/** What JSON.parse and validation make of the line (decoded as the reader decodes it); null when refused. */
function general(line: string | Buffer): Record<string, unknown> | null {
  const text = typeof line === 'string' ? line : line.toString('utf8');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const raw = emptyRaw();
  rawFromObject(v as Record<string, unknown>, raw);
  const row = new SampleRow();
  if (validateSample(raw, row) !== null) return null;
  return { ...row };
}

function agrees(line: string | Buffer): void {
  const s = scan(line);
  if (s === null) return; // declined: the general reader decides
  expect(s.row, String(line)).toEqual(general(line));
}

describe('scanSample', () => {
  it('reads the common line exactly as JSON.parse and validation do', () => {
    const s = scan(LINE);
    expect(s).not.toBeNull();
    expect(s!.stop).toBe(LINE.length);
    expect(s!.row).toEqual(general(LINE));
    expect(s!.row).toMatchObject({ ts: 1767225600000, host: 'node-00042', region: null, pid: 4312 });
  });

  it('stops at the line break, after trailing white space and a carriage return', () => {
    const buf = Buffer.from(`${LINE} \t\r\n${LINE}`);
    expect(scan(buf)!.stop).toBe(LINE.length + 3);
    // A line break inside the object ends the line: the scanner never reads past it.
    expect(scan('{"ts":1,\n"host":"h","component":"c","rss":1}')).toBeNull();
  });

  it('reads a line in the middle of a buffer', () => {
    const buf = Buffer.from(`garbage\n${LINE}\nmore`);
    const out = new ScannedSample();
    const strings = new ByteStrings();
    expect(scanSample(buf, 8, buf.length, strings, out)).toBe(8 + LINE.length);
    expect(strings.stringOf(out.host)).toBe('node-00042');
  });

  it.each([
    '{"ts":0,"host":"h","component":"c","rss":0}',
    '{"ts":-0,"host":"h","component":"c","rss":-0}',
    '{ "ts" : 1 , "host" : "a b" , "component":"c" ,"rss":1.5e3 }',
    '\t{"ts":1,\t"host":"h",\r"component":"c","rss":1}\r',
    '{"rss":0.000001,"ts":1,"host":"h","component":"c"}',
    '{"ts":1,"host":"h","component":"c","rss":123456789012345678}',
    '{"ts":9007199254740991,"host":"h","component":"c","rss":1E+2,"host_mem":12.5e-1}',
    '{"ts":1,"host":"ünï✓","component":"c","rss":1,"region":"日本","version":"😀"}',
    '{"ts":1,"host":"h","component":"c","rss":1,"process":"","region":"","cluster":null,"version":null,"pid":null,"host_mem":null}',
    '{"ts":1,"host":"h","component":"c","rss":1,"unknown":"x","n":-1.5e9,"b":true,"f":false,"z":null}',
    '{"tx":1,"hosts":"a","rs":2,"pidx":3,"ts":1,"host":"h","component":"c","rss":1}',
    '{"host_mem2":1,"hostmem":2,"componentX":"a","clusters":"b","processes":"c","regionX":"d","versions":"e","ts ":1,"pi":2,"h":3,"ts":1,"host":"h","component":"c","rss":1}',
    '{"ts":1,"host":"h","component":"c","rss":1,"pid":2147483647}',
    '{"ts":1,"host":"\u007f","component":"c","rss":1}',
    `{"ts":1,"host":"${'x'.repeat(1024)}","component":"c","rss":1}`,
    `{"ts":1,"host":"${'é'.repeat(1024)}","component":"c","rss":1}`,
  ])('accepts, as JSON.parse reads it: %s', (line) => {
    expect(scan(line)).not.toBeNull();
    agrees(line);
  });

  it.each([
    // Not JSON, or not an object.
    '', '{', '}', '[1]', '"ts"', '42', 'null', '{"ts":1', '{"ts":1,}', '{"ts":01}', '{"ts":1.}', '{"ts":.5}', '{"ts":1e}', '{"ts":-}',
    '{"ts":+1}', '{"ts":1,"host":"h","component":"c","rss":1}x', '{"ts":nul}', '{"ts":NaN}', '{"ts":Infinity}', '{ts:1}', "{'ts':1}",
    '{"ts":1 "rss":2}', '{"ts" 1}', '{"x":truex}', '{"host":"a\tb"}', '{"host":"a', '{"ts":1,"host":"h","component":"c","rss":1}}',
    // Valid JSON that the general reader refuses as a sample.
    '{}', '{"host":"h","component":"c","rss":1}', '{"ts":1,"component":"c","rss":1}', '{"ts":1,"host":"h","rss":1}',
    '{"ts":1,"host":"h","component":"c"}', '{"ts":-1,"host":"h","component":"c","rss":1}', '{"ts":1.5,"host":"h","component":"c","rss":1}',
    '{"ts":1,"host":"h","component":"c","rss":1e999}', '{"ts":1,"host":"h","component":"c","rss":-1e999}', '{"ts":1e16,"host":"h","component":"c","rss":1}',
    '{"ts":"1","host":"h","component":"c","rss":1}', '{"ts":1,"host":1,"component":"c","rss":1}', '{"ts":1,"host":"","component":"c","rss":1}',
    '{"ts":1,"host":null,"component":"c","rss":1}', '{"ts":1,"host":"h","component":"c","rss":true}', '{"ts":1,"host":"h","component":"c","rss":1,"pid":-1}',
    '{"ts":1,"host":"h","component":"c","rss":1,"pid":2147483648}', '{"ts":1,"host":"h","component":"c","rss":1,"pid":1.5}',
    '{"ts":1,"host":"h","component":"c","rss":1,"host_mem":-5}', '{"ts":1,"host":"h","component":"c","rss":1,"region":5}',
    `{"ts":1,"host":"${'x'.repeat(1025)}","component":"c","rss":1}`, `{"ts":1,"host":"${'é'.repeat(1025)}","component":"c","rss":1}`,
  ])('declines what the general reader refuses: %j', (line) => {
    expect(general(line)).toBeNull();
    expect(scan(line)).toBeNull();
  });

  it.each([
    '{"ts":1,"host":"a\\"b","component":"c","rss":1}', '{"ts":1,"host":"\\u0041","component":"c","rss":1}',
    '{"t\\u0073":1,"host":"h","component":"c","rss":1}', '{"ts":1,"host":"h","component":"c","rss":1,"extra":{"a":1}}',
    '{"ts":1,"host":"h","component":"c","rss":1,"extra":[1,2]}', '{"ts":1,"ts":2,"host":"h","component":"c","rss":1}',
    '{"ts":1,"host":"h","component":"c","rss":1,"pid":null,"pid":3}', '{"ts":1,"host":"h","component":"c","rss":1,"k\\n":1}',
  ])('leaves to the general reader what it does not fully understand: %s', (line) => {
    expect(general(line)).not.toBeNull();
    expect(scan(line)).toBeNull();
  });

  it('reads every line of a fleet file itself, so that replay never needs JSON.parse for them', async () => {
    const truth = await writeFixture({ rows: 5000, format: 'ndjson', out: path('fleet.ndjson'), attrs: true, truthFile: false });
    const buf = readFileSync(truth.file);
    const strings = new ByteStrings();
    const out = new ScannedSample();
    let lines = 0;
    for (let at = 0; at < buf.length; lines++) {
      const stop = scanSample(buf, at, buf.length, strings, out);
      expect(stop, `line ${lines + 1}`).toBeGreaterThan(at);
      at = stop + 1;
    }
    expect(lines).toBe(5000);
    expect(strings.stringOf(out.region)).toMatch(/\w/);
  });

  it('reads strings from invalid UTF-8 as the reader decodes them, with replacement characters', () => {
    const line = Buffer.concat([Buffer.from('{"ts":1,"host":"a'), Buffer.from([0xff, 0xe2, 0x82]), Buffer.from('b","component":"c","rss":1}')]);
    expect(scan(line)!.row.host).toBe('a\ufffd\ufffdb');
    agrees(line);
  });

  it('agrees with JSON.parse and validation on thousands of mutated lines', () => {
    const rand = seeded(7);
    const alphabet = '{}[]":,.-+eE0123456789 \\tnulrsfa\t\r\u00e9_';
    let accepted = 0;
    for (let k = 0; k < 20_000; k++) {
      const line = mutate(LINE, alphabet, rand);
      const s = scan(line);
      if (s === null) continue;
      accepted++;
      expect(s.row, line).toEqual(general(line));
    }
    // Most single edits land in a value and leave a valid sample: the comparison is not vacuous.
    expect(accepted).toBeGreaterThan(5000);
  });
});

describe('ByteStrings', () => {
  const hashOf = (b: Buffer) => b.reduce((h, c) => (Math.imul(h, 31) + c) | 0, 0);
  const find = (strings: ByteStrings, s: string) => {
    const b = Buffer.from(`"${s}"`);
    return strings.find(b, 1, b.length - 1, hashOf(b.subarray(1, b.length - 1)));
  };

  it('gives one entry per distinct byte string, decoded once, across table growth', () => {
    const strings = new ByteStrings();
    const entries = Array.from({ length: 5000 }, (_, i) => find(strings, `host-${i}`));
    expect(new Set(entries).size).toBe(5000);
    for (let i = 0; i < 5000; i += 7) expect(find(strings, `host-${i}`)).toBe(entries[i]);
    expect(strings.stringOf(entries[1234]!)).toBe('host-1234');
    expect(strings.unitsOf(find(strings, 'é✓'))).toBe(2);
  });

  it('is bounded: once full it declines new values until trimmed between batches', () => {
    const strings = new ByteStrings(100, 1 << 20);
    for (let i = 0; i < 100; i++) expect(find(strings, `v${i}`)).toBeGreaterThanOrEqual(0);
    expect(find(strings, 'one more')).toBe(-1);
    expect(find(strings, 'v5')).toBeGreaterThanOrEqual(0);
    strings.trim();
    expect(strings.size).toBe(0);
    expect(find(strings, 'one more')).toBe(0);
    const bytes = new ByteStrings(1000, 64);
    expect(find(bytes, 'x'.repeat(60))).toBe(0);
    expect(find(bytes, 'y'.repeat(10))).toBe(-1);
  });

  it("keeps the builder's numbers for one batch only", () => {
    const strings = new ByteStrings();
    const builder = new SampleBatchBuilder('test', 10);
    const a = find(strings, 'a'), b = find(strings, 'b');
    expect([strings.id(b, 0, builder), strings.id(a, 0, builder), strings.id(b, 0, builder), strings.id(a, 1, builder)]).toEqual([0, 1, 0, 0]);
    builder.build();
    expect(strings.id(a, 0, builder)).toBe(0);
  });
});
