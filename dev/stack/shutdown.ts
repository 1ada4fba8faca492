/**
 * The dev stack's shutdown: each piece registers how it stops as it starts, and the steps run in reverse (Temporal,
 * started first, stops last), except the API's server, which closes first although its socket opens first, so no
 * request arrives while the worker drains. A failed step is logged and the next one still runs.
 */
import type { AppLogger } from '../../observability';

type Step = () => Promise<void> | void;

export class Shutdown {
  private readonly steps: Step[] = [];
  private first: Step | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly logger: AppLogger) {}

  /** Registers a step, run before the steps registered earlier. */
  add(step: Step): void {
    this.steps.push(step);
  }

  /** Registers the step that runs before all others (the API's server). */
  addFirst(step: Step): void {
    this.first = step;
  }

  /** Runs every step once; later calls return the same promise. */
  run(): Promise<void> {
    this.running ??= this.runSteps();
    return this.running;
  }

  private async runSteps(): Promise<void> {
    const steps = [...(this.first ? [this.first] : []), ...this.steps.reverse()];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        this.logger.warn({ err }, 'dev stack: a shutdown step failed');
      }
    }
  }
}
