// A backend-for-frontend on Node: the portal's browser posts one checkout, and this server
// makes the order's ten service calls close to the services, concurrently, and answers with
// the order or with what went wrong.
//
//   PC_SERVICES='{"customer":"http://...", ...}' node bff.mjs
//
// Prints one JSON line {"url": "http://127.0.0.1:<port>"} when it listens; SIGTERM stops it.
import http from 'node:http';
import { composeOrder, ComposeError } from 'parallel-composer';

const services = JSON.parse(process.env.PC_SERVICES);
const allowedOrigins = [...new Set(Object.values(services).map((url) => new URL(url).origin))];

function send(res, status, body) {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) });
  res.end(json);
}

const server = http.createServer(async (req, res) => {
  if (req.method !== 'POST' || req.url !== '/api/checkout') return send(res, 404, { error: 'not found' });
  let text = '';
  for await (const chunk of req) text += chunk;
  const { checkoutId, ...request } = JSON.parse(text);
  // The browser gave up (closed the tab, timed out): stop the calls still in flight.
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  try {
    const order = await composeOrder(request, {
      services,
      allowedOrigins,
      operationId: checkoutId, // a resubmitted checkout reuses its Idempotency-Keys
      deadlineMs: 8000,
      signal: controller.signal,
    });
    send(res, 200, order);
  } catch (e) {
    if (!(e instanceof ComposeError)) throw e;
    const status = e.code === 'PAYMENT_DECLINED' || e.code === 'FRAUD_REJECTED' ? 402 : 502;
    send(res, status, { code: e.code, call: e.call, message: e.message, compensations: e.compensations });
  }
});
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
