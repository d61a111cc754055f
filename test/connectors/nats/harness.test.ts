import { existsSync } from 'node:fs';
import { connect, StringCodec } from 'nats';
import { expect, it } from 'vitest';
import { describeNats, startNatsServer } from '../../helpers/nats.js';

const sc = StringCodec();

describeNats('nats-server test harness', () => {
  it('starts a JetStream server on a free port, keeps its store across a pause, removes it on stop', async () => {
    const server = await startNatsServer();
    try {
      const nc = await connect({ servers: server.url });
      const jsm = await nc.jetstreamManager();
      await jsm.streams.add({ name: 'H', subjects: ['h.>'] });
      await nc.jetstream().publish('h.x', sc.encode('one'));
      await nc.close();

      await server.pause();
      await expect(connect({ servers: server.url, reconnect: false, timeout: 500 })).rejects.toThrow();
      await server.restart();

      const again = await connect({ servers: server.url });
      const info = await (await again.jetstreamManager()).streams.info('H');
      expect(info.state.messages).toBe(1);
      await again.close();
    } finally {
      await server.stop();
    }
    expect(existsSync(server.dir)).toBe(false);
  });
});
