import type { PipelineCheckpoint } from "@sluice/pipeline";
import type { RunState } from "./types.js";

/**
 * What a parked run keeps once its pause window has released the live context: the parts of its
 * checkpoint that are its own data (state and trigger event) as JSON text, and where it continues
 * (next stage, its id, the stage it paused in, the sequence number). Everything else in a
 * checkpoint is already on the run record (ids, the waits it is parked on, which the wait index
 * holds anyway) and is put back on restore, so the text stays small and serialising it on every
 * park stays cheap.
 */
export class ReleasedCheckpoint {
  private constructor(
    /** `{"s": state, "e": event}` as JSON (an `undefined` event is simply absent). */
    private json: string,
    /** Index of the stage to run next. */
    readonly nextStage: number,
    /** Its id (`null` when the run paused in its last stage). */
    readonly nextStageId: string | null,
    /** The stage the run paused in; `undefined` for a checkpoint made before the field existed. */
    readonly pausedAfterStageId: string | undefined,
    /** Last lifecycle sequence number used. */
    readonly seq: number,
  ) {}

  /**
   * Keeps `state` and the checkpoint's event as JSON.
   *
   * @throws whatever `JSON.stringify` throws (cycles, BigInt): the caller keeps the run live then.
   */
  static of(checkpoint: PipelineCheckpoint<RunState>, state: RunState): ReleasedCheckpoint {
    const json = JSON.stringify({ s: state, e: checkpoint.event });
    return new ReleasedCheckpoint(
      json,
      checkpoint.nextStage,
      checkpoint.nextStageId,
      checkpoint.pausedAfterStageId,
      checkpoint.seq,
    );
  }

  /** A fresh copy of the state. */
  state(): RunState {
    return (JSON.parse(this.json) as { s: RunState }).s;
  }

  /** Merges `patch` into the kept state (a signal to a released run). */
  patchState(merge: (state: RunState) => void): void {
    const parts = JSON.parse(this.json) as { s: RunState; e?: unknown };
    merge(parts.s);
    this.json = JSON.stringify(parts);
  }

  /** The whole checkpoint again, with fresh copies of state and event. */
  restore(
    runId: string,
    pipelineId: string,
    waits: PipelineCheckpoint<RunState>["pause"],
  ): PipelineCheckpoint<RunState> {
    const parts = JSON.parse(this.json) as { s: RunState; e?: unknown };
    const checkpoint: PipelineCheckpoint<RunState> = {
      version: 1,
      runId,
      pipelineId,
      nextStage: this.nextStage,
      nextStageId: this.nextStageId,
      state: parts.s,
      event: parts.e,
      pause: waits,
      seq: this.seq,
    };
    if (this.pausedAfterStageId !== undefined) checkpoint.pausedAfterStageId = this.pausedAfterStageId;
    return checkpoint;
  }
}
