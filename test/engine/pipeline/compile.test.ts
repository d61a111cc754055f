import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../engine/errors.js';
import { compile } from '../../../engine/pipeline/compile.js';
import { definePipeline } from '../../../engine/pipeline/definition.js';
import { Registry } from '../../../engine/pipeline/registry.js';
import { alertLog, fakeRegistry, issuesOf, rollup, simulator, validDefinition } from './fakes.js';

describe('compile: a valid definition', () => {
  it('builds nodes in topological order with typed edges', () => {
    const def = validDefinition();
    // Listed sinks-first so that definition order and topological order disagree.
    def.nodes = Object.fromEntries(Object.entries(def.nodes).reverse());
    const graph = compile(def, fakeRegistry());
    const ids = graph.nodes.map((n) => n.id);
    for (const n of graph.nodes) for (const input of n.inputs) expect(ids.indexOf(input)).toBeLessThan(ids.indexOf(n.id));
    expect(ids[0]).toBe('samples');
    // Ties go to the node defined first: `store` is listed before `buckets` here.
    expect(ids).toEqual(['samples', 'hourly', 'store', 'buckets', 'detect', 'alerts']);
    expect(graph.edges).toContainEqual({ from: 'hourly', to: 'store', type: 'rollups' });
    expect(graph.edges).toContainEqual({ from: 'detect', to: 'alerts', type: 'alerts' });
    expect(graph.edges).toHaveLength(5);
    expect(graph.nodes.find((n) => n.id === 'alerts')).toMatchObject({ kind: 'sink', output: null, inputs: ['detect'] });
    expect(graph.nodes.find((n) => n.id === 'samples')).toMatchObject({ kind: 'source', output: 'samples', inputs: [] });
    expect(graph.name).toBe('fleet');
    expect(graph.description).toBe('level-1 detection');
  });

  it('applies option defaults, nested ones included, without touching the definition', () => {
    const def = validDefinition();
    const before = structuredClone(def);
    const graph = compile(def, fakeRegistry());
    const byId = new Map(graph.nodes.map((n) => [n.id, n.options]));
    expect(byId.get('hourly')).toEqual({ lateness: '20m', period: '1h', outliers: { method: 'iqr', k: 3 } });
    expect(byId.get('samples')).toEqual({ hosts: 3, interval: '5m' });
    expect(byId.get('buckets')).toEqual({ sizes_mb: [50, 100, 200] });
    expect(byId.get('alerts')).toEqual({ path: 'alerts.ndjson' });
    expect(def).toEqual(before);
    // A second compile must not see defaults shared with the first graph.
    (byId.get('buckets')!.sizes_mb as number[]).push(999);
    const again = compile(def, fakeRegistry());
    expect(again.nodes.find((n) => n.id === 'buckets')!.options).toEqual({ sizes_mb: [50, 100, 200] });
  });

  it('accepts definitions written with definePipeline', () => {
    const def = definePipeline({
      name: 'tiny',
      nodes: { s: { type: 'simulator' }, r: { type: 'rollup', inputs: ['s'] }, out: { type: 'rollup-store', inputs: ['r'] } },
    });
    const graph = compile(def, fakeRegistry());
    expect(graph.nodes.map((n) => n.id)).toEqual(['s', 'r', 'out']);
    expect('description' in graph).toBe(false);
  });

  it('lets a node take several inputs up to maxInputs, and a sink any number', () => {
    const def = validDefinition();
    def.nodes.detect2 = { type: 'bucket-detect', inputs: ['buckets'], options: { size_mb: 50 } };
    def.nodes.union = { type: 'union-alerts', inputs: ['detect', 'detect2'] };
    def.nodes.alerts.inputs = ['union', 'detect', 'detect2'];
    const graph = compile(def, fakeRegistry());
    expect(graph.edges.filter((e) => e.to === 'alerts').map((e) => e.from)).toEqual(['union', 'detect', 'detect2']);
  });
});

