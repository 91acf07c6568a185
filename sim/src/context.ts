// What every route module of the simulator shares: configuration, settings, time, state, the call
// log, the fault queue and the notifier. Built once per simulator by simulator.ts.
import type { CallLog } from "./call-log";
import type { SimTime } from "./clock";
import type { FaultApi, FaultQueue } from "./faults";
import type { Notifier } from "./notifier";
import type { SimSettings } from "./settings";
import type { SimState } from "./state";

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
  /** Responses produced under a `drop` fault: Simulator.fetch rejects instead of returning them. */
  droppedResponses: WeakMap<Response, FaultApi>;
}
