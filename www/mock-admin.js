// Talking to the mock services' admin API (mock/README.md, "Admin API"), which the page uses
// to read and change the latency and the fault of each service while they run.

/** GETs or sends JSON; resolves the parsed reply, rejects with the service's `error` text. */
export async function fetchJson(url, init = {}) {
  const response = await fetch(url, init);
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON; the status says enough.
  }
  if (!response.ok) throw new Error(body?.error ?? `HTTP ${response.status} from ${url}`);
  return body;
}

/** request(method, path, body?) against the admin origin. */
export function adminClient(adminUrl) {
  return (method, path, body) => {
    const init = { method };
    if (body !== undefined) {
      init.headers = { 'Content-Type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    return fetchJson(`${adminUrl}${path}`, init);
  };
}
