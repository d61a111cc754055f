import { describe, expect, it } from 'vitest';
import { compile } from '../../../engine/pipeline/compile.js';
import { toDot, toMermaid } from '../../../engine/pipeline/graph.js';
import { fakeRegistry } from './fakes.js';

const small = () =>
  compile(
    {
      name: 'small',
      nodes: {
        samples: { type: 'simulator' },
        hourly: { type: 'rollup', inputs: ['samples'] },
        store: { type: 'rollup-store', inputs: ['hourly'] },
      },
    },
    fakeRegistry(),
  );

describe('toMermaid', () => {
  it('draws a left-to-right flowchart with kinds distinct and port types on edges', () => {
    expect(toMermaid(small())).toBe(
      [
        'flowchart LR',
        '  n0(["samples<br/>simulator"]):::source',
        '  n1["hourly<br/>rollup"]:::operator',
        '  n2[("store<br/>rollup-store")]:::sink',
        '  n0 -->|samples| n1',
        '  n1 -->|rollups| n2',
        '  classDef source fill:#e3f2fd,stroke:#1565c0',
        '  classDef operator fill:#fafafa,stroke:#616161',
        '  classDef sink fill:#fff3e0,stroke:#ef6c00',
        '',
      ].join('\n'),
    );
  });

  it('keeps ids that are Mermaid keywords out of the syntax', () => {
    const graph = compile(
      { name: 'kw', nodes: { end: { type: 'simulator' }, o: { type: 'rollup', inputs: ['end'] }, x: { type: 'rollup-store', inputs: ['o'] } } },
      fakeRegistry(),
    );
    const text = toMermaid(graph);
    expect(text).toContain('n0(["end<br/>simulator"])');
    expect(text).toContain('n0 -->|samples| n1');
    expect(text).not.toMatch(/^\s*end\b/m);
  });
});

describe('toDot', () => {
  it('writes a digraph with shaped nodes and labelled edges', () => {
    expect(toDot(small())).toBe(
      [
        'digraph "small" {',
        '  rankdir=LR;',
        '  node [fontname="Helvetica"];',
        '  "samples" [label="samples\\nsimulator", shape=invhouse, style=filled, fillcolor="#e3f2fd"];',
        '  "hourly" [label="hourly\\nrollup", shape=box];',
        '  "store" [label="store\\nrollup-store", shape=house, style=filled, fillcolor="#fff3e0"];',
        '  "samples" -> "hourly" [label="samples"];',
        '  "hourly" -> "store" [label="rollups"];',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('escapes quotes in the graph name', () => {
    const graph = { ...small(), name: 'say "hi"' };
    expect(toDot(graph).split('\n')[0]).toBe('digraph "say \\"hi\\"" {');
  });
});
