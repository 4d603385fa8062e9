/** Whether an error is a backend running out of memory (the CUDA backend's cudaMalloc, and others' "out of memory"). */
export function isOutOfMemory(e: unknown): boolean {
  return e instanceof Error && /out of memory/i.test(e.message);
}

/** A training step that ran out of memory before any adapter was updated; nothing of it remains. */
export class StepOutOfMemory extends Error {
  constructor(readonly rows: number, override readonly cause: Error) {
    super(`a step of ${rows} rows ran out of memory: ${cause.message}`);
    this.name = 'StepOutOfMemory';
  }
}
