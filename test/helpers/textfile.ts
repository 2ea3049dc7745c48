/**
 * A reader in another process that reads a file over and over while it is being replaced,
 * as node_exporter's textfile collector does on each scrape, and tells what it saw.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './cli.js';

export interface PollReport {
  /** Reads that found the file. */
  reads: number;
  /** Reads whose text was none of the complete versions (a file read half-written, or empty). */
  partial: number;
  /** Reads that found no file after one had been read: a replacement that was not one step. */
  vanished: number;
  /** The first text that was not complete, cut to 200 characters. */
  example?: string;
}

// Plain JavaScript: the child runs without the test's TypeScript loader.
const POLLER = `
const { readFileSync, existsSync } = require('node:fs');
const [path, versionsFile, stopFile] = process.argv.slice(1);
const versions = new Set(JSON.parse(readFileSync(versionsFile, 'utf8')));
const report = { reads: 0, partial: 0, vanished: 0 };
let seen = false;
process.stdout.write('polling\\n');
while (!existsSync(stopFile)) {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
    if (seen) report.vanished++;
    continue;
  }
  seen = true;
  report.reads++;
  if (!versions.has(text)) {
    report.partial++;
    report.example ??= text.slice(0, 200);
  }
}
process.stdout.write(JSON.stringify(report) + '\\n');
`;

/** Starts polling `path`; every text it may hold when complete is in `versions`. `stop()` ends the reader and gives its report. */
export async function pollFile(path: string, versions: string[]): Promise<{ stop(): Promise<PollReport> }> {
  const dir = tempDir();
  const versionsFile = join(dir, 'versions.json');
  const stopFile = join(dir, 'stop');
  writeFileSync(versionsFile, JSON.stringify(versions));
  const child = spawn(process.execPath, ['-e', POLLER, path, versionsFile, stopFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  const ended = new Promise<number | null>((resolve) => child.on('close', resolve));
  // The reader is under way before the first write.
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => output.includes('polling\n') && resolve());
    void ended.then(() => reject(new Error(`the reader ended early: ${output}`)));
  });
  return {
    async stop() {
      writeFileSync(stopFile, '');
      const code = await ended;
      if (code !== 0) throw new Error(`the reader failed (exit ${code}): ${output}`);
      return JSON.parse(output.split('\n').filter(Boolean).at(-1)!) as PollReport;
    },
  };
}
