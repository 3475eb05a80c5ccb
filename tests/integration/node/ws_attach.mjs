// GET /containers/{id}/attach/ws with the npm `ws` client (run by
// test_run.py): sends BERTH_WS_STDIN as one message, collects every message
// until the server closes, and prints one JSON line with what it saw.
//   BERTH_SOCKET  the daemon's unix socket    BERTH_WS_PATH  e.g. /v1.51/containers/ID/attach/ws?…
import WebSocket from 'ws';

const url = `ws+unix://${process.env.BERTH_SOCKET}:${process.env.BERTH_WS_PATH}`;
const ws = new WebSocket(url);
const messages = [];
let status = null;
ws.on('upgrade', (res) => { status = res.statusCode; });
ws.on('unexpected-response', (req, res) => {
  let body = '';
  res.on('data', (d) => { body += d; });
  res.on('end', () => {
    console.log(JSON.stringify({ status: res.statusCode, body }));
    process.exit(0);
  });
});
ws.on('open', () => {
  if (process.env.BERTH_WS_STDIN) ws.send(Buffer.from(process.env.BERTH_WS_STDIN));
});
ws.on('message', (data, isBinary) => { messages.push({ binary: isBinary, text: data.toString() }); });
ws.on('close', (code) => {
  console.log(JSON.stringify({ status, messages, closeCode: code }));
  process.exit(0);
});
ws.on('error', (e) => {
  console.log(JSON.stringify({ error: String(e) }));
  process.exit(1);
});
setTimeout(() => {
  console.log(JSON.stringify({ error: 'timed out', messages }));
  process.exit(1);
}, 20000);
