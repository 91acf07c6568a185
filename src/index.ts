import { DurableObject } from "cloudflare:workers";
export class OrderObject extends DurableObject {}
export default { fetch: () => new Response("hi") } satisfies ExportedHandler;
