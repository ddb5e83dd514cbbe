// The same package from CommonJS: `require('parallel-composer')` gets the --target nodejs
// build. Places one order and prints it as JSON, or the ComposeError's fields.
//
//   node order.cjs '<services JSON>' '<order request JSON>'
const { composeOrder, validatePlan, ComposeError } = require('parallel-composer');

const [services, request] = process.argv.slice(2).map((arg) => JSON.parse(arg));
// A plan is checked without sending anything.
const { stages } = validatePlan({ calls: { a: { url: 'https://api.example/a' }, b: { url: 'https://api.example/b/{a.id}' } } });
composeOrder(request, { services }).then(
  (order) => console.log(JSON.stringify({ stages, order })),
  (e) => {
    console.log(JSON.stringify({ stages, error: e instanceof ComposeError ? { code: e.code, call: e.call } : String(e) }));
    process.exitCode = 1;
  },
);
