// Any store as a FeedSource: one that implements the interface is used as it
// is; another is read through its events, which is exact but reads every
// event since the window's start (O(events) instead of O(addresses)).
import type { EventReader, FeedEvent, FeedSnapshot, FeedSource, SensorRecord } from '../store/store.ts';

const PAGE = 4096;

export function isFeedSource(store: object): store is FeedSource {
  return typeof (store as Partial<FeedSource>).feedSnapshot === 'function' && typeof (store as Partial<FeedSource>).sensors === 'function';
}

export function feedSourceOf(store: EventReader & { sensors?(): Promise<SensorRecord[]> }): FeedSource {
  if (isFeedSource(store)) return store;
  return {
    async feedSnapshot(): Promise<FeedSnapshot> {
      return {
        async *events(from: number, to: number): AsyncGenerator<FeedEvent[]> {
          let page: FeedEvent[] = [];
          for await (const e of store.events({ since: from })) {
            if (e.time >= to) continue;
            page.push(e);
            if (page.length === PAGE) {
              yield page;
              page = [];
            }
          }
          if (page.length > 0) yield page;
        },
        async close() {},
      };
    },
    sensors: async () => (await store.sensors?.()) ?? [],
  };
}
