/**
 * The suite's reports: bench/results/latest.md (tables, targets first) and latest.svg (mai beside
 * its baselines, per scenario, relative to the scenario's reference baseline).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Bar, barChart, type Group, type Panel, type Series } from './chart.js';
import { RESULTS } from './processes.js';
import { human, markdownTable, summaryText } from './report.js';
import {
  HEADROOM,
  type SuiteFigure,
  type SuiteResults,
  type SuiteScenario,
} from './suite-results.js';
import { boundText, targetFor } from './targets.js';
const SERVER_COLUMNS = [
  ['mai', 'mai'],
  ['mai-borrow', 'mai, borrowed frames'],
  ['hand', 'hand-written'],
  ['naive', 'naive'],
  ['split2', 'split2'],
  ['raw', 'raw bytes'],
  ['c-echo', 'C echo (loadgen check)'],
] as const;

function cell(figures: readonly SuiteFigure[], server: string, f: (v: number) => string): string {
  const found = figures.find((x) => x.server === server);
  return found === undefined ? '—' : summaryText(found, f);
}

const whole = (v: number): string => Math.round(v).toLocaleString('en');
const us = (v: number): string => (v >= 1000 ? whole(v) : v.toFixed(1));
/** MB/s: whole numbers from 100 up, three significant digits below. */
const mbps = (v: number): string => (v >= 100 ? whole(v) : v.toPrecision(3));

function endToEndTable(scenarios: readonly SuiteScenario[]): string {
  const rows: string[][] = [];
  for (const s of scenarios.filter((x) => x.id.startsWith('E'))) {
    const format = s.figure === 'MB/s' ? whole : human;
    if (s.id === 'E4') {
      const p50 = s.more['p50 round trip µs'] ?? [];
      rows.push([`E4 p50 µs`, ...SERVER_COLUMNS.map(([id]) => cell(p50, id, us))]);
      rows.push([`E4 p99 µs`, ...SERVER_COLUMNS.map(([id]) => cell(s.servers, id, us))]);
      continue;
    }
    rows.push([
      `${s.id} ${s.figure}`,
      ...SERVER_COLUMNS.map(([id]) => cell(s.servers, id, format)),
    ]);
  }
  return markdownTable(['scenario', ...SERVER_COLUMNS.map(([, name]) => name)], rows);
}

function memoryTables(scenarios: readonly SuiteScenario[]): string[] {
  const parts: string[] = [];
  const m1 = scenarios.find((s) => s.id === 'M1');
  if (m1 !== undefined) {
    parts.push(
      `### M1: ${m1.title}`,
      '',
      markdownTable(
        ['holder', 'JS heap B per connection', 'RSS B per connection', 'pooled bytes leased'],
        m1.servers.map((f) => [
          f.title,
          summaryText(f, whole),
          cell(m1.more['RSS bytes per connection'] ?? [], f.server, whole),
          cell(m1.more['pooled bytes leased'] ?? [], f.server, whole),
        ]),
      ),
      '',
    );
  }
  const m2 = scenarios.find((s) => s.id === 'M2');
  if (m2 !== undefined) {
    const more = (name: string, server: string, f: (v: number) => string): string =>
      cell(m2.more[name] ?? [], server, f);
    parts.push(
      `### M2: ${m2.title}`,
      '',
      markdownTable(
        [
          'server',
          'V8 heap B per frame',
          'scavenges per M frames',
          'mark-compacts per M frames',
          'GC ms per M frames',
          'heap growth per M frames (after full GC)',
          'frames/s while recording',
        ],
        m2.servers.map((f) => [
          f.title,
          summaryText(f, (v) => v.toFixed(1)),
          more('scavenges per M frames', f.server, (v) => v.toFixed(1)),
          more('mark-compacts per M frames', f.server, (v) => v.toFixed(2)),
          more('GC ms per M frames', f.server, (v) => v.toFixed(1)),
          more('heap growth B per M frames', f.server, (v) => `${whole(v)} B`),
          more('frames/s while recording', f.server, human),
        ]),
      ),
      '',
    );
  }
  return parts;
}

