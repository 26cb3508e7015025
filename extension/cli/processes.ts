/** `ps`: per-process memory, fork families, and what forked children share with or copied from their parents. */
import { UsageError } from '../core/catalog';
import { formatBytes } from '../core/format-words';
import { explainFamily } from '../core/processes/explain';
import { memoryReport } from '../core/processes/scan';
import type { Family, MemoryReport, ProcessMemory } from '../core/processes/types';
import { Failure, table, type Command } from './common';

function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines.join('\n');
}

function commandText(p: ProcessMemory): string {
  const cmd = p.cmdline.length > 0 ? p.cmdline.join(' ') : `[${p.comm}]`;
  return cmd.length > 80 ? cmd.slice(0, 79) + '…' : cmd;
}

const HEAD = ['PID', 'RSS', 'PSS', 'USS', 'SHARED', 'COPIED', 'COMMAND'];

function row(p: ProcessMemory, prefix: string): string[] {
  const inh = p.inherited;
  const mark = inh && !inh.exact ? '~' : '';
  return [
    prefix + String(p.pid),
    formatBytes(p.rss),
    formatBytes(p.pss),
    formatBytes(p.uss),
    inh ? mark + formatBytes(inh.sharedBytes) : '',
    inh ? mark + formatBytes(inh.copiedBytes) : '',
    commandText(p),
  ];
}

function familyRows(f: Family, byPid: Map<number, ProcessMemory>): string[][] {
  const rows: string[][] = [];
  const kids = new Map<number, number[]>();
  for (const m of f.members) {
    const p = byPid.get(m);
    if (!p || m === f.root) continue;
    kids.set(p.ppid, [...(kids.get(p.ppid) ?? []), m]);
  }
  const walk = (pid: number, lead: string, branch: string) => {
    const p = byPid.get(pid);
    if (!p) return;
    rows.push(row(p, lead + branch));
    const cs = kids.get(pid) ?? [];
    const next = lead + (branch === '' ? '' : branch === '└─ ' ? '   ' : '│  ');
    cs.forEach((c, i) => walk(c, next, i === cs.length - 1 ? '└─ ' : '├─ '));
  };
  walk(f.root, '', '');
  const mark = f.exact ? '' : '~';
  rows.push([
    `= family`,
    formatBytes(f.rssSum),
    formatBytes(f.trueBytes),
    '',
    mark + formatBytes(f.sharedBytes),
    mark + formatBytes(f.copiedBytes),
    `${f.members.length} processes; true RAM ${formatBytes(f.trueBytes)}, top says ${formatBytes(f.rssSum)}`,
  ]);
  return rows;
}

function reportText(r: MemoryReport, one: boolean): string {
  const byPid = new Map(r.processes.map((p) => [p.pid, p]));
  const rows: string[][] = [HEAD];
  for (const f of r.families) rows.push(...familyRows(f, byPid));
  for (const p of r.processes) if (p.family === null) rows.push(row(p, ''));
  const anyEstimate = r.processes.some((p) => p.inherited && !p.inherited.exact);
  const head: string[] = [];
  const fam = r.families.length;
  head.push(
    `${r.processes.length} process${r.processes.length === 1 ? '' : 'es'}, ${fam} fork famil${fam === 1 ? 'y' : 'ies'}` +
      (r.uninspectable > 0 ? `; ${r.uninspectable} not inspectable (not counted)` : '') +
      (r.zombies > 0 ? `; ${r.zombies} zombie${r.zombies === 1 ? '' : 's'}` : ''),
  );
  if (anyEstimate) head.push(`~ marks figures estimated from smaps${r.exactAvailable ? ' (pass --exact to count pages)' : ' (exact counts need CAP_SYS_ADMIN)'}`);
  const lines = [...head, '', table(rows, new Set([1, 2, 3, 4, 5]))];
  for (const f of r.families) {
    const e = explainFamily(f, byPid);
    if (!one && e.verdict !== 'copying' && e.verdict !== 'copied') continue;
    lines.push('', `family of ${f.root}: ${e.summary}`);
    for (const p of one ? e.paragraphs : e.paragraphs.slice(-2)) lines.push(wrap(p, 100, '  '));
  }
  return lines.join('\n');
}

export const PROCESS_COMMANDS: Command[] = [
  {
    name: 'ps',
    synopsis: 'ps [--json] [--family PID] [--exact]',
    summary:
      'memory of every process (RSS, PSS, USS, swap), fork families (a parent and its forked workers) with their true RAM, and for each forked child what it still shares with its parent and what it has copied since fork (estimated from smaps; --exact counts pages from pagemap, needs CAP_SYS_ADMIN). --family takes any member and shows its whole family',
    options: { family: { type: 'string' }, exact: { type: 'boolean' } },
    positionals: [0, 0],
    async run(ctx) {
      let family: number | undefined;
      if (ctx.values.family !== undefined) {
        const t = String(ctx.values.family);
        if (!/^\d+$/.test(t) || Number(t) <= 0 || !Number.isSafeInteger(Number(t))) throw new UsageError(`--family: '${t}' is not a process ID`);
        family = Number(t);
      }
      const report = await memoryReport({ exact: ctx.values.exact === true, family });
      if (family !== undefined && report.processes.length === 0) throw new Failure(`${family}: no such process, or not inspectable`, 'ENOENT');
      if (ctx.json) ctx.printJson(report);
      else ctx.print(reportText(report, family !== undefined));
      return 0;
    },
  },
];
