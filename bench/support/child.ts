import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cleanup } from './cleanup.ts';

export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Runs a TypeScript file of bench/support in its own Node process (through tsx), with a pipe on stdin
 * that the child watches: when this process dies, the pipe closes and the child exits too.
 */
export function spawnTs(file: string, args: string[], cleanup: Cleanup, name: string): { child: ChildProcess; stop: () => Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'bench', 'support', file), ...args], {
    cwd: projectRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const stop = cleanup.add(name, () => stopChild(child));
  return { child, stop };
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.stdin?.end();
    child.kill('SIGTERM');
  });
}

/** Reads the child's stdout line by line until `pick` returns a value (or the child exits). */
export function firstLine<T>(child: ChildProcess, pick: (line: string) => T | undefined, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => finish(new Error(`no answer from child process after ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        const value = pick(line);
        if (value !== undefined) return finish(undefined, value);
      }
    };
    const onExit = (code: number | null, signal: string | null) => finish(new Error(`child process exited (code ${code}, signal ${signal}) before answering`));
    function finish(error: Error | undefined, value?: T) {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(value as T);
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** For a child: exit when the parent goes away (stdin closes) or asks (SIGTERM/SIGINT). */
export function exitWithParent(onExit: () => Promise<void> | void): void {
  let exiting = false;
  const exit = () => {
    if (exiting) return;
    exiting = true;
    void Promise.resolve().then(onExit).catch(() => undefined).finally(() => process.exit(0));
  };
  process.stdin.on('end', exit);
  process.stdin.on('error', exit);
  process.stdin.resume();
  process.once('SIGTERM', exit);
  process.once('SIGINT', exit);
}
