import { describe, expect, it } from 'vitest';
import { globSource, dumpSource, jemallocConf } from '../../../connectors/profilers/native/dumps.js';
import { dumpKind, objectAt, readDump } from '../../../connectors/profilers/native/heapProfile.js';
import { toSamples } from '../../../connectors/profilers/native/native-profiler.js';
import { parseStacks } from '../../../connectors/profilers/native/pprof.js';
import { toStacks } from '../../../connectors/profilers/node/samplingProfile.js';
import { AUTO_ORDER, createProfiler, PROFILERS } from '../../../engine/profilers.js';

const MAPS = `MAPPED_LIBRARIES:
55ac9f039000-55ac9f03a000 r--p 00000000 fe:00 2244698                    /srv/svc
55ac9f03a000-55ac9f03b000 r-xp 00001000 fe:00 2244698                    /srv/svc
7f1f94600000-7f1f94700000 r-xp 00000000 fe:00 339903                     /usr/lib/x86_64-linux-gnu/libjemalloc.so.2
`;

describe('jemalloc and gperftools dumps', () => {
  it('rewrites jemalloc heap_v2 into the gperftools layout, one line per stack with its all-thread total', () => {
    const raw = `heap_v2/524288\n  t*: 19: 82542 [0: 0]\n  t0: 19: 82542 [0: 0]\n@ 0x7f1f946a2630 0x55ac9f03a177\n  t*: 18: 73728 [0: 0]\n  t0: 18: 73728 [0: 0]\n\n${MAPS}`;
    const d = readDump(raw);
    expect(d.format).toBe('jemalloc');
    expect(d.text.split('\n').slice(0, 2)).toEqual(['heap profile: 19: 82542 [0: 0] @ heap_v2/524288', '18: 73728 [0: 0] @ 0x7f1f946a2630 0x55ac9f03a177']);
    expect(d.text).toContain('MAPPED_LIBRARIES:\n55ac9f039000-55ac9f03a000');
    expect(objectAt(d.mappings, 0x7f1f946a2630n)).toBe('/usr/lib/x86_64-linux-gnu/libjemalloc.so.2');
    expect(objectAt(d.mappings, 0x1n)).toBeNull();
    expect(() => readDump('not a profile')).toThrow(/not a jemalloc or gperftools/);
    expect([dumpKind('heap_v2/524288\n'), dumpKind('heap profile:    977:'), dumpKind('x')]).toEqual(['jemalloc', 'tcmalloc', null]);
  });

  it('parses google-pprof --stacks output and drops the allocator frames at the top of each stack', () => {
    const out = `Total: 9.6 MB\nStacks:\n\n9474095  (00007f1f946a2630) ??:0:malloc_usable_size\n         (000055ac9f03a176) /srv/leak.c:6:remember_session\n         (000055ac9f03a204) /srv/leak.c:9:main\n\n566534   (000055ac9f03a300) ??:0:operator new(unsigned long)\n         (000055ac9f03a310) /srv/a.cc:3:std::vector<int>::push(int const&)\n\nLeak of 9474095 bytes in 2313 objects allocated from:\n\t@ 7f1f946a2630 unknown\n`;
    const bytes = parseStacks(out);
    expect(bytes).toHaveLength(2);
    expect(bytes[1]!.frames[1]).toMatchObject({ function: 'std::vector<int>::push(int const&)', file: '/srv/a.cc', line: 3 });
    const objects = bytes.map((s) => ({ ...s, value: s.value === 9474095 ? 2313 : 7 }));
    const samples = toSamples(bytes, objects, readDump(`heap profile: 1: 1 [0: 0] @ heapprofile\n\n${MAPS}`).mappings);
    expect(samples).toEqual([
      { frames: [{ function: 'remember_session', file: '/srv/leak.c', line: 6 }, { function: 'main', file: '/srv/leak.c', line: 9 }], live_bytes: 9474095, count: 2313 },
      { frames: [{ function: 'std::vector<int>::push(int const&)', file: '/srv/a.cc', line: 3 }], live_bytes: 566534, count: 7 },
    ]);
  });

  it('finds dumps from MALLOC_CONF and HEAPPROFILE, and from a glob', () => {
    const env = new Map([['MALLOC_CONF', 'prof:true,lg_prof_interval:30,prof_prefix:/var/prof/svc']]);
    expect(jemallocConf(env)?.get('lg_prof_interval')).toBe('30');
    const je = dumpSource('jemalloc', 42, env, '/srv')!;
    expect(je.dir).toBe('/var/prof');
    expect(je.pattern.test('svc.42.7.i7.heap')).toBe(true);
    expect(je.pattern.test('svc.43.7.i7.heap')).toBe(false);
    // prof_prefix defaults to "jeprof" in the process's working directory; prof:false means no dumps.
    expect(dumpSource('jemalloc', 42, new Map([['MALLOC_CONF', 'prof:true']]), '/srv')!.dir).toBe('/srv');
    expect(dumpSource('jemalloc', 42, new Map([['MALLOC_CONF', 'prof:false']]), '/srv')).toBeNull();
    // gperftools sets the high bit of HEAPPROFILE's first byte once read.
    const tc = dumpSource('tcmalloc', 42, new Map([['HEAPPROFILE', '\u00aftmp/p/svc']]), '/srv')!;
    expect(tc.dir).toBe('/tmp/p');
    expect(tc.pattern.test('svc.0003.heap')).toBe(true);
    expect(tc.pattern.test('svc_42.0003.heap')).toBe(true);
    const g = globSource('prof/app.*.heap', '/srv');
    expect(g.dir).toBe('/srv/prof');
    expect(g.pattern.test('app.0001.heap')).toBe(true);
    expect(g.pattern.test('app.0001.heapx')).toBe(false);
  });
});

describe('V8 sampling heap profile', () => {
  it('turns the allocation tree into one stack per allocating node, innermost frame first, lines from 1', () => {
    const frame = (functionName: string, lineNumber: number) => ({ functionName, url: 'file:///srv/app.js', lineNumber, columnNumber: 0, scriptId: '1' });
    const profile = {
      head: {
        callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 }, selfSize: 0, id: 1,
        children: [{
          callFrame: frame('main', 0), selfSize: 100, id: 2,
          children: [{ callFrame: frame('', 9), selfSize: 5000, id: 3, children: [] }],
        }],
      },
      samples: [{ size: 5000, nodeId: 3, ordinal: 1 }, { size: 5000, nodeId: 3, ordinal: 2 }, { size: 100, nodeId: 2, ordinal: 3 }],
    };
    expect(toStacks(profile)).toEqual([
      { frames: [{ function: 'main', file: '/srv/app.js', line: 1 }], live_bytes: 100, count: 1 },
      { frames: [{ function: '(anonymous)', file: '/srv/app.js', line: 10 }, { function: 'main', file: '/srv/app.js', line: 1 }], live_bytes: 5000, count: 2 },
    ]);
  });
});

describe('profiler registry', () => {
  it('builds each registered profiler by name and refuses unknown names', () => {
    expect([...PROFILERS.keys()]).toEqual(['node', 'jemalloc', 'tcmalloc', 'simulated']);
    for (const name of AUTO_ORDER) expect(createProfiler(name).kind).toBe(name);
    expect(() => createProfiler('perf')).toThrow(/unknown profiler "perf"; known: node, jemalloc, tcmalloc, simulated/);
  });
});
