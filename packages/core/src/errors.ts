/** One rejected field of a configuration: where it is and why it was refused. */
export interface ConfigIssue {
  /** Dotted path of the field, e.g. `rank` or `tasks[1].searchSpace.learningRate`. */
  field: string;
  reason: string;
}

/**
 * Thrown before any work starts when a configuration is invalid. Every bad field is
 * listed, not only the first, so a user fixes them all in one go.
 */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[], context = 'configuration') {
    super(`invalid ${context}:\n${issues.map((i) => `  - ${i.field}: ${i.reason}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Raised when a plugin's tap throws; it names the plugin and the hook it was running in. */
export class PluginError extends Error {
  readonly pluginName: string;
  readonly hookName: string;
  constructor(pluginName: string, hookName: string, cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(`plugin "${pluginName}" failed in hook "${hookName}": ${message}`, { cause });
    this.name = 'PluginError';
    this.pluginName = pluginName;
    this.hookName = hookName;
  }
}

/** Collects issues while validating, then throws them all at once. */
export class IssueCollector {
  readonly issues: ConfigIssue[] = [];
  add(field: string, reason: string): void {
    this.issues.push({ field, reason });
  }
  throwIfAny(context?: string): void {
    if (this.issues.length > 0) throw new ConfigError(this.issues, context);
  }
}
