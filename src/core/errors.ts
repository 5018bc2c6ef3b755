/**
 * Every rule lotchain enforces has a named rejection code. The API maps codes to HTTP status
 * codes, the network maps them to peer penalties; nothing matches on message text.
 */
export const REJECT_CODES = {
  // input that does not parse or is out of schema (HTTP 400)
  Malformed: "malformed",
  MalformedAddress: "malformed",
  MalformedAmount: "malformed",
  MalformedKey: "malformed",
  TooLarge: "too_large",
  // transactions: well-formed but invalid (HTTP 422)
  InvalidSignature: "invalid",
  WrongChain: "invalid",
  IdMismatch: "invalid",
  NonceTooLow: "invalid",
  NonceGap: "invalid",
  InsufficientFunds: "invalid",
  InsufficientStake: "invalid",
  NotExchangeAuthority: "invalid",
  BadAmount: "invalid",
  FeeTooLow: "invalid",
  ReceiverMustBeSender: "invalid",
  BalanceOverflow: "invalid",
  LastStake: "invalid",
  SupplyCapExceeded: "invalid",
  // the timestamp outside the window around the node's clock or the block's (see tx-time.ts)
  TimestampTooOld: "invalid",
  TimestampTooNew: "invalid",
  // mempool
  Duplicate: "duplicate",
  ReplacementUnderpriced: "duplicate",
  AlreadyIncluded: "duplicate",
  MempoolFull: "invalid",
  SenderLimit: "invalid",
  // blocks
  BadHeight: "invalid",
  UnknownParent: "unknown",
  BadTxRoot: "invalid",
  BadBlockSignature: "invalid",
  WrongForger: "invalid",
  SlotNotAfterParent: "invalid",
  FutureBlock: "invalid",
  BadTimestamp: "invalid",
  BadRandomness: "invalid",
  BadTarget: "invalid",
  InsufficientWork: "invalid",
  DuplicateTransaction: "invalid",
  TooManyTransactions: "invalid",
  BelowFinality: "invalid",
  KnownInvalid: "invalid",
  WrongConsensus: "invalid",
  GenesisMismatch: "invalid",
  BadEvidenceRoot: "invalid",
  BadStateRoot: "invalid",
  BadProof: "invalid",
  TooMuchEvidence: "invalid",
  // slashing evidence
  InvalidEvidence: "invalid",
  DuplicateEvidence: "duplicate",
  EvidenceTooOld: "invalid",
  FutureEvidence: "invalid",
  AlreadySlashed: "invalid",
  NothingToSlash: "invalid",
} as const;

export type RejectCode = keyof typeof REJECT_CODES;
export type RejectClass = (typeof REJECT_CODES)[RejectCode];

/**
 * What can be wrong with a transaction in itself: any node finds it without looking at state,
 * the pool or its clock, and no other transaction can change it.
 */
export const STATELESS_TX_REJECTIONS: ReadonlySet<RejectCode> = new Set<RejectCode>([
  "Malformed",
  "MalformedAddress",
  "MalformedAmount",
  "MalformedKey",
  "TooLarge",
  "InvalidSignature",
  "WrongChain",
  "IdMismatch",
  "BadAmount",
  "FeeTooLow",
  "ReceiverMustBeSender",
  "NotExchangeAuthority",
]);

export class ValidationError extends Error {
  override readonly name = "ValidationError";
  constructor(
    readonly code: RejectCode,
    message: string,
  ) {
    super(message);
  }
  get rejectClass(): RejectClass {
    return REJECT_CODES[this.code];
  }
}

export function reject(code: RejectCode, message: string): never {
  throw new ValidationError(code, message);
}

export function isValidationError(e: unknown): e is ValidationError {
  return e instanceof ValidationError;
}
