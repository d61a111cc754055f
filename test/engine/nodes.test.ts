import { describe, expect, it } from 'vitest';
import { NODE_SPECS, defaultRegistry } from '../../engine/nodes.js';
import { checkOptions } from '../../engine/pipeline/options.js';

describe('default registry', () => {
  it('registers every node type once', () => {
    expect(defaultRegistry().types()).toHaveLength(NODE_SPECS.length);
  });

  it.each(NODE_SPECS.map((s) => [s.type, s] as const))('%s has an options schema that compiles and whose defaults validate', (_type, spec) => {
    const { issues } = checkOptions(spec, {});
    // Only options without defaults may be reported missing.
    for (const issue of issues) expect(issue.message).toMatch(/required|must have required property/);
  });
});
