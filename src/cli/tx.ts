import type { Command } from "commander";
import ora from "ora";
import { verifyAccountProof } from "../core/account-proof.js";
import { toHex } from "../core/bytes.js";
import { headerFromJson } from "../core/header.js";
import type { KeyPair } from "../core/keys.js";
import { isAddress } from "../core/keys.js";
import { type Account, accountToJson, EMPTY_ACCOUNT } from "../core/state.js";
import {
  signTransaction,
  type TransactionJson,
  TX_TYPES,
  type TxType,
  transactionToJson,
} from "../core/transaction.js";
import { ApiError, NodeClient } from "./client.js";
import { loadKey } from "./keyfile.js";
import {
  addJson,
  amountArg,
  nodeUrlOption,
  opt,
  parseIntArg,
  passwordFileOption,
} from "./options.js";
import { CliError, type JsonFlag, print } from "./output.js";
import { sendBatch } from "./tx-batch.js";

interface TxFlags extends JsonFlag {
  key: string;
  type: string;
  to?: string;
  amount: string;
  fee?: string;
  passwordFile?: string;
}

function parseType(value: string): TxType {
  const type = value.toUpperCase() as TxType;
  if (!TX_TYPES.includes(type))
    throw new CliError(`--type must be one of ${TX_TYPES.join(", ")}, got "${value}"`);
  return type;
}

/** The receiver: --to, or the sender itself for STAKE and UNSTAKE. */
function receiverOf(type: TxType, to: string | undefined, key: KeyPair): string {
  if (to === undefined) {
    if (type === "STAKE" || type === "UNSTAKE") return key.address;
    throw new CliError(`--to is required for ${type}`);
  }
  if (!isAddress(to))
    throw new CliError(`--to is not a valid lotchain address (checksum or format): "${to}"`);
  return to;
}

/** What the flags say of the transaction, checked before any node is asked anything. */
interface TxInputs {
  type: TxType;
  receiver: string;
  amount: bigint;
  fee: bigint | undefined;
}

function parseTxInputs(flags: TxFlags, key: KeyPair): TxInputs {
  const type = parseType(flags.type);
  return {
    type,
    receiver: receiverOf(type, flags.to, key),
    amount: amountArg("--amount", flags.amount),
    fee: flags.fee === undefined ? undefined : amountArg("--fee", flags.fee),
  };
}

/**
 * The fee `tx send` signs without --max-fee: the node tells the minimum, and a hostile node could
 * tell a huge one. A small multiple of what the networks made here ask (the bundled devnet and
 * `genesis create` default to 0): a network with a higher minimum is used with --max-fee.
 */
export const DEFAULT_MAX_FEE = 1_000n;

/** Refuses what a node told that the sender did not agree to (a fee too high, another chain). */
function checkNodeTerms(
  inputs: TxInputs,
  status: { chainId: string; minFee?: string },
  limits: { maxFee: bigint; chainId?: string },
): bigint {
  if (limits.chainId !== undefined && status.chainId !== limits.chainId)
    throw new CliError(
      `the node is on chain "${status.chainId}", not "${limits.chainId}" (--chain-id); nothing sent`,
    );
  let minFee: bigint;
  try {
    minFee = BigInt(status.minFee ?? "0");
  } catch {
    throw new CliError(
      `the node reported a malformed minimum fee "${status.minFee}"; nothing sent`,
    );
  }
  const fee = inputs.fee ?? minFee;
  if (fee > limits.maxFee)
    throw new CliError(
      `the fee would be ${fee} base units (the node's minimum is ${minFee}), above --max-fee ${limits.maxFee}; nothing sent`,
    );
  return fee;
}

function buildTransaction(
  inputs: TxInputs,
  key: KeyPair,
  chainId: string,
  nonce: number,
  defaultFee: bigint,
): TransactionJson {
  const tx = signTransaction(
    {
      chainId,
      type: inputs.type,
      senderPublicKey: key.publicKey,
      receiver: inputs.receiver,
      amount: inputs.amount,
      fee: inputs.fee ?? defaultFee,
      nonce,
      timestamp: Date.now(),
    },
    key.privateKey,
  );
  return transactionToJson(tx);
}

/** The flags of one transaction; `required` makes commander insist on them (tx sign). */
function txOptions(cmd: Command, required = true): Command {
  const need = (o: ReturnType<typeof opt>) => (required ? o.makeOptionMandatory() : o);
  return addJson(
    cmd
      .addOption(need(opt("--key <file>", "private key of the sender: PEM or keystore")))
      .addOption(passwordFileOption())
      .addOption(need(opt("--type <type>", TX_TYPES.join(" | "))))
      .addOption(opt("--to <address>", "receiver (STAKE and UNSTAKE: the sender, the default)"))
      .addOption(need(opt("--amount <n>", "base units")))
      .addOption(opt("--fee <n>", "base units (default: the network's minimum fee)")),
  );
}

