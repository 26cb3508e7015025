/**
 * A webview's settings store: one settings object, saved with vscode.setState so that it survives
 * a reload (and names the array for the panel serializer), read back through a check that drops
 * what is malformed. Generic over the settings' shape: the heatmap viewer keeps a ViewState
 * (state.ts); a table viewer keeps its own. DOM-free.
 */

/** What the store needs of the webview API (acquireVsCodeApi()). */
export interface StateApi {
  getState(): unknown;
  setState(s: unknown): void;
}

export class SettingsStore<S extends object> {
  private current: S;
  /** Nothing is saved until the settings belong to something (the first array shown). */
  private bound = false;

  constructor(
    private readonly api: StateApi,
    private readonly check: (raw: unknown) => S | null,
    initial: S,
  ) {
    this.current = initial;
  }

  /** The settings now. Change fields in place, then `save()`. */
  get state(): S {
    return this.current;
  }

  /** What was saved (a restored panel), checked field by field; null when nothing usable was. */
  saved(): S | null {
    return this.check(this.api.getState());
  }

  /** The settings for another array (or the same, reloaded): they replace the current ones and are saved. */
  replace(next: S): void {
    this.current = next;
    this.bound = true;
    this.save();
  }

  save(): void {
    if (this.bound) this.api.setState(this.current);
  }
}
