import { describe, expect, it } from 'vitest';
import { HOOKS_SCHEMA } from '../../connectors/agent/hooks.js';
import { RULE_SCHEMA } from '../../connectors/agent/rules.js';
import { metaSchemaProblems, schemaCompiler } from '../../engine/jsonSchema.js';
import { defaultRegistry } from '../../engine/nodes.js';
import { RUN_SETTINGS_SCHEMA } from '../../engine/pipeline/runSettings.js';

/**
 * The shared compiler skips checking schemas against the JSON Schema meta-schema at run
 * time (engine/jsonSchema.ts); every schema the code holds is checked here instead.
 */
describe('JSON schemas in the code', () => {
  const schemas: [string, object][] = [
    ...defaultRegistry().list().map((spec): [string, object] => [`node type "${spec.type}"`, spec.options]),
    ['run settings', RUN_SETTINGS_SCHEMA],
    ['agent hooks file', HOOKS_SCHEMA],
    ['agent rules file', RULE_SCHEMA],
  ];

  it.each(schemas)('%s is valid JSON Schema 2020-12', (_name, schema) => {
    expect(metaSchemaProblems(schema)).toEqual([]);
  });

  it('the meta-schema check refuses a keyword with a value of the wrong type', () => {
    expect(metaSchemaProblems({ type: 'object', properties: { n: { type: 'integer', minimum: '5' } } }))
      .toEqual(['/properties/n/minimum must be number']);
  });

  it('the shared compiler still refuses an unknown keyword (strict mode)', () => {
    expect(() => schemaCompiler().compile({ type: 'object', propertise: {} })).toThrow(/unknown keyword: "propertise"/);
  });
});
