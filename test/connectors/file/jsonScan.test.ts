import { describe, expect, it } from 'vitest';
import { scanFlatObject } from '../../../connectors/file/jsonScan.js';
import { emptyRaw, rawFromObject } from '../../../engine/telemetry/validate.js';
import { mutate, seeded } from './files.js';

/** What JSON.parse makes of the line, in the scanner's terms; 'invalid' when it throws or is not an object. */
function viaParse(line: string): unknown {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'invalid';
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'invalid';
  const raw = emptyRaw();
  rawFromObject(v as Record<string, unknown>, raw);
  return raw;
}

function agrees(line: string): void {
  const raw = emptyRaw();
  if (!scanFlatObject(line, 0, line.length, raw)) return; // declined: JSON.parse decides
  expect(raw, line).toEqual(viaParse(line));
}

const LINE = '{"ts":1767225600000,"host":"node-00042","component":"hostagent","process":"hostagent","pid":4312,"rss":231211008,"host_mem":68719476736}';

describe('scanFlatObject', () => {
  it('reads the common line exactly as JSON.parse does', () => {
    const raw = emptyRaw();
    expect(scanFlatObject(LINE, 0, LINE.length, raw)).toBe(true);
    expect(raw).toEqual(viaParse(LINE));
  });

  it('reads a line in the middle of a larger text', () => {
    const text = `garbage\n${LINE}\nmore`;
    const raw = emptyRaw();
    expect(scanFlatObject(text, 8, 8 + LINE.length, raw)).toBe(true);
    expect(raw.host).toBe('node-00042');
  });

  it.each([
    '{}', ' { } ', '{"ts":-0}', '{"ts":0,"rss":1.5e3,"pid":-12}', '{"rss":1e999}', '{"rss":-1E+2}', '{"rss":123456789012345678}',
    '{"rss":0.000001}', '{"host":null,"pid":true,"rss":false}', '{"ts":1,"ts":2}', '{"unknown":"x","ts":5}',
    '{"tx":1,"hosts":"a","rs":2,"pidx":3}', '{"host_mem2":1,"hostmem":2,"componentX":"a","clusters":"b","processes":"c","regionX":"d","versions":"e","ts ":1,"pi":2,"h":3}', '{ "ts" : 1 , "host" : "a b" }', '{"host":"ünï✓"}',
    '{"host":"a\\"b"}', '{"host":"\\u0041"}', '{"t\\u0073":1}', '{"extra":{"a":1},"ts":1}', '{"extra":[1,2],"ts":1}',
  ])('agrees with JSON.parse on %s', (line) => agrees(line));

  it.each([
    '', '{', '}', '[1]', '"ts"', '{"ts":1', '{"ts":1,}', '{"ts":01}', '{"ts":1.}', '{"ts":.5}', '{"ts":1e}', '{"ts":-}',
    '{"ts":+1}', '{"ts":1}x', '{"ts":nul}', '{"ts":NaN}', '{"ts":Infinity}', '{ts:1}', "{'ts':1}", '{"host":"a\tb"}',
    '{"ts":1 "rss":2}', '{"ts" 1}', '{"ts":truex}',
  ])('never accepts what JSON.parse refuses: %j', (line) => {
    const raw = emptyRaw();
    const scanned = scanFlatObject(line, 0, line.length, raw);
    if (viaParse(line) === 'invalid') expect(scanned).toBe(false);
    else agrees(line);
  });

  it('agrees with JSON.parse on thousands of mutated lines', () => {
    const rand = seeded(7);
    const alphabet = '{}[]":,.-+eE0123456789 \\tnulrsfa\t\u00e9';
    for (let k = 0; k < 20_000; k++) {
      const line = mutate(LINE, alphabet, rand);
      const raw = emptyRaw();
      const scanned = scanFlatObject(line, 0, line.length, raw);
      const parsed = viaParse(line);
      if (scanned) expect(raw, line).toEqual(parsed);
    }
  });
});