/** tx send: --batch FILE takes signed transactions, otherwise --key, --type and --amount sign one. */
function checkSendMode(flags: SendFlags): void {
  if (flags.batch !== undefined) {
    const given = (["key", "type", "to", "amount", "fee"] as const).filter(
      (f) => flags[f] !== undefined,
    );
    if (given.length > 0)
      throw new CliError(
        `--batch sends transactions signed already: --${given.join(", --")} do not apply`,
      );
    return;
  }
  const flag = { key: "--key <file>", type: "--type <type>", amount: "--amount <n>" } as const;
  for (const name of ["key", "type", "amount"] as const)
    if (flags[name] === undefined)
      throw new CliError(`required option '${flag[name]}' not specified (or give --batch FILE)`);
}

interface SendFlags extends TxFlags {
  batch?: string;
  node: string;
  wait?: boolean;
  waitTimeout: number;
  maxFee: string;
  chainId?: string;
}

export function registerTxCommands(program: Command): void {
  const tx = program.command("tx").description("sign and send transactions");

  txOptions(
    tx
      .command("sign")
      .description("print a signed transaction (offline, no node needed)")
      .addOption(
        opt("--nonce <n>", "the sender's next nonce")
          .argParser(parseIntArg("--nonce"))
          .makeOptionMandatory(),
      )
      .addOption(opt("--chain-id <id>", "the network's chain id").makeOptionMandatory()),
  ).action(async (flags: TxFlags & { nonce: number; chainId: string }) => {
    const { key } = await loadKey(flags.key, flags);
    const json = buildTransaction(parseTxInputs(flags, key), key, flags.chainId, flags.nonce, 0n);
    print({ json: true }, json, () => "");
  });

  txOptions(
    tx
      .command("send")
      .description(
        "sign with the next pending nonce and submit to a node, or submit a file of signed ones",
      )
      .addOption(nodeUrlOption())
      .addOption(
        opt(
          "--batch <file>",
          "a JSON array of signed transactions (as tx sign prints them), sent through the batch route",
        ),
      )
      .addOption(opt("--wait", "return once the transaction is in a block"))
      .addOption(
        opt("--max-fee <n>", "refuse to sign a fee above this (base units)").default(
          DEFAULT_MAX_FEE.toString(),
        ),
      )
      .addOption(opt("--chain-id <id>", "refuse to sign unless the node is on this chain"))
      .addOption(
        opt("--wait-timeout <ms>", "how long --wait waits")
          .argParser(parseIntArg("--wait-timeout", 1))
          .default(120_000),
      ),
    false,
  ).action(async (flags: SendFlags) => {
    checkSendMode(flags);
    if (flags.batch !== undefined) return sendBatch({ ...flags, batch: flags.batch });
    const { key } = await loadKey(flags.key, flags);
    const inputs = parseTxInputs(flags, key);
    const maxFee = amountArg("--max-fee", flags.maxFee);
    if (inputs.fee !== undefined && inputs.fee > maxFee)
      throw new CliError(`--fee ${inputs.fee} is above --max-fee ${maxFee}`);
    const client = new NodeClient(flags.node);
    const status = await client.status();
    const fee = checkNodeTerms(inputs, status, { maxFee, chainId: flags.chainId });
    const account = await client.account(key.address);
    const json = buildTransaction(inputs, key, status.chainId, account.pendingNonce, fee);
    const { id } = await client.submit(json);
    if (!flags.wait) {
      print(flags, { id }, () => id);
      return;
    }
    // On a terminal, a spinner on stderr says what the wait is (ora is silent elsewhere).
    const spinner = ora({
      text: `${id}: waiting for a block`,
      stream: process.stderr,
      isSilent: !process.stderr.isTTY,
    }).start();
    const included = await client
      .waitForInclusion(id, flags.waitTimeout, (_tx, ms) => {
        spinner.text = `${id}: pending, waiting for a block (${(ms / 1000).toFixed(0)} s)`;
      })
      .finally(() => spinner.stop());
    print(
      flags,
      { id, height: included.height, blockHash: included.blockHash },
      () => `${id} included at height ${included.height} in block ${included.blockHash}`,
    );
  });
}