describe('compile: durations', () => {
  const withLateness = (lateness: unknown) => {
    const def = validDefinition();
    def.nodes.hourly.options = { lateness };
    return def;
  };

  it.each(['500ms', '10m', '1.5h', '15d', '2w', 0, 600000])('accepts %s', (lateness) => {
    const graph = compile(withLateness(lateness), fakeRegistry());
    expect(graph.nodes.find((n) => n.id === 'hourly')!.options.lateness).toBe(lateness);
  });

  it.each(['10 minutes', '10', 'm', '-5m', '1h30m', ''])('rejects %j', (lateness) => {
    expect(issuesOf(withLateness(lateness))).toEqual([
      'node "hourly": options.lateness: must be a duration like 10m, 1.5h or 15d, or a number of milliseconds',
    ]);
  });

  it('rejects negative numbers and other types', () => {
    expect(issuesOf(withLateness(-1))).toEqual(['node "hourly": options.lateness: must be >= 0']);
    expect(issuesOf(withLateness(true))).toEqual(['node "hourly": options.lateness: must be string or number']);
  });
});

describe('compile: errors name node and field', () => {
  it('rejects a definition that is not a map', () => {
    for (const def of [null, 'name: x', [1], 3]) expect(issuesOf(def)).toEqual(['pipeline: must be a map with "name" and "nodes"']);
  });

  it('reports the top-level shape', () => {
    expect(issuesOf({ node: {} })).toEqual([
      'pipeline: node: unknown key (did you mean "nodes"?)',
      'pipeline: name: is required',
      'pipeline: nodes: is required (a map from node id to node)',
    ]);
    expect(issuesOf({ name: '', description: 3, nodes: [] })).toEqual([
      'pipeline: name: must be a non-empty string',
      'pipeline: description: must be a string',
      'pipeline: nodes: must be a map from node id to node',
    ]);
    expect(issuesOf({ name: 'x', nodes: {} })).toEqual(['pipeline: nodes: must define at least one node']);
  });

  it('reports the node shape', () => {
    const def = validDefinition();
    def.nodes.samples = 'simulator';
    def.nodes.hourly = { typ: 'rollup', input: ['samples'] };
    def.nodes.buckets = { type: 7, inputs: 'hourly' };
    def.nodes.detect.inputs = ['buckets', 4];
    def.nodes['bad id'] = { type: 'alert-log', inputs: ['detect'] };
    expect(issuesOf(def)).toEqual([
      'node "samples": must be a map with a "type"',
      'node "hourly": typ: unknown key (did you mean "type"?)',
      'node "hourly": input: unknown key (did you mean "inputs"?)',
      'node "hourly": type: is required',
      'node "buckets": type: must be a string',
      'node "buckets": inputs: must be a list of node ids',
      'node "detect": inputs[1]: must be a node id (a string)',
      'node "bad id": id must be letters, digits, "_" or "-" (and not start with "-")',
    ]);
  });

  it('names an unknown type and suggests the closest registered one', () => {
    const def = validDefinition();
    def.nodes.buckets.type = 'bukcetize';
    def.nodes.alerts.type = 'totally-new';
    expect(issuesOf(def)).toEqual([
      'node "buckets": type: unknown type "bukcetize" (did you mean "bucketize"?)',
      'node "alerts": type: unknown type "totally-new"',
    ]);
  });

  it('rejects inputs on a source and a missing input on an operator or sink', () => {
    const def = validDefinition();
    def.nodes.samples.inputs = ['hourly'];
    delete def.nodes.buckets.inputs;
    def.nodes.alerts.inputs = [];
    expect(issuesOf(def)).toEqual([
      'node "samples": inputs: a source takes no inputs ("simulator" reads from outside the pipeline)',
      'node "buckets": inputs: is required: an operator needs at least one input',
      'node "alerts": inputs: is required: a sink needs at least one input',
    ]);
  });

  it('names inputs that match no node, with a suggestion when one is close', () => {
    const def = validDefinition();
    def.nodes.hourly.inputs = ['sampels'];
    def.nodes.store.inputs = ['nowhere'];
    expect(issuesOf(def)).toEqual([
      'node "hourly": inputs[0]: "sampels" doesn\'t match any node (did you mean "samples"?)',
      'node "store": inputs[0]: "nowhere" doesn\'t match any node',
    ]);
  });

  it('rejects a sink used as an input, and the same input twice', () => {
    const def = validDefinition();
    def.nodes.alerts2 = { type: 'alert-log', inputs: ['alerts', 'detect', 'detect'] };
    expect(issuesOf(def)).toEqual([
      'node "alerts2": inputs[2]: "detect" is listed twice',
      'node "alerts2": inputs[0]: "alerts" is a sink (alert-log) and has no output',
    ]);
    expect(() => compile(validDefinition(), fakeRegistry())).not.toThrow();
  });

  it('enforces maxInputs (1 for operators by default)', () => {
    const def = validDefinition();
    def.nodes.samples2 = { type: 'simulator' };
    def.nodes.hourly.inputs = ['samples', 'samples2'];
    def.nodes.store.inputs = ['hourly', 'hourly2'];
    def.nodes.hourly2 = { type: 'rollup', inputs: ['samples2'] };
    expect(issuesOf(def)).toEqual([
      'node "hourly": inputs: takes at most 1 input, got 2',
      'node "store": inputs: takes at most 1 input, got 2',
    ]);
  });

  it('rejects port type mismatches', () => {
    const def = validDefinition();
    def.nodes.alerts.inputs = ['hourly'];
    def.nodes.detect2 = { type: 'bucket-detect', inputs: ['samples'], options: { size_mb: 1 } };
    def.nodes.alerts.inputs = ['hourly', 'detect', 'detect2'];
    expect(issuesOf(def)).toEqual([
      'node "alerts": inputs[0]: "hourly" outputs rollups but sink "alerts" (alert-log) takes alerts',
      'node "detect2": inputs[0]: "samples" outputs samples but operator "detect2" (bucket-detect) takes buckets',
    ]);
  });

  it('reports each cycle once, as the shortest chain from the node defined first', () => {
    const def = {
      name: 'loops',
      nodes: {
        src: { type: 'simulator' },
        a: { type: 'union-alerts', inputs: ['c', 'x'] },
        b: { type: 'union-alerts', inputs: ['a'] },
        c: { type: 'union-alerts', inputs: ['b'] },
        x: { type: 'union-alerts', inputs: ['x'] },
        out: { type: 'alert-log', inputs: ['c'] },
        hourly: { type: 'rollup', inputs: ['src'] },
        store: { type: 'rollup-store', inputs: ['hourly'] },
      },
    };
    expect(issuesOf(def)).toEqual([
      'pipeline: Cyclic dependency detected in the chain [ a -> b -> c -> a ]',
      'pipeline: Cyclic dependency detected in the chain [ x -> x ]',
    ]);
  });

  it('requires a source and a sink', () => {
    expect(issuesOf({ name: 'p', nodes: { s: { type: 'simulator' }, r: { type: 'rollup', inputs: ['s'] } } })).toEqual([
      'pipeline: has no sink: no result would leave the pipeline',
    ]);
    expect(issuesOf({ name: 'p', nodes: { a: { type: 'union-alerts', inputs: ['a'] }, l: { type: 'alert-log', inputs: ['a'] } } })).toEqual([
      'pipeline: Cyclic dependency detected in the chain [ a -> a ]',
      'pipeline: has no source: nothing would feed the pipeline',
    ]);
  });

  it('does not blame a missing source on a node whose type is unknown', () => {
    expect(issuesOf({ name: 'p', nodes: { s: { type: 'simulater' }, out: { type: 'alert-log', inputs: ['s'] } } })).toEqual([
      'node "s": type: unknown type "simulater" (did you mean "simulator"?)',
    ]);
  });

  it('turns every schema error into an options.<path> issue', () => {
    const def = validDefinition();
    def.nodes.detect.options = { score: 'high', windw: '15d' };
    def.nodes.hourly.options = { outliers: { method: 'mad', kk: 1 } };
    def.nodes.buckets.options = { sizes_mb: [50, -1, 'x'] };
    def.nodes.alerts.options = ['path'];
    expect(issuesOf(def)).toEqual([
      'node "hourly": options.outliers.kk: unknown option (did you mean "k"?)',
      'node "hourly": options.outliers.method: must be one of "iqr", "none"',
      'node "buckets": options.sizes_mb[1]: must be > 0',
      'node "buckets": options.sizes_mb[2]: must be number',
      'node "detect": options.size_mb: is required',
      'node "detect": options.windw: unknown option (did you mean "window"?)',
      'node "detect": options.score: must be number',
      'node "alerts": options: must be a map of option names to values',
    ]);
  });

  it('lists the known options when an unknown one is nothing like them', () => {
    const def = validDefinition();
    def.nodes.alerts.options = { destination: 'x' };
    def.nodes.store.options = { anything: 1 };
    expect(issuesOf(def)).toEqual([
      'node "alerts": options.destination: unknown option (known: path)',
      'node "store": options.anything: unknown option (this node takes no options)',
    ]);
  });

  it('reports three different mistakes in one definition together', () => {
    const def = validDefinition();
    def.nodes.buckets.type = 'bukcetize';
    def.nodes.hourly.inputs = ['sampels'];
    def.nodes.hourly.options = { lateness: 'ten minutes' };
    let error: unknown;
    try {
      compile(def, fakeRegistry(), 'fleet.yaml');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.file).toBe('fleet.yaml');
    expect(e.issues).toEqual([
      { node: 'hourly', field: 'inputs[0]', message: '"sampels" doesn\'t match any node (did you mean "samples"?)' },
      { node: 'hourly', field: 'options.lateness', message: 'must be a duration like 10m, 1.5h or 15d, or a number of milliseconds' },
      { node: 'buckets', field: 'type', message: 'unknown type "bukcetize" (did you mean "bucketize"?)' },
    ]);
    expect(e.message).toMatch(/^fleet\.yaml has 3 errors:\n/);
  });

  it('fails loudly on a spec whose options schema is itself invalid', () => {
    const broken = { ...alertLog, type: 'broken-log', options: { type: 'object', properties: { p: { type: 'strng' } } } };
    const registry = new Registry([simulator, rollup, broken]);
    const def = { name: 'p', nodes: { s: { type: 'simulator' }, r: { type: 'rollup', inputs: ['s'] }, l: { type: 'broken-log', inputs: ['r'] } } };
    expect(() => compile(def, registry)).toThrow(/node type "broken-log" has an invalid options schema/);
  });
});

