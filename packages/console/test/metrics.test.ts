import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { parsePrometheusText } from '../src/metrics.js';

test("a summary of prom-client's exposition: families, labels, histogram totals, queue depth", async () => {
  const registry = new Registry();
  const queue = new Gauge({
    name: 'kpfl_queue_jobs',
    help: 'Round jobs',
    labelNames: ['state'],
    registers: [registry],
  });
  queue.set({ state: 'waiting' }, 3);
  queue.set({ state: 'delayed' }, 1);
  const refusals = new Counter({
    name: 'kpfl_refusals_total',
    help: 'Refusals "quoted"\nand a new line',
    labelNames: ['rpc', 'reason'],
    registers: [registry],
  });
  refusals.inc({ rpc: 'Aggregator.GetTask', reason: 'a "quoted" \\ reason' }, 2);
  const h = new Histogram({
    name: 'kpfl_aggregation_seconds',
    help: 'Publish time',
    buckets: [1, 5],
    registers: [registry],
  });
  h.observe(0.5);
  h.observe(2);
  new Gauge({ name: 'process_x', help: 'not ours', registers: [registry] }).set(7);
  new Gauge({ name: 'kpfl_process_y', help: 'the process, prefixed', registers: [registry] }).set(8);

  const s = parsePrometheusText(await registry.metrics());
  assert.deepEqual(s.queue, { waiting: 3, delayed: 1 });
  assert.deepEqual(
    s.families.map((f) => f.name),
    ['kpfl_aggregation_seconds', 'kpfl_queue_jobs', 'kpfl_refusals_total', 'kpfl_process_y', 'process_x'],
    "kpfl's own first",
  );
  const refused = s.families.find((f) => f.name === 'kpfl_refusals_total')!;
  assert.equal(refused.type, 'counter');
  assert.equal(refused.help, 'Refusals "quoted"\nand a new line');
  assert.deepEqual(refused.samples, [
    { labels: { rpc: 'Aggregator.GetTask', reason: 'a "quoted" \\ reason' }, value: 2, suffix: '' },
  ]);
  const hist = s.families.find((f) => f.name === 'kpfl_aggregation_seconds')!;
  assert.deepEqual(
    hist.samples.map((x) => [x.suffix, x.value]),
    [
      ['_sum', 2.5],
      ['_count', 2],
    ],
    'buckets left out',
  );
});