export function registerBalanceCommand(program: Command): void {
  addJson(
    program
      .command("balance")
      .description("balance, stake and nonce of an address")
      .argument("<address>", "a lotchain address")
      .addOption(nodeUrlOption())
      .addOption(
        opt("--verify", "check the account against a state proof and a header this command trusts"),
      )
      .addOption(
        opt(
          "--trusted-hash <hash>",
          "with --verify: the block to trust (64 hex digits; default: the node's finalized block)",
        ),
      ),
  ).action(
    async (
      address: string,
      flags: JsonFlag & { node: string; verify?: boolean; trustedHash?: string },
    ) => {
      if (!isAddress(address))
        throw new CliError(`not a valid lotchain address (checksum or format): "${address}"`);
      if (flags.trustedHash !== undefined && !/^[0-9a-fA-F]{64}$/.test(flags.trustedHash))
        throw new CliError(`--trusted-hash must be 64 hex digits, got "${flags.trustedHash}"`);
      if (flags.trustedHash !== undefined && !flags.verify)
        throw new CliError("--trusted-hash goes with --verify");
      const client = new NodeClient(flags.node);
      if (flags.verify) return printVerified(flags, await verifiedAccount(client, address, flags));
      const account = await client.account(address);
      print(flags, account, () =>
        [
          `address       ${account.address}`,
          `balance       ${account.balance}`,
          `stake         ${account.stake}`,
          `nonce         ${account.nonce}`,
          `pendingNonce  ${account.pendingNonce}`,
        ].join("\n"),
      );
    },
  );
}

interface VerifiedAccount {
  address: string;
  balance: string;
  stake: string;
  nonce: number;
  unbonding: { amount: string; releaseSlot: number }[];
  slashed: boolean;
  /** False: the proof shows the address holds nothing at that block. */
  exists: boolean;
  verified: {
    blockHash: string;
    height: number;
    stateRoot: string;
    /** What the header was trusted as: the hash given, or the node's finalized block. */
    trusted: "trusted-hash" | "node-finalized";
  };
}

/**
 * The account as of a header this command trusts, checked rather than believed: the header's
 * fields must hash to the trusted hash (or, by default, to the hash the node names as its
 * finalized block), and the account must follow from the header's state root by the proof.
 */
async function verifiedAccount(
  client: NodeClient,
  address: string,
  flags: { trustedHash?: string },
): Promise<VerifiedAccount> {
  const status = await client.status();
  const trusted = flags.trustedHash?.toLowerCase();
  const blockJson = await client.block(trusted ?? "finalized").catch((e: unknown) => {
    if (e instanceof ApiError && e.status === 404)
      throw new CliError(`the node has no block ${trusted ?? "finalized"}`);
    throw e;
  });
  let header: ReturnType<typeof headerFromJson>;
  try {
    header = headerFromJson(blockJson, status.chainId);
  } catch (e) {
    throw new CliError(`the node's block does not parse: ${(e as Error).message}`);
  }
  if (trusted !== undefined && header.hashHex !== trusted)
    throw new CliError(`the header the node sent hashes to ${header.hashHex}, not ${trusted}`);
  const answer = await client.get<{ account: unknown; proof: unknown }>(
    `/v1/accounts/${encodeURIComponent(address)}/proof?block=${header.hashHex}`,
  );
  let account: Account | undefined;
  try {
    account = verifyAccountProof(header.header.stateRoot, address, answer.proof);
  } catch (e) {
    throw new CliError(`the node's proof does not hold: ${(e as Error).message}`);
  }
  return {
    address,
    ...accountToJson(account ?? EMPTY_ACCOUNT),
    exists: account !== undefined,
    verified: {
      blockHash: header.hashHex,
      height: header.header.height,
      stateRoot: toHex(header.header.stateRoot),
      trusted: trusted === undefined ? "node-finalized" : "trusted-hash",
    },
  };
}

function printVerified(flags: JsonFlag, v: VerifiedAccount): void {
  print(flags, v, () =>
    [
      `address       ${v.address}${v.exists ? "" : " (no such account: proven absent)"}`,
      `balance       ${v.balance}`,
      `stake         ${v.stake}`,
      `nonce         ${v.nonce}`,
      `verified      against block ${v.verified.blockHash} at height ${v.verified.height}`,
      `              state root ${v.verified.stateRoot}`,
      v.verified.trusted === "trusted-hash"
        ? "trusted       the block hash given with --trusted-hash"
        : "trusted       the node's finalized block (pass --trusted-hash to trust a hash you know)",
    ].join("\n"),
  );
}
