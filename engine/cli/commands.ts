/** Usage text of each command: the single source for `--help` and for argument parsing. */
export interface CommandHelp {
  usage: string;
  summary: string;
  options: [flag: string, text: string][];
}

export const COMMANDS: Record<string, CommandHelp> = {
  replay: {
    usage: 'resin replay <file> [--pipeline P] [--out FILE] [--dead-letter FILE] [--state PATH]',
    summary: 'Run a pipeline over a telemetry file (NDJSON, CSV or Arrow IPC, optionally .gz) as fast as it can, then print a summary.',
    options: [
      ['--pipeline P', 'pipeline definition (default: pipelines/resin.yaml); its source is replaced by the file'],
      ['--out FILE', 'write alerts here (NDJSON) instead of where the pipeline says (default: standard output)'],
      ['--dead-letter FILE', 'rejected records with line number and reason (default: <out>.rejected.ndjson)'],
      ['--state PATH', 'DuckDB state file to resume from and write to (default: a temporary file, removed, and none for a pipeline without a node that uses the store)'],
      ['--format F', 'ndjson, csv or arrow (default: from the file extension)'],
      ['--batch-size N', 'rows per batch (default 65536)'],
      ['--summary F', 'summary format on stderr: text or json (default text)'],
      ['--quiet', 'no progress line'],
    ],
  },
  run: {
    usage: 'resin run [--pipeline P] [--state PATH] [--http ADDR|off] [--drain-timeout D] [--log-format text|json] [--instance NAME]',
    summary: 'Run a pipeline as a long-lived sidecar until its sources end or SIGINT/SIGTERM, which drain in-flight batches, flush and exit 0. Serves /healthz, /readyz and /metrics.',
    options: [
      ['--pipeline P', 'pipeline definition (default: pipelines/resin.yaml, env RESIN_PIPELINE)'],
      ['--state PATH', 'DuckDB state file (default: data/resin.duckdb, env RESIN_STATE)'],
      ['--state-memory M', 'most memory the state store may hold, e.g. 512MB, 2GB (default 1GB, env RESIN_STATE_MEMORY)'],
      ['--dead-letter FILE', 'rejected records (default: data/rejected.ndjson, env RESIN_DEAD_LETTER)'],
      ['--http ADDR', 'address of /healthz, /readyz and /metrics: host:port, :port or off (default 127.0.0.1:9477, env RESIN_HTTP)'],
      ['--drain-timeout D', 'longest a stop may take before exiting 1 with what was in flight (default 30s, env RESIN_DRAIN_TIMEOUT)'],
      ['--checkpoint-every D', 'wall-clock time between checkpoints (default 60s, env RESIN_CHECKPOINT_EVERY)'],
      ['--log-format F', 'text or json (default text, env RESIN_LOG_FORMAT)'],
      ['--log-level L', 'debug, info, warn or error (default info, env RESIN_LOG_LEVEL)'],
      ['--instance NAME', 'this instance\'s name among those sharing a partitioned pipeline (default: the host name, env RESIN_INSTANCE)'],
      ['', 'precedence: flag, then environment, then the pipeline file\'s run: section, then the default'],
    ],
  },
  demo: {
    usage: 'resin demo [--hosts N] [--days N] [--seed N] [--out FILE]',
    summary: 'Run the default pipeline on the built-in fleet simulator and print what it found against the injected leaks (what `npm start` runs).',
    options: [
      ['--hosts N', 'simulated hosts (default: the pipeline\'s, 300)'],
      ['--days N', 'simulated days (default: the pipeline\'s, 21)'],
      ['--seed N', 'simulator seed (default 1)'],
      ['--out FILE', 'also write every alert emission as NDJSON'],
    ],
  },
  agent: {
    usage: 'resin agent [--servers URL] [--interval 60s] [--host NAME] [--rules FILE] [--hooks FILE] [--once] [--dry-run]',
    summary: 'Sample the memory of every process on this host every interval and publish it to NATS as Arrow (one message per component).',
    options: [
      ['--servers URL', 'NATS server(s), comma-separated (default nats://127.0.0.1:4222, env NATS_URL)'],
      ['--interval D', 'time between cycles, e.g. 60s or 5m (default 60s); cycles start on multiples of it'],
      ['--host NAME', 'host name in the samples (default: this machine\'s)'],
      ['--rules FILE', 'YAML/JSON rules mapping processes to components (default: component = executable name)'],
      ['--hooks FILE', 'YAML hooks the engine may run on this host by name, answered on resin.cmd.<host> (docs/mitigation.md)'],
      ['--once', 'sample and publish once, then exit (1 if NATS could not take it)'],
      ['--dry-run', 'sample once and print the samples as NDJSON; nothing is published'],
      ['--memory M', 'rss (VmRSS, default) or anon (RssAnon: resident memory without file cache)'],
      ['--no-cgroups', 'do not add one sample per memory cgroup (memory.current / memory.usage_in_bytes)'],
      ['--no-kernel', 'do not report kernel memory (slab caches from /proc/slabinfo, meminfo counters) as kernel.* components'],
      ['--region R, --cluster C', 'attributes recorded in every sample'],
      ['--prefix P', 'subject prefix: samples go to <P>.<component> (default resin.telemetry)'],
      ['--publish M', 'jetstream (default: a stream must store each message) or core (no stream needed)'],
      ['--buffer N', 'cycles kept while NATS is unreachable; the oldest are dropped beyond (default 60)'],
      ['--timeout D', 'longest wait for NATS per attempt (default 5s)'],
      ['--token T, --user U --password P', 'NATS authentication'],
      ['--nkey-seed-file F, --creds F', 'NATS nkey seed file, or credentials (JWT) file'],
      ['--tls-ca F, --tls-cert F, --tls-key F', 'TLS: CA bundle, client certificate and key (PEM)'],
      ['--log-format F, --log-level L', 'as for `resin run`'],
    ],
  },
  supervise: {
    usage: 'resin supervise [--component NAME] [--host H] [--servers URL] [--grace 10s] -- CMD ARGS...',
    summary: 'Run a service as a child in its own process group and restart it when the engine asks (on NATS, resin.cmd.<host>.<component>).',
    options: [
      ['--component NAME', 'component the service belongs to, as the agent labels it (default: the command\'s name)'],
      ['--host H', 'host name the engine knows this host by (default: this machine\'s)'],
      ['--servers URL', 'NATS server(s), comma-separated (default nats://127.0.0.1:4222, env NATS_URL)'],
      ['--grace D', 'time between SIGTERM to the group and SIGKILL (default 10s)'],
      ['--prefix P', 'command subject prefix (default resin.cmd)'],
      ['--log-format F, --log-level L', 'as for `resin run`'],
      ['', 'the child sees RESIN_SUPERVISED_RESTARTS (0, then 1, 2, ...); when it exits by itself, so does the supervisor, with its code'],
    ],
  },
  mitigations: {
    usage: 'resin mitigations [--state PATH] [--alert ID] [--component C] [--outcome O] [--limit N] [--format text|json]',
    summary: 'List the mitigation audit recorded in a state file: every decision, taken, skipped and why, or dry-run.',
    options: [
      ['--state PATH', 'DuckDB state file (default: data/resin.duckdb, env RESIN_STATE); a copy if `resin run` holds it'],
      ['--alert ID, --component C, --outcome O', 'only decisions of this alert, component or outcome (taken, dry-run, skipped, ...)'],
      ['--limit N', 'the newest N decisions (default 1000)'],
      ['--format F', 'text (a table) or json (NDJSON, every field)'],
    ],
  },
  diagnose: {
    usage: 'resin diagnose --pid PID [--duration 120s] [--interval 20s] [--out DIR] [--profiles GLOB]',
    summary: 'Profile one live process now, without waiting for detection, and write a diagnosis report (JSON, HTML, Markdown) ranking the allocation stacks that grew.',
    options: [
      ['--pid PID', 'the process to profile (required)'],
      ['--duration D', 'how long to collect (default 120s)'],
      ['--interval D', 'time between heap snapshots (default 20s)'],
      ['--out DIR', 'directory for the report files (default reports); one NDJSON line announces them on standard output'],
      ['--profiler P', 'node, jemalloc or tcmalloc (default: recognised from the process)'],
      ['--profiles GLOB', 'heap profile dumps of a native process (e.g. /var/prof/app.*.heap) instead of those its environment names'],
      ['--top N', 'stacks in the report (default 10)'],
      ['--sampling-interval B', 'Node.js: mean bytes between sampled allocations (default 32768)'],
      ['--inspector-lease D', 'Node.js: if resin stops renewing it for this long (killed, hung), the target closes its inspector by itself (default 60s)'],
      ['--heap-snapshot', 'Node.js: also write one full V8 heap snapshot into --out at the end; it pauses the target and can take several times its heap'],
      ['--quiet', 'no progress on standard error'],
      ['', 'Node.js targets are profiled live through their inspector, opened on 127.0.0.1 by SIGUSR1 and closed afterwards;'],
      ['', 'native targets must run with jemalloc (MALLOC_CONF=prof:true,prof_prefix:...) or tcmalloc (HEAPPROFILE=...) profiling.'],
      ['', 'Exit 0 with a report, 1 when collection failed (the report says why), 2 on a bad command line.'],
    ],
  },
  validate: {
    usage: 'resin validate <pipeline.yaml>...',
    summary: 'Check pipeline definitions; lists every error, each naming its node and field. Exit 0 when all are valid.',
    options: [],
  },
  graph: {
    usage: 'resin graph <pipeline.yaml> [--format mermaid|dot]',
    summary: 'Print the compiled dataflow graph as Mermaid (default) or Graphviz DOT.',
    options: [['--format F', 'mermaid or dot (default mermaid)']],
  },
  types: {
    usage: 'resin types [TYPE]',
    summary: 'List the node types a pipeline can use, or one type\'s options with their defaults.',
    options: [],
  },
};

export function commandHelp(name: string): string {
  const c = COMMANDS[name]!;
  const w = Math.max(0, ...c.options.map(([f]) => f.length));
  const opts = c.options.map(([f, t]) => `  ${f.padEnd(w)}  ${t}`);
  return [`Usage: ${c.usage}`, '', c.summary, ...(opts.length ? ['', 'Options:', ...opts, `  ${'--help'.padEnd(w)}  this text`] : [])].join('\n');
}

export function mainHelp(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return [
    'resin: find, explain and mitigate memory leaks across a fleet (the RESIN method).',
    '',
    'Usage: resin <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(w)}  ${c.summary.split('. ')[0]!.replace(/\.$/, '')}`),
    '',
    'Run `resin <command> --help` for a command\'s options.',
  ].join('\n');
}