const C1_COLUMNS = [
  ['lp-varint', 'mai lp varint'],
  ['it-lp', 'it-length-prefixed'],
  ['lps', 'length-prefixed-stream'],
  ['lp-u32', 'mai lp u32'],
  ['lines', 'mai lines (str)'],
  ['split2', 'split2'],
  ['resp', 'mai RESP'],
  ['redis-parser', 'redis-parser'],
] as const;

function codecTable(scenarios: readonly SuiteScenario[], op: 'decode' | 'encode'): string {
  const rows = scenarios
    .filter((s) => s.id === 'C1' && s.title.startsWith(op))
    .map((s) => [
      s.title.replace(`${op}, `, '').replace(' frames', ''),
      ...C1_COLUMNS.map(([id]) => cell(s.servers, id, mbps)),
    ]);
  return markdownTable(['frame', ...C1_COLUMNS.map(([, name]) => name)], rows);
}

function markdown(results: SuiteResults, chartFile: string): string {
  const { machine, git } = results;
  const load = (l: readonly number[]): string => l.map((v) => v.toFixed(2)).join(' / ');
  const targets = results.targets.map((t) => [
    t.scenario,
    t.figure,
    t.measured === null ? 'n/a' : t.scenario === 'M1' ? whole(t.measured) : t.measured.toFixed(2),
    t.target,
    t.met === null ? 'not measured' : t.met ? 'met' : '**missed**',
  ]);
  const missed = results.targets.filter((t) => t.met === false).length;
  const parts = [
    `# Benchmark suite${results.quick ? ' (quick)' : ''}`,
    '',
    `- When: ${results.timestamp} to ${results.finished} (${Math.round(results.durationSeconds)} s)`,
    `- Machine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node} (V8 ${machine.v8}), Linux ${machine.kernel}`,
    `- Load average (1 / 5 / 15 min): ${load(results.loadAverage.start)} at the start, ${load(results.loadAverage.end)} at the end. The machine is shared: other work competes for both cores, and figures move from run to run; compare ratios within one run.`,
    `- Code: commit ${git.commit.slice(0, 12)}${git.dirty ? ` with uncommitted changes (${git.changes.length} file(s))` : ', clean tree'}`,
    results.placement === null
      ? '- Placement: n/a (no end-to-end scenario ran)'
      : `- Placement: server ${results.placement.server}; load generator ${results.placement.loadgen}; ${results.placement.note}`,
    `- Command: \`${results.command}\`; details in ${results.details.map((d) => `\`${d}\``).join(', ')}`,
    '',
    `![mai beside its baselines](${chartFile})`,
    '',
    `## Targets (PERFORMANCE.md): ${missed === 0 ? 'none missed' : `${missed} missed`}`,
    '',
    markdownTable(['scenario', 'figure', 'value', 'target', 'result'], targets),
    '',
  ];
  if (results.scenarios.some((s) => s.id.startsWith('E'))) {
    parts.push(
      '## End to end (E1–E5): median (min–max) of the runs',
      '',
      endToEndTable(results.scenarios),
      '',
    );
  }
  if (results.loadgenCheck.length > 0) {
    parts.push(
      '### Load generator check',
      '',
      markdownTable(
        [
          'scenario',
          'C echo frames/s',
          'fastest Node server',
          'headroom (C echo ÷ fastest)',
          'raw ÷ mai',
          'loadgen CPU with mai',
          'could the load side be the limit?',
        ],
        results.loadgenCheck.map((c) => [
          c.scenario,
          human(c.cEcho),
          `${c.fastestNode.server} ${human(c.fastestNode.framesPerSec)}`,
          `${c.headroom.toFixed(2)}×`,
          `${c.rawOverMai.toFixed(2)}×`,
          `${(c.loadgenCpuWithMai * 100).toFixed(0)}%`,
          c.headroom >= HEADROOM ? 'no' : '**possibly**',
        ]),
      ),
      '',
      `The load generator drives the C echo server (no framing, no JavaScript) as hard as it can: when that is less than ${HEADROOM}× the fastest Node server, the load side (its core shared with other work) may have capped the figures of that scenario.`,
      '',
    );
  }
  if (results.scenarios.some((s) => s.id === 'M1' || s.id === 'M2')) {
    parts.push('## Memory (M1, M2)', '', ...memoryTables(results.scenarios));
  }
  if (results.scenarios.some((s) => s.id === 'C1')) {
    parts.push(
      '## Codecs (C1): MB/s, median of the rounds (slowest–fastest round)',
      '',
      'Decode:',
      '',
      codecTable(results.scenarios, 'decode'),
      '',
      'Encode (packages with an encoder):',
      '',
      codecTable(results.scenarios, 'encode'),
      '',
    );
  }
  if (results.failures.length > 0) {
    parts.push('## Failures', '', ...results.failures.map((f) => `- ${f}`), '');
  }
  return parts.join('\n');
}

