import { readFileSync } from 'node:fs';

/**
 * Self time of a V8 CPU profile by function and by file, most first: where a run's
 * main thread went, in milliseconds, without opening DevTools.
 *
 *   node --cpu-prof --cpu-prof-interval 200 --cpu-prof-dir prof dist/engine/cli/bin.js replay fleet.arrows --out /dev/null --quiet
 *   node dist/bench/profileSummary.js prof/*.cpuprofile [--top 30]
 */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

function shortUrl(url: string): string {
  return url.split('/').slice(-2).join('/');
}

function top(totals: Map<string, number>, n: number): string[] {
  return [...totals].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => `${(us / 1000).toFixed(1).padStart(9)} ms  ${k}`);
}

function main(argv: string[]): void {
  const at = argv.indexOf('--top');
  const n = at >= 0 ? Number(argv[at + 1]) : 30;
  const files = argv.filter((a, i) => a !== '--top' && argv[i - 1] !== '--top');
  if (files.length === 0) throw new Error('usage: profileSummary.js FILE.cpuprofile... [--top N]');
  const byFunction = new Map<string, number>(), byFile = new Map<string, number>();
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
    for (let i = 0; i < profile.samples.length; i++) {
      const frame = frames.get(profile.samples[i]!)!, us = profile.timeDeltas[i] ?? 0;
      const fn = `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
      const where = shortUrl(frame.url) || frame.functionName;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
      byFile.set(where, (byFile.get(where) ?? 0) + us);
    }
  }
  console.log(`self time of ${files.length} profile(s), by function:`);
  console.log(top(byFunction, n).join('\n'));
  console.log('\nby file:');
  console.log(top(byFile, Math.min(n, 20)).join('\n'));
}

if (process.argv[1]?.endsWith('profileSummary.js')) main(process.argv.slice(2));
