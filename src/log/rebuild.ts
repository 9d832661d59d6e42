import {
  Family,
  keys,
  PROJECTION_FAMILIES,
  WriteOverlay,
  type RocksStore,
} from '../storage/index.js';
import { finishThread, openThreadState, projectEvent, type ThreadState } from './projector.js';
import { records } from './record-codec.js';

const BATCH_EVENTS = 2048;

/**
 * Recomputes every projection family (`versions`, `tails`, `threads`, `indexes`) from `events`
 * alone, with the same fold as the live writer. Run it offline (no writer open on the store).
 * @returns how many events were folded.
 */
export function rebuildProjections(store: RocksStore): number {
  for (const family of PROJECTION_FAMILIES) {
    for (;;) {
      const rows = store.scan(family, {
        gte: Buffer.alloc(0),
        lt: Buffer.alloc(32, 0xff),
        limit: 4096,
      });
      if (rows.length === 0) break;
      store.write(
        rows.map((row) => ({ type: 'del', family, key: row.key })),
        false,
      );
    }
  }
  let folded = 0;
  let overlay = new WriteOverlay(store);
  let state: ThreadState | undefined;
  let after: Buffer | undefined;
  const flush = (): void => {
    store.write(overlay.ops(), false);
    overlay = new WriteOverlay(store);
  };
  for (;;) {
    const gte = after ? Buffer.concat([after, Buffer.from([0])]) : Buffer.alloc(0);
    const rows = store.scan(Family.events, {
      gte,
      lt: Buffer.alloc(17, 0xff),
      limit: BATCH_EVENTS,
    });
    for (const row of rows) {
      const { thread } = keys.decodeThreadRevisionKey(row.key);
      if (state?.number !== thread) {
        if (state) finishThread(state, overlay);
        state = openThreadState(thread, undefined);
      }
      projectEvent(state, records.event.decode(row.value), overlay);
      folded++;
    }
    if (state) finishThread(state, overlay);
    flush();
    if (state) state = openThreadState(state.number, state.record);
    const last = rows[rows.length - 1];
    if (rows.length < BATCH_EVENTS || !last) break;
    after = last.key;
  }
  store.write([], true);
  return folded;
}
