import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../tcp/index.js';
import { DeadlineQueue } from './deadlines.js';

describe('DeadlineQueue', () => {
  it('pops due items in deadline order, honouring updates and deletes', () => {
    const q = new DeadlineQueue<string>();
    q.set('a', 30);
    q.set('b', 10);
    q.set('c', 20);
    q.set('a', 5); // moved earlier
    q.set('c', 50); // moved later
    q.delete('b');
    expect(q.peek()).toBe(5);
    expect(q.popDue(25)).toEqual(['a']);
    expect(q.peek()).toBe(50);
    expect(q.popDue(100)).toEqual(['c']);
    expect(q.peek()).toBeUndefined();
    expect(q.size).toBe(0);
  });

  it('matches a brute-force model under random churn and stays compact', () => {
    const rnd = seededRandom(7);
    const q = new DeadlineQueue<number>();
    const model = new Map<number, number>();
    let now = 0;
    for (let step = 0; step < 20_000; step++) {
      const item = rnd() % 500;
      const op = rnd() % 10;
      if (op < 6) {
        const at = now + (rnd() % 1000);
        q.set(item, at);
        model.set(item, at);
      } else if (op < 7) {
        q.delete(item);
        model.delete(item);
      } else {
        now += rnd() % 50;
        const due = q.popDue(now);
        const expected = [...model].filter(([, at]) => at <= now).sort((x, y) => x[1] - y[1]);
        expect(due.map((d) => model.get(d))).toEqual(expected.map(([, at]) => at));
        for (const d of due) model.delete(d);
      }
      const min = Math.min(...model.values());
      expect(q.peek()).toBe(model.size === 0 ? undefined : min);
    }
    expect(q.size).toBe(model.size);
  });

  it('lets go of an item at once when it is deleted or its deadline superseded, before the stale entry surfaces', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const q = new DeadlineQueue<object>();
    const keep = { name: 'keep' };
    q.set(keep, 100); // live and earlier than the stale entries: they stay in the heap
    let refs: WeakRef<object>[] = [];
    (() => {
      const deleted = { name: 'deleted' };
      const moved = { name: 'moved' };
      q.set(deleted, 500_000);
      q.set(moved, 600_000);
      q.delete(deleted);
      q.set(moved, 10); // its entry at 600,000 is now stale
      expect(q.popDue(20)).toEqual([moved]);
      refs = [new WeakRef(deleted), new WeakRef(moved)];
    })();
    await new Promise((r) => setImmediate(r));
    gc();
    expect(refs.map((r) => r.deref())).toEqual([undefined, undefined]);
    expect(q.size).toBe(1);
    expect(q.peek()).toBe(100);
  });
});
