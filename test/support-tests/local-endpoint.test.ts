/**
 * The shared plumbing of the local endpoints: an idle keep-alive connection stays open, so a
 * client with one attempt never sends on a connection the server is closing (ECONNRESET).
 */
import { Agent, request } from 'node:http';
import { listenOnLoopback } from '../support/local-endpoint';

function get(endpoint: string, agent: Agent): Promise<{ reusedSocket: boolean; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${endpoint}/`, { agent }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ reusedSocket: req.reusedSocket, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('listenOnLoopback', () => {
  it("keeps an idle keep-alive connection open past Node's 5 s default", async () => {
    // Arrange
    const server = await listenOnLoopback((_req, res) => {
      res.end('ok');
      return Promise.resolve();
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // Act: a call, 7 s idle (Node closes after 5 s and a second of grace), another call.
      const first = await get(server.endpoint, agent);
      await new Promise((resolve) => setTimeout(resolve, 7_000));
      const second = await get(server.endpoint, agent);

      // Assess: the second call went over the first one's connection.
      expect([first, second]).toEqual([
        { reusedSocket: false, body: 'ok' },
        { reusedSocket: true, body: 'ok' },
      ]);
    } finally {
      agent.destroy();
      await server.stop();
    }
  }, 15_000);
});
