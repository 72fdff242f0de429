// The Node `ws` test server of the WebSocketLibrary acceptance tests: same protocol as
// ../servers/python_ws_server.py (see ../servers/PROTOCOL.md). Listens on a free loopback
// port and prints "LISTENING <port>".
'use strict';

const crypto = require('crypto');
const http = require('http');
const { WebSocketServer } = require('ws');

const TOKEN = 'secret-token';
const SUBPROTOCOLS = ['chat.v1', 'chat.v2'];
const MAX_SIZE = 32 * 1024 * 1024;

function verifyClient(info, done) {
  const path = info.req.url.split('?')[0];
  if (path.startsWith('/refuse/')) {
    done(false, Number(path.split('/').pop()), 'Refused', { 'Retry-After': '5' });
  } else if (path === '/auth' && info.req.headers.authorization !== `Bearer ${TOKEN}`) {
    done(false, 401, 'Unauthorized', { 'WWW-Authenticate': 'Bearer' });
  } else {
    done(true);
  }
}

function handleProtocols(offered) {
  for (const protocol of offered) {
    if (SUBPROTOCOLS.includes(protocol)) return protocol;
  }
  return false;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function command(ws, request, message) {
  switch (message.cmd) {
    case 'close':
      ws.close(Number(message.code ?? 1000), String(message.reason ?? ''));
      break;
    case 'drop':
      ws.terminate();
      break;
    case 'heartbeat':
      for (let seq = 0; seq < Number(message.count ?? 10); seq += 1) {
        await sleep(Number(message.interval_ms ?? 100));
        if (ws.readyState !== ws.OPEN) return;
        ws.send(JSON.stringify({ type: 'heartbeat', seq }));
      }
      break;
    case 'burst':
      for (let seq = 0; seq < Number(message.count ?? 10); seq += 1) {
        ws.send(JSON.stringify({ type: message.type ?? 'update', seq }));
      }
      break;
    case 'later':
      await sleep(Number(message.delay_ms ?? 100));
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message.message ?? { type: 'later' }));
      break;
    case 'headers':
      ws.send(JSON.stringify({
        type: 'headers', headers: request.headers, subprotocol: ws.protocol || null,
        path: request.url,
      }));
      break;
    default:
      ws.send(JSON.stringify({ type: 'error', error: `unknown cmd ${message.cmd}` }));
  }
}

const server = http.createServer();
const wss = new WebSocketServer({
  server, verifyClient, handleProtocols, maxPayload: MAX_SIZE, perMessageDeflate: false,
});

wss.on('connection', (ws, request) => {
  ws.send(JSON.stringify({
    type: 'welcome', server: 'node', session_id: crypto.randomBytes(6).toString('hex'),
  }));
  ws.on('message', (data, isBinary) => {
    if (!isBinary && data.length > 6 && data.toString('utf8', 0, 6) === '{"cmd"') {
      let message = null;
      try { message = JSON.parse(data.toString('utf8')); } catch (error) { message = null; }
      if (message && typeof message === 'object' && 'cmd' in message) {
        command(ws, request, message).catch(() => {});
        return;
      }
    }
    ws.send(data, { binary: isBinary });
  });
  ws.on('error', () => {});
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    for (const client of wss.clients) client.terminate();
    server.close(() => process.exit(0));
  });
}