describe('compile: hash', () => {
  const reorder = (value: any): any =>
    Array.isArray(value)
      ? value.map(reorder)
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reorder(v)]))
        : value;

  it('is stable under key reordering at every level', () => {
    const def = validDefinition();
    def.nodes.hourly.options = { lateness: '20m', period: '2h', outliers: { k: 2, method: 'none' } };
    const a = compile(def, fakeRegistry());
    const b = compile(reorder(def), fakeRegistry());
    expect(Object.keys(reorder(def).nodes)[0]).toBe('store');
    expect(b.hash).toBe(a.hash);
    expect(a.hash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('treats a default written out as the same graph, and changes with what changes behaviour', () => {
    const base = compile(validDefinition(), fakeRegistry()).hash;
    const explicit = validDefinition();
    explicit.nodes.hourly.options = { lateness: '20m', period: '1h' };
    expect(compile(explicit, fakeRegistry()).hash).toBe(base);

    const redescribed = validDefinition();
    redescribed.description = 'other words';
    expect(compile(redescribed, fakeRegistry()).hash).toBe(base);

    const changed = validDefinition();
    changed.nodes.detect.options.score = 41;
    expect(compile(changed, fakeRegistry()).hash).not.toBe(base);
    const renamed = validDefinition();
    renamed.name = 'fleet2';
    expect(compile(renamed, fakeRegistry()).hash).not.toBe(base);
  });
});
