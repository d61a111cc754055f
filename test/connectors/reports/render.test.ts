import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { reportFilesSpec } from '../../../connectors/reports/report-files.js';
import { renderHtml } from '../../../connectors/reports/render/html.js';
import { renderJson } from '../../../connectors/reports/render/json.js';
import { renderMarkdown } from '../../../connectors/reports/render/markdown.js';
import { defaultRegistry } from '../../../engine/nodes.js';
import { testContext } from '../../helpers/samples.js';
import { sampleReport } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'resin-reports-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MIB = 1024 * 1024;

describe('report renderers', () => {
  it('JSON is the report itself, stacks most suspect first with frames innermost first', () => {
    const r = sampleReport();
    const parsed = JSON.parse(renderJson(r));
    expect(parsed).toEqual(r);
    expect(parsed.stacks[0]).toEqual({
      frames: [
        { function: 'rememberSession', file: '/srv/app/session.js', line: 41 },
        { function: 'handleLogin', file: '/srv/app/routes.js', line: 12 },
        { function: 'processTicksAndRejections', file: 'node:internal/process/task_queues', line: 95 },
      ],
      live_bytes: 118 * MIB, growth_bytes: 38 * MIB, count: 9120,
    });
  });

  it('HTML is one self-contained page that shows hostile frame names as text', () => {
    const html = renderHtml(sampleReport());
    expect(html).toContain('<svg id="memory-chart"');
    expect(html).toContain('<table id="stacks">');
    expect(html).toContain('render&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script');
    expect(html).not.toMatch(/\b(src|href)=/);
    expect(html).toContain('<dd id="pattern">steady</dd>');
    expect(html).toContain('steady: R^2 0.93 &gt; 0.8 over the last 6h');
  });

  it('Markdown has the verdict, a table with escaped cells and the top stack in full', () => {
    const md = renderMarkdown(sampleReport());
    expect(md).toContain('**Most likely leaking: rememberSession (/srv/app/session.js:41), which grew by +38.0 MiB.**');
    expect(md).toContain('| 1 | `rememberSession (/srv/app/session.js:41)` | +38.0 MiB | 118.0 MiB | 9120 |');
    expect(md).toContain('/srv/app/view\\|s.js:7');
    expect(md).toContain('```\nrememberSession (/srv/app/session.js:41)\nhandleLogin (/srv/app/routes.js:12)\n');
  });

  it('says why collection failed, and when memory grew outside the JS heap', () => {
    const failed = sampleReport({
      outcome: 'failed', reason: 'exited', stacks: [], trigger: 'failed: process 4312 exited',
      memory: [
        { at: 0, rss: 100 * MIB, heap_used: 50 * MIB, external: 10 * MIB },
        { at: 60_000, rss: 180 * MIB, heap_used: 52 * MIB, external: 85 * MIB },
      ],
    });
    const md = renderMarkdown(failed);
    expect(md).toContain('Collection failed (exited).');
    expect(md).toContain('Most of the growth is outside the JS heap');
    expect(md).toContain('No stack grew between the snapshots.');
    expect(renderHtml(failed)).toContain('id="outside-heap"');
    expect(renderMarkdown(sampleReport())).not.toContain('outside the JS heap, which');
  });
});

describe('report-files sink', () => {
  it('is registered for pipelines on the reports port', () => {
    const spec = defaultRegistry().get('report-files');
    expect(spec?.kind).toBe('sink');
    expect(spec?.kind === 'sink' && spec.input).toBe('reports');
  });

  it('writes the three files per report and announces each as an NDJSON line', async () => {
    const { ctx, metrics } = testContext('reports');
    const announce = join(dir, 'announce.ndjson');
    const sink = reportFilesSpec.create({ dir: join(dir, 'out'), announce }, ctx);
    sink.write(sampleReport());
    sink.write(sampleReport({ id: 'alert-43:web/../08:1' }));
    await sink.close();

    const lines = readFileSync(announce, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ id: 'alert-42:web-07:4312', outcome: 'localised', top: 'rememberSession (/srv/app/session.js:41)' });
    for (const l of lines) {
      for (const path of Object.values(l.files as Record<string, string>)) {
        expect(existsSync(path)).toBe(true);
        expect(path.startsWith(join(dir, 'out'))).toBe(true);
      }
    }
    expect(JSON.parse(readFileSync(lines[0].files.json, 'utf8')).id).toBe('alert-42:web-07:4312');
    expect(lines[1].files.html).toBe(join(dir, 'out', 'alert-43_web_.._08_1.html'));
    expect(metrics.counter('reports_written', { node: 'reports' }).value).toBe(2);
  });

  it('counts a report it cannot write, announces it without files, and goes on', async () => {
    const { ctx, metrics } = testContext('reports');
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, '');
    const announce = join(dir, 'announce-failed.ndjson');
    const sink = reportFilesSpec.create({ dir: join(blocker, 'reports'), announce }, ctx);
    expect(() => sink.write(sampleReport())).not.toThrow();
    await sink.close();
    const line = JSON.parse(readFileSync(announce, 'utf8'));
    expect(line.files).toBeNull();
    expect(metrics.counter('reports_failed', { node: 'reports', reason: 'ENOTDIR' }).value).toBe(1);
  });
});
