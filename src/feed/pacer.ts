// Long builds share the event loop with the sensor: they call pace() between
// small units of work, and it lets other work run once the current slice of
// time is used up.
import { setImmediate as nextTurn } from 'node:timers/promises';

export type Pacer = () => Promise<void>;

/** A pacer that yields to the event loop after `sliceMs` of uninterrupted work. */
export function pacer(sliceMs = 10): Pacer {
  let sliceStart = performance.now();
  return async () => {
    if (performance.now() - sliceStart < sliceMs) return;
    await nextTurn();
    sliceStart = performance.now();
  };
}
