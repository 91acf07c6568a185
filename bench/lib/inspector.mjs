// A minimal Chrome DevTools Protocol client for workerd's inspector (Node 20 needs
// `--experimental-websocket` for the WebSocket it uses; Node 22 has it built in).

/** Connects to the first inspector target that `pick` accepts; returns { send(method, params), close() }. */
export async function connectInspector(port, pick = (t) => Boolean(t.webSocketDebuggerUrl)) {
  if (typeof WebSocket !== "function") throw new Error("no WebSocket client: run Node 20 with --experimental-websocket");
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const target = targets.find((t) => t.webSocketDebuggerUrl && pick(t));
  if (!target) throw new Error(`the inspector on :${port} lists no matching target`);
  // wrangler's inspector proxy wants an Origin it knows (it serves browser devtools); undici's WebSocket takes extra headers.
  const socket = new WebSocket(target.webSocketDebuggerUrl, { headers: { Origin: "http://localhost" } });
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  let id = 0;
  const waiting = new Map();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.id && waiting.has(message.id)) {
      const { resolve, reject } = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.error) reject(new Error(message.error.message));
      else resolve(message.result);
    }
  });
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const messageId = ++id;
        waiting.set(messageId, { resolve, reject });
        socket.send(JSON.stringify({ id: messageId, method, params }));
      }),
    close: () => socket.close(),
  };
}
