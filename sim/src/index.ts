// The simulator as a Worker for local development (`npx wrangler dev -c sim/wrangler.toml`): one
// SQLite-backed Durable Object holds one simulator, keeps its state in the object's storage (the
// runtime evicts an idle object within seconds; `--persist-to` keeps it across restarts), and uses
// its alarm to run due work (notification retries, refund completions).
import { DurableObject } from "cloudflare:workers";
import type { SimClock } from "./clock";
import { SimulatedDropError } from "./faults";
import { PLAYGROUND_PATH, servePlayground } from "./playground";
import { createSimulator, SqlSimStore, type SimV3Options, type Simulator } from "./simulator";

/** This Worker's own bindings (sim/wrangler.toml), separate from the service's Env. */
interface SimulatorEnv {
  SIMULATOR: DurableObjectNamespace<SimulatorObject>;
  WECHAT_APPID?: string;
  WECHAT_SECRET?: string;
  WECHATPAY_MCHID?: string;
  WECHATPAY_KEY?: string;
  /** API v3, all optional: without WECHATPAY_APIV3_KEY the /v3 endpoints are not simulated. */
  WECHATPAY_APIV3_KEY?: string;
  /** The merchant API certificate's serial, and its private key (only the public half is used) or public key. */
  WECHATPAY_CERT_SERIAL?: string;
  WECHATPAY_PRIVATE_KEY?: string;
  WECHATPAY_MERCHANT_PUBLIC_KEY?: string;
  /** WeChat's keys: the platform certificate and its key, the WeChat Pay public key's id and private half. */
  WECHATPAY_PLATFORM_KEY?: string;
  WECHATPAY_PLATFORM_CERT?: string;
  WECHATPAY_PUBLIC_KEY_ID?: string;
  WECHATPAY_PUBLIC_KEY_PRIVATE?: string;
  /** The mini program's message push Token and EncodingAESKey, both optional (POST /__sim/push). */
  WECHAT_PUSH_TOKEN?: string;
  WECHAT_PUSH_AES_KEY?: string;
  /** Sim seconds per real second (e.g. "60" makes the 24h4m retry schedule take about 24 minutes). */
  TIME_SCALE?: string;
  /** The local service the playground page reaches through this Worker (loopback). */
  PLAYGROUND_SERVICE_ORIGIN?: string;
}

type RequiredVar = Exclude<
  keyof SimulatorEnv,
  "SIMULATOR" | "TIME_SCALE" | "WECHATPAY_PRIVATE_KEY" | "WECHATPAY_MERCHANT_PUBLIC_KEY" | "WECHAT_PUSH_TOKEN" | "WECHAT_PUSH_AES_KEY"
>;

function required(env: SimulatorEnv, name: RequiredVar): string {
  const value = env[name];
  if (!value) throw new Error(`wechat-simulator: var ${name} is not set in sim/wrangler.toml`);
  return value;
}

/** The v3 options when WECHATPAY_APIV3_KEY is set; then WeChat's keys and the merchant's are required too. */
function v3Options(env: SimulatorEnv): SimV3Options | undefined {
  if (!env.WECHATPAY_APIV3_KEY) return undefined;
  return {
    apiV3Key: env.WECHATPAY_APIV3_KEY,
    merchantSerial: required(env, "WECHATPAY_CERT_SERIAL"),
    ...(env.WECHATPAY_MERCHANT_PUBLIC_KEY
      ? { merchantPublicKey: env.WECHATPAY_MERCHANT_PUBLIC_KEY }
      : { merchantPrivateKey: env.WECHATPAY_PRIVATE_KEY }),
    platformPrivateKey: required(env, "WECHATPAY_PLATFORM_KEY"),
    platformCertificate: required(env, "WECHATPAY_PLATFORM_CERT"),
    publicKeyId: required(env, "WECHATPAY_PUBLIC_KEY_ID"),
    publicKeyPrivateKey: required(env, "WECHATPAY_PUBLIC_KEY_PRIVATE"),
  };
}

function timeScale(env: SimulatorEnv): number {
  const scale = Number(env.TIME_SCALE ?? "1");
  if (!Number.isFinite(scale) || scale <= 0) throw new Error("wechat-simulator: TIME_SCALE must be a positive number");
  return scale;
}

