import { expect } from 'chai';
import { pino } from 'pino';
import { bucketOf, createMetricsRecorder, seriesId } from '../../src/metrics/recorder.js';
import { useTestDatabase } from '../helpers/database.js';

describe('metrics recorder (counts shared by processes through the database)', () => {
  const test = useTestDatabase('metricsrec');
  const log = pino({ level: 'silent' });

  it('names a series by its name and sorted labels; puts an observation in its bucket', () => {
    expect(seriesId('x_total', { outcome: 'ok', lane: 'webhook' })).to.equal('x_total{lane=webhook,outcome=ok}');
    expect(seriesId('x', {})).to.equal('x');
    expect(bucketOf(0.05, [0.05, 0.1])).to.equal('0.05');
    expect(bucketOf(0.07, [0.05, 0.1])).to.equal('0.1');
    expect(bucketOf(3, [0.05, 0.1])).to.equal('+Inf');
  });

  it('several recorders (processes) counting the same new series at once add up exactly', async () => {
    const recorders = [0, 1, 2, 3].map(() => createMetricsRecorder({ models: test.db.models, log }));
    for (let round = 0; round < 3; round++) {
      for (const recorder of recorders) {
        recorder.poll('failed');
        recorder.delivery({ lane: 'webhook', outcome: 'delivered', attemptMs: 20, sinceRecordedMs: 300 });
      }
      await Promise.all(recorders.map((r) => r.flush()));
    }
    const docs = await test.db.models.MetricCounter.find({}).lean();
    const value = (id: string) => docs.find((d) => d._id === id)?.value;
    expect(value('reconbanker_polls_total{result=failed}')).to.equal(12);
    expect(value('reconbanker_delivery_attempts_total{lane=webhook,outcome=delivered}')).to.equal(12);
    expect(value('reconbanker_delivery_latency_seconds_bucket{lane=webhook,le=0.5}')).to.equal(12);
    expect(value('reconbanker_delivery_attempt_seconds_bucket{lane=webhook,le=0.025}')).to.equal(12);
    expect(value('reconbanker_delivery_latency_seconds_sum{lane=webhook}')).to.be.closeTo(3.6, 1e-9);
  });
});