// ---- Chart -------------------------------------------------------------------------------------

const SERIES: readonly Series[] = [
  { id: 'mai', name: 'mai', color: '#e8590c' },
  { id: 'mai-borrow', name: 'mai, borrowed frames', color: '#ffa94d' },
  { id: 'hand', name: 'hand-written', color: '#1971c2' },
  { id: 'naive', name: 'naive', color: '#adb5bd' },
  { id: 'split2', name: 'split2', color: '#7048e8' },
  { id: 'raw', name: 'raw bytes (ceiling)', color: '#2f9e44' },
  { id: 'it-lp', name: 'it-length-prefixed', color: '#f08c00' },
  { id: 'lps', name: 'length-prefixed-stream', color: '#0c8599' },
  { id: 'bare', name: 'bare net.Socket', color: '#495057' },
];

/** Bars of `servers` (those present), relative to `reference`. */
function bars(
  figures: readonly SuiteFigure[],
  servers: readonly string[],
  reference: string,
  label: (v: number) => string,
  series: (server: string) => string = (server) => server,
): Bar[] {
  const base = figures.find((f) => f.server === reference)?.median ?? Number.NaN;
  return servers.flatMap((server) => {
    const f = figures.find((x) => x.server === server);
    if (f === undefined) return [];
    return [{ series: series(server), relative: f.median / base, label: label(f.median) }];
  });
}

/** A ratio target as a level of the chart, where 1× is the ratio's baseline. */
function targetLevel(scenario: string, name: string): Group['target'] {
  const t = targetFor(scenario, name);
  return t === undefined ? undefined : { level: t.limit, text: `mai ${boundText(t)}×` };
}