/**
 * Real time, sped up `scale` times from `origin` (when the simulator first started, stored with its
 * state, so that a new instance does not turn the clock back). Everything simulated speeds up (code
 * TTL, prepay_id age, retries), so with a scale above 1 the simulator's clock runs ahead of the
 * service's and time_expire values the service computes look nearer than they are.
 */
function scaledClock(scale: number, origin: number): SimClock {
  return { now: () => origin + (Date.now() - origin) * scale };
}

/** Set by the object on a dropped call; the stateless front Worker then breaks the response. */
const DROPPED_HEADER = "x-wechat-sim-dropped";

/**
 * A 200 whose body fails mid-stream: over HTTP, the closest thing to a dropped connection (under
 * wrangler dev the client gets a truncated, unparseable `<xml>`). Built in the front Worker, never
 * in the object: workerd treats the stream error as an uncaught exception, which would reset the
 * object.
 */
function droppedResponse(): Response {
  let sent = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      // Some bytes first, so the failure happens after the response has started.
      if (!sent) {
        sent = true;
        controller.enqueue(new TextEncoder().encode("<xml>"));
      } else controller.error(new Error("simulated connection drop"));
    },
  });
  return new Response(body, { status: 200, headers: { "content-type": "text/plain" } });
}

export class SimulatorObject extends DurableObject<SimulatorEnv> {
  readonly #simulator: Simulator;
  readonly #scale: number;

  constructor(ctx: DurableObjectState, env: SimulatorEnv) {
    super(ctx, env);
    this.#scale = timeScale(env);
    const store = new SqlSimStore(ctx.storage);
    this.#simulator = createSimulator({
      appid: required(env, "WECHAT_APPID"),
      secret: required(env, "WECHAT_SECRET"),
      mchId: required(env, "WECHATPAY_MCHID"),
      key: required(env, "WECHATPAY_KEY"),
      v3: v3Options(env),
      pushToken: env.WECHAT_PUSH_TOKEN || undefined,
      pushEncodingAesKey: env.WECHAT_PUSH_AES_KEY || undefined,
      clock: scaledClock(this.#scale, store.clockOrigin(Date.now())),
      store,
    });
    // A new instance (after eviction or a restart) points the alarm at the stored due work again.
    void ctx.blockConcurrencyWhile(() => this.#scheduleAlarm());
  }

  override async fetch(request: Request): Promise<Response> {
    try {
      return await this.#simulator.fetch(request);
    } catch (error) {
      if (error instanceof SimulatedDropError) return new Response(null, { status: 204, headers: { [DROPPED_HEADER]: "1" } });
      throw error;
    } finally {
      // A payment, a refund or a clock advance may have scheduled, run or cancelled due work.
      await this.#scheduleAlarm();
    }
  }

  override async alarm(): Promise<void> {
    await this.#simulator.runDue();
    await this.#scheduleAlarm();
  }

  /** Points the alarm at the next due work, converting the sim-time gap to real time. */
  async #scheduleAlarm(): Promise<void> {
    const next = this.#simulator.nextDueAt();
    if (next === null) {
      await this.ctx.storage.deleteAlarm();
      return;
    }
    const realDelayMs = Math.max(0, (next - this.#simulator.now()) / this.#scale);
    await this.ctx.storage.setAlarm(Date.now() + realDelayMs);
  }
}

export default {
  async fetch(request, env) {
    // The playground is stateless: served here, in front of the simulator's object.
    const { pathname } = new URL(request.url);
    if (pathname === PLAYGROUND_PATH || pathname.startsWith(`${PLAYGROUND_PATH}/`)) {
      if (!env.PLAYGROUND_SERVICE_ORIGIN) throw new Error("wechat-simulator: var PLAYGROUND_SERVICE_ORIGIN is not set in sim/wrangler.toml");
      return servePlayground(request, env.PLAYGROUND_SERVICE_ORIGIN);
    }
    // One simulator for everything: the login and pay hosts share state, as a test expects.
    const response = await env.SIMULATOR.get(env.SIMULATOR.idFromName("wechat")).fetch(request);
    return response.headers.has(DROPPED_HEADER) ? droppedResponse() : response;
  },
} satisfies ExportedHandler<SimulatorEnv>;
