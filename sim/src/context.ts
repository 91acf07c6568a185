// What every route module of the simulator shares: configuration, settings, time, state, the call
// log, the fault queue, the notifier and, when configured, the v3 platform. Built once per simulator by simulator.ts.
import type { CallLog } from "./call-log";
import type { SimTime } from "./clock";
import type { FaultApi, FaultQueue } from "./faults";
import type { Notifier } from "./notifier";
import type { SimSettings } from "./settings";
import type { SimState } from "./state";
import type { V3Platform } from "./v3/platform";

export interface SimConfig {
  /** The mini program's appid and AppSecret (code2session). */
  appid: string;
  secret: string;
  /** The merchant id and its APIv2 key (pay APIs, notifications). */
  mchId: string;
  key: string;
}

export interface SimContext {
  config: SimConfig;
  /** The knobs of POST /__sim/settings (refund spacing and completion delay). */
  settings: SimSettings;
  time: SimTime;
  state: SimState;
  calls: CallLog;
  faults: FaultQueue;
  notifier: Notifier;
  /** WeChat's side of API v3 (keys, answer and notification signing), or null when v3 is not configured. */
  v3: V3Platform | null;
  /** Responses produced under a `drop` fault: Simulator.fetch rejects instead of returning them. */
  droppedResponses: WeakMap<Response, FaultApi>;
}
