// A host app's receiver of Vouch events: verify each delivery with the standardwebhooks
// package, handle each event once (delivery is at least once), answer 2xx quickly.
// Run: VOUCH_WEBHOOK_SECRET=whsec_... PORT=8080 node receiver.mjs
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

const webhook = new Webhook(process.env.VOUCH_WEBHOOK_SECRET);
const handled = new Set(); // webhook-ids already handled; keep them in your database

function handle(id, event) {
  // Your code: event.type is "user.created", "user.signed_in", ...; event.data its data.
  console.log(JSON.stringify({ id, type: event.type, data: event.data }));
}

createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    let event;
    try {
      // The raw body, exactly as received: parsing and re-serialising it breaks the signature.
      event = webhook.verify(Buffer.concat(chunks).toString("utf8"), request.headers);
    } catch {
      response.writeHead(400).end();
      return;
    }
    const id = request.headers["webhook-id"];
    if (!handled.has(id)) {
      handled.add(id);
      handle(id, event);
    }
    response.writeHead(204).end();
  });
}).listen(Number(process.env.PORT ?? 8080), "127.0.0.1", () => console.log("listening"));
