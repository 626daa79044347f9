/**
 * Wall time in microseconds, finer than Date's milliseconds: the monotonic clock's fraction,
 * anchored to the wall clock. Used to stamp file changes and to time a sync from one.
 */
import { performance } from 'node:perf_hooks';
import { realClock, type Clock } from './clock.ts';

/**
 * wallMicros is the clock's time in microseconds since the epoch. For the real clock it has
 * sub-millisecond precision (performance.now() anchored to Date.now(); when the two drift more
 * than a millisecond apart, as after the wall clock was set, the wall clock wins); for any other
 * clock (tests) it is clock.now() in whole milliseconds.
 */
export function wallMicros(clock: Clock = realClock): number {
  const wallMs = clock.now().getTime();
  if (clock !== realClock) return wallMs * 1000;
  const preciseMs = performance.timeOrigin + performance.now();
  if (Math.abs(preciseMs - wallMs) >= 1) return wallMs * 1000;
  return Math.floor(preciseMs * 1000);
}
