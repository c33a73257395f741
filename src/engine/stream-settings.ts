import { SERVER_DEFAULTS, type Settings } from './settings.js';

/**
 * The settings of one stream that depend on its role: a stream accepted by `listen` defends
 * itself against its peer by default, one made by `connect` or `manage` trusts it. Resolved once
 * per listener or connect call (0: the timeout is off).
 */
export interface StreamSettings {
  readonly partialFrameMs: number;
  readonly firstFrameMs: number;
  readonly pauseWhenWriteBlocked: boolean;
}

/** The per-call overrides of `listen`, `connect` and `manage`. */
export interface StreamSettingsOverrides {
  partialFrameTimeoutMs?: number;
  firstFrameTimeoutMs?: number;
  pauseReadingWhenWriteBlocked?: boolean;
}

/**
 * A stream's settings: the call's own values, else the engine's, else the role's default (on
 * for accepted streams, off for the rest).
 *
 * @example
 * ```ts
 * const accepted = streamSettingsFor(settings, true, listenOptions);
 * ```
 */
export function streamSettingsFor(
  settings: Settings,
  accepted: boolean,
  call: StreamSettingsOverrides,
): StreamSettings {
  return {
    partialFrameMs:
      call.partialFrameTimeoutMs ??
      settings.partialFrameTimeoutMs ??
      (accepted ? SERVER_DEFAULTS.partialFrameTimeoutMs : 0),
    firstFrameMs:
      call.firstFrameTimeoutMs ??
      settings.firstFrameTimeoutMs ??
      (accepted ? SERVER_DEFAULTS.firstFrameTimeoutMs : 0),
    pauseWhenWriteBlocked:
      call.pauseReadingWhenWriteBlocked ?? settings.pauseReadingWhenWriteBlocked ?? accepted,
  };
}
