import { describe, expect, it } from 'vitest';
import { ArrowPayloadReader } from '../../../connectors/nats/arrowPayload.js';
import type { SampleBatch } from '../../../engine/telemetry/schema.js';
import { rowObject } from '../../../engine/telemetry/schema.js';
import { testContext } from '../../helpers/samples.js';
import { arrowBytes } from './fixtures.js';

const dictionaryOf = (b: SampleBatch, name: 'host' | 'process') => b.data.getChild(name)!.data[0]!.dictionary!.data[0];

describe('ArrowPayloadReader', () => {
  it('gives a message the dictionary object of an earlier one with the same entries, and only then', () => {
    const { ctx } = testContext();
    const reader = new ArrowPayloadReader(ctx.deadLetter);
    const rows = (rss: number) => [
      { ts: 1000, host: 'h1', component: 'api', rss },
      { ts: 1000, host: 'h2', component: 'api', rss: rss + 1 },
    ];
    const out: SampleBatch[] = [];
    reader.read(arrowBytes(rows(10)), { subject: 's', seq: 1 }, out);
    reader.read(arrowBytes(rows(20)), { subject: 's', seq: 2 }, out);
    reader.read(arrowBytes([{ ts: 1000, host: 'h1', component: 'api', rss: 5 }, { ts: 1000, host: 'h3', component: 'api', rss: 6 }]), { subject: 's', seq: 3 }, out);
    expect(dictionaryOf(out[1]!, 'host')).toBe(dictionaryOf(out[0]!, 'host'));
    expect(dictionaryOf(out[2]!, 'host')).not.toBe(dictionaryOf(out[0]!, 'host'));
    // Sharing changes no value.
    expect(out.flatMap((b) => [0, 1].map((i) => rowObject(b.data, i).host))).toEqual(['h1', 'h2', 'h1', 'h2', 'h1', 'h3']);
    expect(out.map((b) => rowObject(b.data, 1).rss)).toEqual([11, 21, 6]);
  });
});