function chartPanels(scenarios: readonly SuiteScenario[]): Panel[] {
  const panels: Panel[] = [];
  const endToEnd: Group[] = [];
  for (const s of scenarios.filter((x) => x.id.startsWith('E'))) {
    const lines = s.id === 'E5';
    const reference = lines ? 'split2' : 'hand';
    const servers = lines
      ? ['mai', 'mai-borrow', 'split2', 'raw']
      : ['mai', 'mai-borrow', 'hand', 'naive', 'raw'];
    const latency = s.id === 'E4';
    const figures = latency ? (s.more['round trips/s'] ?? []) : s.servers;
    const size = lines ? `${s.title.match(/\d+ B/)?.[0] ?? ''} lines` : /^[^,]*/.exec(s.title)?.[0];
    const target = lines
      ? targetLevel('E5', 'mai/split2')
      : latency
        ? undefined
        : targetLevel(s.id, 'mai/hand');
    endToEnd.push({
      title: `${s.id} · ${latency ? '1 in flight' : size}`,
      subtitle: latency ? 'round trips/s' : s.figure,
      bars: bars(figures, servers, reference, s.figure === 'MB/s' ? whole : human),
      target,
    });
  }
  if (endToEnd.length > 0) {
    panels.push({
      title: 'End to end: mai beside its baselines (higher is better)',
      axis: '1× = the hand-written server (E5: split2, the lines baseline); bars labelled with the absolute figure',
      groups: endToEnd,
    });
  }
  const decode = scenarios.filter((s) => s.id === 'C1' && s.title.startsWith('decode'));
  if (decode.length > 0) {
    panels.push({
      title: 'C1 codec decode, same wire format (varint length): MB/s (higher is better)',
      axis: '1× = it-length-prefixed; at 64 KiB and 1 MiB the packages hand out views of the input, mai copies',
      groups: decode.map((s) => ({
        title: `C1 · ${s.title.replace('decode, ', '').replace(' frames', '')}`,
        subtitle: 'decode MB/s',
        bars: bars(s.servers, ['lp-varint', 'it-lp', 'lps'], 'it-lp', mbps, (id) =>
          id === 'lp-varint' ? 'mai' : id,
        ),
        target: targetLevel(
          'C1',
          `decode lp-varint/it-lp ${s.title.replace('decode, ', '').replace(' frames', '')}`,
        ),
      })),
    });
  }
  const memory: Group[] = [];
  const m1 = scenarios.find((s) => s.id === 'M1');
  if (m1 !== undefined) {
    const bare = m1.servers.find((f) => f.server === 'bare')?.median ?? Number.NaN;
    const heapTarget = targetFor('M1', 'heap above bare');
    memory.push({
      title: 'M1 · JS heap',
      subtitle: 'bytes per idle connection',
      bars: bars(m1.servers, ['bare', 'mai'], 'bare', whole),
      target: heapTarget && {
        level: (bare + heapTarget.limit) / bare,
        text: `mai ≤ bare + ${heapTarget.limit} B`,
      },
    });
    memory.push({
      title: 'M1 · RSS',
      subtitle: 'bytes per idle connection',
      bars: bars(m1.more['RSS bytes per connection'] ?? [], ['bare', 'mai'], 'bare', whole),
    });
  }
  const m2 = scenarios.find((s) => s.id === 'M2');
  if (m2 !== undefined) {
    memory.push({
      title: 'M2 · allocation',
      subtitle: 'V8 heap bytes per frame (E1)',
      bars: bars(m2.servers, ['mai', 'mai-borrow', 'hand'], 'hand', whole),
    });
    memory.push({
      title: 'M2 · collections',
      subtitle: 'scavenges per M frames',
      bars: bars(
        m2.more['scavenges per M frames'] ?? [],
        ['mai', 'mai-borrow', 'hand'],
        'hand',
        whole,
      ),
    });
  }
  if (memory.length > 0) {
    panels.push({
      title: 'Memory: mai beside its baselines (lower is better)',
      axis: '1× = the bare net.Socket server (M1) or the hand-written server (M2)',
      groups: memory,
    });
  }
  return panels;
}

/**
 * Writes bench/results/<base>.md and <base>.svg from the suite's results.
 *
 * @example
 * ```ts
 * writeReports(results, 'latest'); // latest.md, latest.svg
 * ```
 */
export function writeReports(results: SuiteResults, base: string): void {
  writeFileSync(join(RESULTS, `${base}.md`), markdown(results, `${base}.svg`));
  const { machine, git } = results;
  const title = `mai benchmarks${results.quick ? ' (quick)' : ''} — ${results.timestamp.slice(0, 16).replace('T', ' ')} UTC`;
  const notes = [
    `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; commit ${git.commit.slice(0, 10)}${git.dirty ? ' (uncommitted changes)' : ''}; load average ${results.loadAverage.start[0]?.toFixed(2)} at the start, on a shared machine`,
    'Each bar: the median of the runs; above it the absolute figure and the ratio to the reference (1×). Dashed red: the PERFORMANCE.md target.',
  ];
  writeFileSync(
    join(RESULTS, `${base}.svg`),
    barChart(title, notes, chartPanels(results.scenarios), SERIES),
  );
}
