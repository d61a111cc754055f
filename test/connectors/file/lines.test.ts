import { describe, expect, it } from 'vitest';
import { LineCursor, lineItems } from '../../../connectors/file/lines.js';

async function* chunksOf(text: string | Buffer, size: number): AsyncGenerator<Buffer> {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** Every line the cursor stops at, with its number; over-long lines as `long(<bytes>)`. */
async function lines(text: string | Buffer, chunkSize: number, max = 1 << 20): Promise<string[]> {
  const out: string[] = [];
  const cursor = new LineCursor();
  for await (const item of lineItems(chunksOf(text, chunkSize), max)) {
    if (item.kind === 'long') {
      out.push(`${cursor.skipLine()}:long(${item.bytes}):${item.head.slice(0, 3)}`);
      continue;
    }
    cursor.load(item.text);
    while (cursor.next()) out.push(`${cursor.line}:${cursor.current()}`);
  }
  return out;
}

describe('lineItems and LineCursor', () => {
  const text = 'alpha\nbeta\r\n\n  \ngamma é\r\ndelta';

  it.each([1, 2, 3, 5, 7, 64])('numbers lines the same whatever the chunk size (%i bytes)', async (size) => {
    expect(await lines(text, size)).toEqual(['1:alpha', '2:beta', '5:gamma é', '6:delta']);
  });

  it('drops a UTF-8 byte-order mark at the start only', async () => {
    expect(await lines('\ufeffa\n\ufeffb\n', 2)).toEqual(['1:a', '2:\ufeffb']);
  });

  it('does not invent a line after a final line break', async () => {
    expect(await lines('a\nb\n', 3)).toEqual(['1:a', '2:b']);
    expect(await lines('', 3)).toEqual([]);
  });

  it('refuses lines over the limit without losing count, whatever the chunking', async () => {
    const long = 'x'.repeat(25);
    const input = `ok1\n${long}\nok3\r\n${'y'.repeat(10)}\n${long}`;
    for (const size of [1, 4, 10, 11, 30, 1000]) {
      expect(await lines(input, size, 10)).toEqual(['1:ok1', '2:long(25):xxx', '3:ok3', '4:yyyyyyyyyy', '5:long(25):xxx']);
    }
  });

  it('keeps only the head of a huge line', async () => {
    const input = Buffer.concat([Buffer.from('a\n'), Buffer.alloc(3 << 20, 0x7a), Buffer.from('\nb\n')]);
    const cursor = new LineCursor();
    const items = [];
    for await (const item of lineItems(chunksOf(input, 1 << 20), 1 << 20)) {
      items.push(item.kind === 'long' ? { kind: 'long', bytes: item.bytes, head: item.head.length, line: cursor.skipLine() } : item);
      if (item.kind === 'text') { cursor.load(item.text); while (cursor.next()); }
    }
    expect(items).toContainEqual({ kind: 'long', bytes: 3 << 20, head: 16 * 1024, line: 2 });
  });

  it('decodes multi-byte characters split across chunks', async () => {
    expect(await lines('héllo wörld ✓\nnext\n', 1)).toEqual(['1:héllo wörld ✓', '2:next']);
  });
});
