import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/config.js';

/** WEBHOOK_RETRY_SCHEDULE: retries must go on for at least 24 hours (SPEC §5), or start-up refuses it in one line. */
describe('WEBHOOK_RETRY_SCHEDULE (pure)', () => {
  function problems(value: string): string[] {
    try {
      loadConfig({ WEBHOOK_RETRY_SCHEDULE: value });
      return [];
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      return (error as ConfigError).problems;
    }
  }

  it('the default and any schedule adding up to 24 hours are accepted', () => {
    expect(loadConfig({}).webhooks.retryScheduleMs.reduce((a, b) => a + b, 0)).to.be.at.least(24 * 3_600_000);
    expect(loadConfig({ WEBHOOK_RETRY_SCHEDULE: '60, 86340' }).webhooks.retryScheduleMs).to.deep.equal([60_000, 86_340_000]);
    expect(loadConfig({ WEBHOOK_RETRY_SCHEDULE: '1,1,86400' }).webhooks.retryScheduleMs).to.deep.equal([1_000, 1_000, 86_400_000]);
  });

  it('a schedule that ends retries before 24 hours is refused with one line saying how long it lasts', () => {
    expect(problems('10,30,60')).to.deep.equal(['WEBHOOK_RETRY_SCHEDULE: retries must go on for at least 24 hours (these delays add up to 1 min 40 s); add delays or make them longer']);
    expect(problems('3600,3600')).to.deep.equal(['WEBHOOK_RETRY_SCHEDULE: retries must go on for at least 24 hours (these delays add up to 2 h); add delays or make them longer']);
    expect(problems('86399')).to.have.length(1);
  });

  it('anything but positive seconds is refused', () => {
    for (const bad of ['', 'ten', '10,,20', '10,-5,86400', '0,86400', 'Infinity']) {
      expect(problems(bad), JSON.stringify(bad)).to.deep.equal(['WEBHOOK_RETRY_SCHEDULE: expected seconds before each retry, comma separated (e.g. 10,30,60)']);
    }
  });
});
