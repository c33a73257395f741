import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Codec } from '../../src/codec/codec.js';
import { StandInLengthPrefixedCodec } from './stand-in-length-prefixed.js';

/** A codec the benchmarks can run, and where it came from (reported beside the figures). */
export interface LoadedCodec<F> {
  /** `src/codec/<file>.ts <Export>`, or the stand-in's name. */
  readonly source: string;
  readonly create: () => Codec<F>;
}

/**
 * Imports an export of a built-in codec module if its compiled file exists. The built-in codecs
 * are being written alongside the benchmarks, so a missing one is skipped and reported rather
 * than breaking the build: the import path is computed, so tsc does not need the file.
 *
 * @example
 * ```ts
 * const mod = await importBuiltIn('length-prefixed');
 * if (mod === undefined) console.log('length-prefixed codec not written yet');
 * ```
 */
export async function importBuiltIn(file: string): Promise<Record<string, unknown> | undefined> {
  const url = new URL(`../../src/codec/${file}.js`, import.meta.url);
  if (!existsSync(fileURLToPath(url))) return undefined;
  return (await import(url.href)) as Record<string, unknown>;
}

/**
 * The length-prefixed codec for the echo benchmark: the built-in `LengthPrefixedCodec` with its
 * defaults (4-byte big-endian length, payload Buffers) when it exists, else the stand-in.
 *
 * @example
 * ```ts
 * const { source, create } = await lengthPrefixedCodec();
 * ```
 */
export async function lengthPrefixedCodec(): Promise<LoadedCodec<Buffer>> {
  const mod = await importBuiltIn('length-prefixed');
  const ctor = mod?.LengthPrefixedCodec;
  if (typeof ctor === 'function') {
    const Ctor = ctor as new () => Codec<Buffer>;
    return { source: 'src/codec/length-prefixed.ts LengthPrefixedCodec', create: () => new Ctor() };
  }
  return {
    source: 'bench/support/stand-in-length-prefixed.ts (src/codec/length-prefixed.ts not found)',
    create: () => new StandInLengthPrefixedCodec(),
  };
}
