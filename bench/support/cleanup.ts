/**
 * Everything a benchmark run starts (temp dirs, Redis, PostgreSQL, child processes, the product)
 * registers how to undo it here; `run()` undoes it in reverse order, each step bounded in time, and
 * is safe to call twice (normal end, error, or a signal).
 */
export class Cleanup {
  private readonly steps: { name: string; fn: () => unknown }[] = [];
  private running: Promise<void> | undefined;

  add(name: string, fn: () => unknown): () => Promise<void> {
    const step = { name, fn };
    this.steps.push(step);
    // Returns a function that runs this one step now (and removes it from the list).
    return async () => {
      const index = this.steps.indexOf(step);
      if (index < 0) return;
      this.steps.splice(index, 1);
      await runStep(step);
    };
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length > 0) await runStep(this.steps.pop()!);
    })();
    return this.running;
  }
}

async function runStep(step: { name: string; fn: () => unknown }, timeoutMs = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(step.fn),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs); }),
    ]);
  } catch (error) {
    process.stderr.write(`cleanup: ${step.name} failed: ${(error as Error).message}\n`);
  } finally {
    clearTimeout(timer);
  }
}
