/**
 * A plugin is a small object: a name, options validated when it is built, and `apply`,
 * which taps the session's hooks and returns the function that undoes it.
 * A stateful plugin can save and restore its state so that a run resumes where it stopped.
 */
export interface Plugin<S> {
  readonly name: string;
  apply(session: S): () => void;
  saveState?(): unknown;
  loadState?(state: unknown): void;
}
