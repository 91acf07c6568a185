// The order object's SQLite schema and the mapping between its rows and our records. Described
// in docs/storage.md; change both together.
import type { OrderRecord, RefundView, WeChatOrderParams } from "./order-record";
import type { OrderStatus } from "./order-state";
import type { LineItem } from "./pricing";
import { publicRefundStatus, type RefundStatus } from "./refund-rules";

export const ORDER_SCHEMA = `
CREATE TABLE IF NOT EXISTS order_record (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  id TEXT NOT NULL,
  openid TEXT NOT NULL,
  status TEXT NOT NULL,
  amount INTEGER NOT NULL,
  refunded_amount INTEGER NOT NULL DEFAULT 0,
  description TEXT NOT NULL,
  items TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  wechat_params TEXT NOT NULL,
  transaction_id TEXT,
  created_at INTEGER NOT NULL,
  paid_at INTEGER,
  expires_at INTEGER NOT NULL,
  prepay_id TEXT,
  prepay_issued_at INTEGER,
  last_queried_at INTEGER,
  paid_after_close INTEGER NOT NULL DEFAULT 0,
  close_requested_at INTEGER,
  next_check_at INTEGER,
  check_attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS history (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  from_status TEXT,
  to_status TEXT NOT NULL,
  source TEXT NOT NULL,
  note TEXT
);
CREATE TABLE IF NOT EXISTS refunds (
  id TEXT PRIMARY KEY,
  amount INTEGER NOT NULL,
  reason TEXT,
  status TEXT NOT NULL,
  idempotency_key TEXT UNIQUE,
  request_hash TEXT NOT NULL,
  refund_id TEXT,
  created_at INTEGER NOT NULL,
  submitted_at INTEGER,
  finished_at INTEGER,
  failure TEXT,
  needs_attention INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_attempt_at INTEGER,
  last_checked_at INTEGER,
  next_attempt_at INTEGER
);`;

export type OrderRow = {
  id: string;
  openid: string;
  status: string;
  amount: number;
  refunded_amount: number;
  description: string;
  items: string;
  request_hash: string;
  wechat_params: string;
  transaction_id: string | null;
  created_at: number;
  paid_at: number | null;
  expires_at: number;
  prepay_id: string | null;
  prepay_issued_at: number | null;
  last_queried_at: number | null;
  paid_after_close: number;
  close_requested_at: number | null;
  next_check_at: number | null;
  check_attempts: number;
};

export type RefundRow = {
  id: string;
  amount: number;
  reason: string | null;
  status: RefundStatus;
  idempotency_key: string | null;
  request_hash: string;
  refund_id: string | null;
  created_at: number;
  submitted_at: number | null;
  finished_at: number | null;
  failure: string | null;
  needs_attention: number;
  attempts: number;
  last_attempt_at: number | null;
  last_checked_at: number | null;
  next_attempt_at: number | null;
};

export function fromOrderRow(row: OrderRow): OrderRecord {
  return {
    id: row.id,
    openid: row.openid,
    status: row.status as OrderStatus,
    amount: row.amount,
    refundedAmount: row.refunded_amount,
    description: row.description,
    items: JSON.parse(row.items) as LineItem[],
    requestHash: row.request_hash,
    wechat: JSON.parse(row.wechat_params) as WeChatOrderParams,
    transactionId: row.transaction_id,
    createdAt: row.created_at,
    paidAt: row.paid_at,
    expiresAt: row.expires_at,
    prepayId: row.prepay_id,
    prepayIssuedAt: row.prepay_issued_at,
    lastQueriedAt: row.last_queried_at,
    paidAfterClose: row.paid_after_close === 1,
    closeRequestedAt: row.close_requested_at,
    nextCheckAt: row.next_check_at,
    checkAttempts: row.check_attempts,
  };
}

export function fromRefundRow(row: RefundRow): RefundView {
  return {
    id: row.id,
    amount: row.amount,
    status: publicRefundStatus(row.status),
    reason: row.reason,
    refundId: row.refund_id,
    createdAt: new Date(row.created_at).toISOString(),
    finishedAt: row.finished_at === null ? null : new Date(row.finished_at).toISOString(),
    failure: row.failure,
    needsAttention: row.needs_attention === 1,
  };
}
