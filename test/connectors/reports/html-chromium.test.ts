import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CdpConnection } from '../../../connectors/profilers/node/cdp.js';
import { debuggerUrl } from '../../../connectors/profilers/node/inspectorPort.js';
import { renderHtml } from '../../../connectors/reports/render/html.js';
import { sampleReport } from './fixtures.js';

/**
 * The HTML report as a person sees it: rendered by headless Chromium (Debian package
 * chromium, installed by .ci/run), inspected over the DevTools protocol, screenshotted.
 */

const dir = mkdtempSync(join(tmpdir(), 'resin-report-html-'));
let browser: ChildProcess | null = null;
/** Whether any process of group `pgid` is left (zombies count until reaped). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

afterAll(async () => {
  const pid = browser?.pid;
  if (pid !== undefined) {
    // Chromium's helper processes (its group, as it was started detached) write to the
    // profile after the browser itself exits: all of them go, and are waited for (5 s at most).
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
    for (let i = 0; i < 100 && groupAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  }
  rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

/** Starts Chromium on the page and resolves with the DevTools port it chose. */
function launch(url: string): Promise<number> {
  browser = spawn('chromium', [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--hide-scrollbars',
    '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0', `--user-data-dir=${join(dir, 'profile')}`,
    '--window-size=1024,1400', url,
  ], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  return new Promise((resolve, reject) => {
    let err = '';
    browser!.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /DevTools listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(err);
      if (m) resolve(Number(m[1]));
    });
    browser!.once('error', reject);
    browser!.once('exit', (code) => reject(new Error(`chromium exited with ${code}: ${err}`)));
  });
}

async function evaluate<T>(cdp: CdpConnection, expression: string): Promise<T> {
  const r = await cdp.send<{ result: { value: T }; exceptionDetails?: { exception?: { description?: string } } }>(
    'Runtime.evaluate', { expression, returnByValue: true },
  );
  if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? expression}`);
  return r.result.value;
}

describe('HTML report in headless Chromium', () => {
  it('shows the memory chart and the ranked stack table, with nothing fetched', async () => {
    const report = sampleReport();
    const file = join(dir, 'report.html');
    writeFileSync(file, renderHtml(report));
    const cdp = await CdpConnection.connect(await debuggerUrl(await launch(pathToFileURL(file).href), 10_000, 'page'), 10_000);
    try {
      // Wait for the report to be loaded: the tab may still show about:blank when we connect.
      const url = pathToFileURL(file).href;
      const loaded = `location.href === ${JSON.stringify(url)} && document.readyState === 'complete'`;
      for (let i = 0; i < 400 && !(await evaluate<boolean>(cdp, loaded)); i++) await new Promise((r) => setTimeout(r, 50));
      expect(await evaluate<boolean>(cdp, loaded)).toBe(true);

      const chart = await evaluate<{ width: number; height: number; lines: number; points: number[] }>(cdp, `(() => {
        const svg = document.querySelector('#memory-chart');
        const box = svg.getBoundingClientRect();
        const lines = [...svg.querySelectorAll('polyline.series')];
        return { width: box.width, height: box.height, lines: lines.length, points: lines.map((l) => l.points.numberOfItems) };
      })()`);
      expect(chart.width).toBeGreaterThan(500);
      expect(chart.height).toBeGreaterThan(200);
      expect(chart.lines).toBe(3); // RSS, JS heap, external
      expect(chart.points).toEqual([4, 4, 4]);

      const table = await evaluate<{ rows: string[][]; visible: boolean }>(cdp, `(() => {
        const t = document.querySelector('#stacks');
        const rows = [...t.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((td) => td.firstChild.textContent.trim()));
        return { rows, visible: t.getBoundingClientRect().height > 50 };
      })()`);
      expect(table.visible).toBe(true);
      expect(table.rows).toHaveLength(3);
      expect(table.rows[0]![1]).toBe('rememberSession (/srv/app/session.js:41)');
      expect(table.rows[0]![2]).toBe('+38.0 MiB');
      // A frame name holding markup is shown as text, never run.
      expect(table.rows[1]![1]).toContain('<script>');
      expect(await evaluate<number>(cdp, 'document.scripts.length')).toBe(0);

      expect(await evaluate<string>(cdp, "document.querySelector('#pattern').textContent")).toBe('steady');
      expect(await evaluate<string>(cdp, "document.querySelector('#trigger').textContent")).toBe(report.trigger);
      expect(await evaluate<number>(cdp, "performance.getEntriesByType('resource').length")).toBe(0);

      // The screenshot, and proof the chart area holds a drawing: it compresses far worse than blank page.
      const shot = await cdp.send<{ data: string }>('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
      const png = Buffer.from(shot.data, 'base64');
      writeFileSync(join(dir, 'report.png'), png);
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      const box = await evaluate<{ x: number; y: number; width: number; height: number }>(cdp,
        "(() => { const b = document.querySelector('#memory-chart').getBoundingClientRect(); return { x: b.x, y: b.y + scrollY, width: b.width, height: b.height }; })()");
      const clip = (y: number) => cdp.send<{ data: string }>('Page.captureScreenshot', { format: 'png', clip: { ...box, y, scale: 1 }, captureBeyondViewport: true });
      const drawn = Buffer.from((await clip(box.y)).data, 'base64').length;
      const blank = Buffer.from((await clip(box.y + 5000)).data, 'base64').length;
      expect(drawn).toBeGreaterThan(blank * 3);
    } finally {
      await cdp.close();
    }
  });
});
