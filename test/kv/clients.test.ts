import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { createClient, RESP_TYPES } from 'redis';
import { type KvServer, startKvServer } from '../../examples/kv/kv-server.js';

/** Resolves with the first value `register` delivers, or rejects after `ms`. */
function first<T>(register: (deliver: (value: T) => void) => void, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nothing delivered within ${ms} ms`)), ms);
    register((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

async function server(t: { after: (fn: () => Promise<unknown>) => void }): Promise<KvServer> {
  const kv = await startKvServer({ port: 0 });
  t.after(async () => {
    await kv.close(2000);
    assert.equal(kv.engine.stats().streams, 0, 'every client connection was closed');
  });
  return kv;
}

test('ioredis: basic commands, binary keys and values, errors as ioredis reports them', async (t) => {
  const kv = await server(t);
  const redis = new Redis({
    port: kv.port as number,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
  });
  t.after(() => redis.disconnect());
  await redis.connect();
  assert.equal(await redis.ping(), 'PONG');
  assert.equal(await redis.set('name', 'mai'), 'OK');
  assert.equal(await redis.get('name'), 'mai');
  assert.equal(await redis.set('name', 'again', 'NX'), null);
  assert.equal(await redis.set('ttl', 'v', 'EX', 100), 'OK');
  assert.equal(await redis.ttl('ttl'), 100);
  assert.equal(await redis.incrby('n', 41), 41);
  assert.equal(await redis.incr('n'), 42);
  assert.equal(await redis.mset({ a: '1', b: '2' }), 'OK');
  assert.deepEqual(await redis.mget('a', 'b', 'missing'), ['1', '2', null]);
  assert.equal(await redis.hset('h', { f1: 'v1', f2: 'v2' }), 2);
  assert.deepEqual(await redis.hgetall('h'), { f1: 'v1', f2: 'v2' });
  assert.equal(await redis.rpush('l', 'a', 'b', 'c'), 3);
  assert.deepEqual(await redis.lrange('l', 0, -1), ['a', 'b', 'c']);
  assert.equal(await redis.type('l'), 'list');
  const key = Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0xc3]);
  const value = Buffer.from([0xde, 0xad, 0x00, 0xbe, 0xef, 0x0d, 0x0a]);
  assert.equal(await redis.set(key, value), 'OK');
  assert.deepEqual(await redis.getBuffer(key), value);
  assert.deepEqual(await redis.callBuffer('KEYS', Buffer.from([0x00, 0x2a])), [key]);
  await assert.rejects(
    redis.lpush('name', 'x'),
    /^ReplyError: WRONGTYPE Operation against a key holding the wrong kind of value$/,
  );
  await assert.rejects(redis.call('NOSUCH', 'arg'), {
    message: "ERR unknown command 'NOSUCH', with args beginning with: 'arg' ",
  });
  await assert.rejects(redis.call('GET'), {
    message: "ERR wrong number of arguments for 'get' command",
  });
  const [cursor, keys] = await redis.scan('0', 'MATCH', 'n*', 'COUNT', 100);
  assert.equal(cursor, '0');
  assert.deepEqual(keys.sort(), ['n', 'name']);
  assert.match(await redis.info('keyspace'), /db0:keys=8,expires=1/);
  assert.equal(await redis.quit(), 'OK');
});

test('ioredis: a pipeline of 2,000 commands comes back complete and in order', async (t) => {
  const kv = await server(t);
  const redis = new Redis({ port: kv.port as number, host: '127.0.0.1', lazyConnect: true });
  t.after(() => redis.disconnect());
  await redis.connect();
  const pipeline = redis.pipeline();
  for (let i = 0; i < 1000; i++) pipeline.set(`k${i}`, `v${i}`).get(`k${i}`);
  const results = await pipeline.exec();
  assert.ok(results !== null);
  assert.equal(results.length, 2000);
  for (let i = 0; i < 1000; i++) {
    assert.deepEqual(results[2 * i], [null, 'OK']);
    assert.deepEqual(results[2 * i + 1], [null, `v${i}`]);
  }
  assert.equal(await redis.dbsize(), 1000);
});

test('ioredis: SUBSCRIBE and PSUBSCRIBE receive what PUBLISH sends (RESP2 arrays)', async (t) => {
  const kv = await server(t);
  const subscriber = new Redis({ port: kv.port as number, host: '127.0.0.1', lazyConnect: true });
  const publisher = new Redis({ port: kv.port as number, host: '127.0.0.1', lazyConnect: true });
  t.after(() => {
    subscriber.disconnect();
    publisher.disconnect();
  });
  await Promise.all([subscriber.connect(), publisher.connect()]);
  assert.equal(await subscriber.subscribe('news', 'sport'), 2);
  assert.equal(await subscriber.psubscribe('n*'), 3);
  const message = first<[string, string]>((deliver) =>
    subscriber.once('message', (channel, text) => deliver([channel, text])),
  );
  const pmessage = first<[string, string, string]>((deliver) =>
    subscriber.once('pmessage', (pattern, channel, text) => deliver([pattern, channel, text])),
  );
  assert.equal(await publisher.publish('news', 'hello'), 2);
  assert.deepEqual(await message, ['news', 'hello']);
  assert.deepEqual(await pmessage, ['n*', 'news', 'hello']);
  assert.equal(await publisher.publish('weather', 'rain'), 0);
  await subscriber.unsubscribe('news');
  assert.equal(await publisher.publish('news', 'again'), 1, 'only the pattern is left');
  assert.match(await publisher.info('stats'), /pubsub_channels:1\r\npubsub_patterns:1/);
});

for (const RESP of [2, 3] as const) {
  test(`node-redis (RESP${RESP}): connect handshake, basics, binary values, errors`, async (t) => {
    const kv = await server(t);
    const client = createClient({
      socket: { port: kv.port as number, host: '127.0.0.1', reconnectStrategy: false },
      RESP,
    });
    client.on('error', () => {});
    t.after(() => client.destroy());
    await client.connect();
    assert.equal(await client.ping(), 'PONG');
    assert.equal(await client.set('k', 'v', { expiration: { type: 'PX', value: 100_000 } }), 'OK');
    assert.equal(await client.get('k'), 'v');
    assert.ok((await client.pTTL('k')) > 99_000);
    assert.equal(await client.hSet('h', { a: '1', b: '2' }), 2);
    assert.deepEqual({ ...(await client.hGetAll('h')) }, { a: '1', b: '2' });
    assert.equal(await client.lPush('l', ['a', 'b']), 2);
    assert.deepEqual(await client.lRange('l', 0, -1), ['b', 'a']);
    assert.equal(await client.exists(['k', 'h', 'l', 'missing']), 3);
    assert.equal(await client.del(['k']), 1);
    assert.equal(await client.get('k'), null);
    assert.equal(await client.clientSetName('mai-test'), 'OK');
    assert.equal(await client.clientGetName(), 'mai-test');
    assert.equal(typeof (await client.clientId()), 'number');
    const bytes = Buffer.from([0, 0xff, 0x80, 0x0d, 0x0a]);
    await client.set(bytes, bytes);
    const binary = client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    assert.deepEqual(await binary.get(bytes), bytes);
    await assert.rejects(client.incr('h'), {
      message: 'WRONGTYPE Operation against a key holding the wrong kind of value',
    });
    await assert.rejects(client.sendCommand(['NOSUCH']), {
      message: "ERR unknown command 'NOSUCH', with args beginning with: ",
    });
    // Auto-pipelining: every command of one tick leaves in one write, replies in order.
    const many = await Promise.all(
      Array.from({ length: 500 }, (_, i) => client.incr('counter').then((n) => n - i)),
    );
    assert.ok(many.every((n) => n === 1));
    const piped = await client.multi().set('p', '1').incr('p').get('p').execAsPipeline();
    assert.deepEqual(piped, ['OK', 2, '2']);
  });

  test(`node-redis (RESP${RESP}): pub/sub${RESP === 3 ? ' with push frames' : ''}`, async (t) => {
    const kv = await server(t);
    const client = createClient({
      socket: { port: kv.port as number, host: '127.0.0.1', reconnectStrategy: false },
      RESP,
    });
    client.on('error', () => {});
    t.after(() => client.destroy());
    await client.connect();
    const subscriber = client.duplicate();
    subscriber.on('error', () => {});
    t.after(() => subscriber.destroy());
    await subscriber.connect();
    const received = first<[string, string]>(
      (deliver) =>
        void subscriber.subscribe('news', (message, channel) => deliver([channel, message])),
    );
    const patterned = first<[string, string]>(
      (deliver) =>
        void subscriber.pSubscribe('ne*', (message, channel) => deliver([channel, message])),
    );
    // Subscriptions are confirmed before PUBLISH counts them; poll until both are in (bounded).
    for (let i = 0; i < 100 && (await client.publish('probe', '')) === 0; i++) {
      if (Number((await client.sendCommand(['PUBSUB', 'NUMPAT'])) as number) === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(await client.publish('news', 'hello'), 2);
    assert.deepEqual(await received, ['news', 'hello']);
    assert.deepEqual(await patterned, ['news', 'hello']);
    if (RESP === 3) {
      // RESP3: the subscribed connection still runs ordinary commands.
      assert.equal(await subscriber.get('missing'), null);
    }
    await subscriber.unsubscribe('news');
    await subscriber.pUnsubscribe('ne*');
    assert.equal(await client.publish('news', 'nobody'), 0);
  });
}

test('ioredis: MULTI/EXEC, a runtime error inside, EXECABORT, and WATCH aborting on a change', async (t) => {
  const kv = await server(t);
  const options = { port: kv.port as number, host: '127.0.0.1', lazyConnect: true };
  const redis = new Redis(options);
  const other = new Redis(options);
  t.after(() => {
    redis.disconnect();
    other.disconnect();
  });
  await Promise.all([redis.connect(), other.connect()]);
  const results = await redis.multi().set('k', 'x').incr('k').get('k').exec();
  assert.ok(results !== null);
  assert.deepEqual(results[0], [null, 'OK']);
  assert.match(String(results[1]?.[0]), /ERR value is not an integer or out of range/);
  assert.deepEqual(results[2], [null, 'x']);
  await assert.rejects(redis.multi().set('k', 'y').call('NOSUCH').exec(), (error: Error) => {
    assert.match(error.message, /EXECABORT Transaction discarded because of previous errors/);
    return true;
  });
  assert.equal(await redis.get('k'), 'x', 'the aborted transaction changed nothing');
  assert.equal(await redis.watch('k'), 'OK');
  assert.equal(await other.set('k', 'changed'), 'OK');
  assert.equal(await redis.multi().set('k', 'mine').exec(), null, 'WATCH aborted the EXEC');
  assert.equal(await redis.get('k'), 'changed');
  assert.equal(await redis.watch('k'), 'OK');
  assert.deepEqual(await redis.multi().set('k', 'mine').exec(), [[null, 'OK']]);
  assert.equal(await other.get('k'), 'mine');
});
