import { isAscii } from 'node:buffer';

/** Longest line kept, in bytes without its line break; longer lines are refused, not buffered. */
export const MAX_LINE_BYTES = 1 << 20;

/** Characters of an over-long line kept for its dead letter. */
const LONG_LINE_HEAD = 16 * 1024;

/**
 * What a text file is cut into: decoded runs of whole lines, and lines too long to
 * keep. A `text` item holds one or more complete lines joined by '\n' (the last one
 * without its break), so `k` breaks inside it mean `k + 1` lines; LineCursor walks
 * them and numbers them.
 */
export type LineItem =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'long'; readonly head: string; readonly bytes: number };

/** A LineItem before decoding: `bytes` holds whole lines as `text` does. */
export type ByteLineItem =
  | { readonly kind: 'bytes'; readonly bytes: Buffer }
  | { readonly kind: 'long'; readonly head: string; readonly bytes: number };

/** Text of UTF-8 bytes; cutting at line breaks (or any ASCII byte) does not change what the pieces decode to. */
export function decode(buf: Buffer, start: number, end: number): string {
  // A pure-ASCII run decodes about 4x faster as latin1, with the same result.
  return isAscii(buf.subarray(start, end)) ? buf.toString('latin1', start, end) : buf.toString('utf8', start, end);
}

/**
 * Splits a byte stream into LineItems without ever holding more than one chunk plus
 * one partial line (at most `maxLineBytes`): a line that grows past the limit is
 * reported with its head and skipped to its end. A UTF-8 byte-order mark at the very
 * start is dropped. '\n' ends a line; a '\r' before it is left for the cursor to drop.
 */
export async function* lineItems(chunks: AsyncIterable<Buffer>, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<LineItem> {
  for await (const item of byteLineItems(chunks, maxLineBytes)) {
    yield item.kind === 'bytes' ? { kind: 'text', text: decode(item.bytes, 0, item.bytes.length) } : item;
  }
}

/** lineItems before decoding, for readers that work on the bytes. */
export async function* byteLineItems(chunks: AsyncIterable<Buffer>, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<ByteLineItem> {
  if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) throw new RangeError(`"maxLineBytes" must be a positive integer, got ${maxLineBytes}`);
  let first = true;
  for await (const item of splitLines(chunks, maxLineBytes)) {
    // A byte-order mark may be split across chunks: it is looked for in the first run of lines.
    const bytes = item.kind === 'bytes' ? item.bytes : null;
    if (first && bytes !== null && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      yield { kind: 'bytes', bytes: bytes.subarray(3) };
    } else {
      yield item;
    }
    first = false;
  }
}

async function* splitLines(chunks: AsyncIterable<Buffer>, maxLineBytes: number): AsyncGenerator<ByteLineItem> {
  const carry: Buffer[] = [];
  let carryBytes = 0;
  // While inside an over-long line: its head and its length so far.
  let longHead: string | null = null;
  let longBytes = 0;
  for await (const whole of chunks) {
    // Pieces no longer than the limit: a line wholly inside one piece is then within it.
    for (let offset = 0; offset < whole.length; offset += maxLineBytes) {
      const chunk = whole.subarray(offset, offset + maxLineBytes);
      let from = 0;
      if (longHead !== null) {
        const nl = chunk.indexOf(10);
        if (nl < 0) {
          longBytes += chunk.length;
          continue;
        }
        yield { kind: 'long', head: longHead, bytes: longBytes + nl };
        longHead = null;
        from = nl + 1;
      }
      const firstBreak = chunk.indexOf(10, from);
      if (firstBreak < 0) {
        if (from < chunk.length) {
          carry.push(chunk.subarray(from));
          carryBytes += chunk.length - from;
        }
        if (carryBytes > maxLineBytes) {
          const joined = Buffer.concat(carry);
          longHead = joined.toString('utf8', 0, Math.min(joined.length, LONG_LINE_HEAD));
          longBytes = joined.length;
          carry.length = 0;
          carryBytes = 0;
        }
        continue;
      }
      if (carryBytes > 0) {
        // The line begun in an earlier chunk ends here.
        carry.push(chunk.subarray(from, firstBreak));
        const joined = Buffer.concat(carry);
        carry.length = 0;
        carryBytes = 0;
        if (joined.length > maxLineBytes) {
          yield { kind: 'long', head: joined.toString('utf8', 0, LONG_LINE_HEAD), bytes: joined.length };
        } else {
          yield { kind: 'bytes', bytes: joined };
        }
        from = firstBreak + 1;
      }
      const lastBreak = chunk.lastIndexOf(10);
      if (lastBreak >= from) yield { kind: 'bytes', bytes: chunk.subarray(from, lastBreak) };
      if (lastBreak + 1 < chunk.length) {
        carry.push(chunk.subarray(lastBreak + 1));
        carryBytes += chunk.length - lastBreak - 1;
      }
    }
  }
  if (longHead !== null) {
    yield { kind: 'long', head: longHead, bytes: longBytes };
  } else if (carryBytes > 0) {
    const joined = Buffer.concat(carry);
    yield { kind: 'bytes', bytes: joined };
  }
}

/**
 * Walks the lines of LineItems in order and numbers them from 1, counting empty and
 * over-long lines too, so that reported numbers match what an editor shows.
 */
export class LineCursor {
  /** Text of the current item; the current line is `text.slice(start, end)`. */
  text = '';
  start = 0;
  end = 0;
  /** 1-based number of the current line. */
  line = 0;
  private pos = 0;
  private done = true;

  /** Starts on a `text` item. */
  load(text: string): void {
    this.text = text;
    this.pos = 0;
    this.done = false;
  }

  /** Counts an over-long line and returns its number. */
  skipLine(): number {
    return ++this.line;
  }

  /** Moves to the next line holding more than white space; false once the item is used up. */
  next(): boolean {
    const text = this.text;
    while (!this.done) {
      const from = this.pos;
      let nl = text.indexOf('\n', from);
      if (nl < 0) {
        nl = text.length;
        this.done = true;
      }
      this.pos = nl + 1;
      this.line++;
      let end = nl;
      if (end > from && text.charCodeAt(end - 1) === 13) end--;
      if (end > from && (text.charCodeAt(from) > 32 || !blank(text, from, end))) {
        this.start = from;
        this.end = end;
        return true;
      }
    }
    return false;
  }

  /** The current line as a string. */
  current(): string {
    return this.text.slice(this.start, this.end);
  }
}

function blank(text: string, from: number, end: number): boolean {
  for (let i = from; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}
