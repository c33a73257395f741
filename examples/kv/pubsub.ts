import type { ProtocolEngine } from '../../src/engine/engine.js';
import { RespPush } from '../../src/codec/resp-types.js';
import { globMatch } from './glob.js';
import type { KvContext, KvProtocol } from './session.js';

const MESSAGE = Buffer.from('message');
const PMESSAGE = Buffer.from('pmessage');

/**
 * Channels and patterns, and delivery of PUBLISH.
 *
 * Messages go out as `RespPush` frames: a RESP3 client's codec writes them as `>3` pushes, a
 * RESP2 client's as `*3` arrays, which is what each expects. Channel messages use the engine's
 * `broadcast`: one frame, encoded by each subscriber's own codec. Pattern messages differ per
 * pattern (they carry it), so each matching pattern's subscribers get a frame of their own.
 *
 * Slow consumers: a subscriber whose outbound queue is above the engine's write high-water
 * mark (`ctx.writable` false) when a message arrives is dropped: unsubscribed from everything
 * and aborted (its queued output discarded, as Redis frees a client over its pub/sub output
 * buffer limit), and counted in `slowConsumersDropped` (INFO stats). No goodbye error is sent:
 * it would wait behind the very backlog that got the client dropped.
 *
 * @example
 * ```ts
 * const hub = new PubSub({ engine });
 * hub.subscribe(ctx, 'news');
 * hub.publish(Buffer.from('news'), Buffer.from('hello')); // 1
 * ```
 */
export class PubSub {
  readonly #owner: PubSubOwner;
  readonly #channels = new Map<string, Set<KvContext>>();
  readonly #patterns = new Map<string, Set<KvContext>>();
  /** Subscribers dropped as slow consumers since start. */
  slowConsumersDropped = 0;

  /** `owner.engine` is read at publish time: the engine is built after the hub. */
  constructor(owner: PubSubOwner) {
    this.#owner = owner;
  }

  get channelCount(): number {
    return this.#channels.size;
  }

  get patternCount(): number {
    return this.#patterns.size;
  }

  /** Channels with subscribers, those matching `pattern` if given (PUBSUB CHANNELS). */
  channels(pattern: string | undefined): string[] {
    const names: string[] = [];
    for (const name of this.#channels.keys())
      if (pattern === undefined || globMatch(pattern, name)) names.push(name);
    return names;
  }

  /** Subscribers of a channel (PUBSUB NUMSUB). */
  subscribers(channel: string): number {
    return this.#channels.get(channel)?.size ?? 0;
  }

  /** Adds a subscription; false if the client already had it. */
  subscribe(ctx: KvContext, channel: string): boolean {
    const session = ctx.session;
    session.channels ??= new Set();
    if (session.channels.has(channel)) return false;
    session.channels.add(channel);
    let subscribers = this.#channels.get(channel);
    if (subscribers === undefined) {
      subscribers = new Set();
      this.#channels.set(channel, subscribers);
    }
    subscribers.add(ctx);
    return true;
  }

  unsubscribe(ctx: KvContext, channel: string): boolean {
    const removed = ctx.session.channels?.delete(channel) ?? false;
    if (removed) remove(this.#channels, channel, ctx);
    return removed;
  }

  psubscribe(ctx: KvContext, pattern: string): boolean {
    const session = ctx.session;
    session.patterns ??= new Set();
    if (session.patterns.has(pattern)) return false;
    session.patterns.add(pattern);
    let subscribers = this.#patterns.get(pattern);
    if (subscribers === undefined) {
      subscribers = new Set();
      this.#patterns.set(pattern, subscribers);
    }
    subscribers.add(ctx);
    return true;
  }

  punsubscribe(ctx: KvContext, pattern: string): boolean {
    const removed = ctx.session.patterns?.delete(pattern) ?? false;
    if (removed) remove(this.#patterns, pattern, ctx);
    return removed;
  }

  /** Drops every subscription of a client (on close, or when dropped). */
  forget(ctx: KvContext): void {
    const { channels, patterns } = ctx.session;
    if (channels !== null) {
      for (const channel of channels) remove(this.#channels, channel, ctx);
      channels.clear();
    }
    if (patterns !== null) {
      for (const pattern of patterns) remove(this.#patterns, pattern, ctx);
      patterns.clear();
    }
  }

  /** Delivers a message; returns how many clients it was queued for (PUBLISH's reply). */
  publish(channel: Buffer, message: Buffer): number {
    const key = channel.toString('latin1');
    let receivers = 0;
    const subscribers = this.#channels.get(key);
    const slow: KvContext[] = [];
    if (subscribers !== undefined) {
      receivers += this.#owner.engine.broadcast(
        new RespPush([MESSAGE, channel, message]),
        (ctx) => {
          if (!subscribers.has(ctx)) return false;
          if (!this.#isSlow(ctx)) return true;
          slow.push(ctx);
          return false;
        },
      );
    }
    for (const [pattern, patternSubscribers] of this.#patterns) {
      if (!globMatch(pattern, key)) continue;
      const frame = new RespPush([PMESSAGE, Buffer.from(pattern, 'latin1'), channel, message]);
      for (const ctx of patternSubscribers) {
        if (this.#isSlow(ctx)) {
          slow.push(ctx);
          continue;
        }
        ctx.send(frame);
        receivers++;
      }
    }
    for (const ctx of slow) this.#drop(ctx);
    return receivers;
  }

  /** Above the high-water mark, the owner's output limit decides (dropped at once without one). */
  #isSlow(ctx: KvContext): boolean {
    return !ctx.writable && (this.#owner.overOutputLimit?.(ctx) ?? true);
  }

  #drop(ctx: KvContext): void {
    if (ctx.closed) return;
    this.forget(ctx);
    this.slowConsumersDropped++;
    ctx.abort();
  }
}

/** What the hub needs from the server: its engine and, optionally, a client output limit. */
interface PubSubOwner {
  readonly engine: ProtocolEngine<KvProtocol>;
  overOutputLimit?(ctx: KvContext): boolean;
}

function remove(index: Map<string, Set<KvContext>>, name: string, ctx: KvContext): void {
  const subscribers = index.get(name);
  if (subscribers === undefined) return;
  subscribers.delete(ctx);
  if (subscribers.size === 0) index.delete(name);
}
