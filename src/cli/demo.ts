import type { Command } from "commander";
import { generateKeyPair, type KeyPair } from "../core/keys.js";
import { signTransaction, type TxType, transactionToJson } from "../core/transaction.js";
import { NodeClient } from "./client.js";
import { readKeyFile } from "./keyfile.js";
import { addJson, nodeUrlOption } from "./options.js";
import type { JsonFlag } from "./output.js";
import { bundledKeyPath } from "./paths.js";

interface Step {
  from: string;
  type: TxType;
  to: string;
  amount: string;
  id: string;
  height?: number;
}

/**
 * The seed's Interaction.py story (SPEC section 7) against a node of the bundled devnet:
 * the exchange funds alice and bob, alice stakes 25 and sends bob two tokens.
 */
export function registerDemoCommand(program: Command): void {
  addJson(
    program
      .command("demo")
      .description("play the seed's story: EXCHANGE, STAKE, TRANSFER")
      .addOption(nodeUrlOption()),
  ).action(async (flags: JsonFlag & { node: string }) => {
    const client = new NodeClient(flags.node);
    const say = (line: string) => {
      if (!flags.json) process.stdout.write(`${line}\n`);
    };
    const status = await client.status();
    const fee = BigInt(status.minFee ?? "0");
    const alice = readKeyFile(bundledKeyPath("staker"));
    const exchange = readKeyFile(bundledKeyPath("exchange"));
    const bob = generateKeyPair();
    const names = new Map([
      [alice.address, "alice"],
      [bob.address, "bob"],
      [exchange.address, "exchange"],
    ]);
    say(`chain ${status.chainId} at height ${status.height}, node ${client.base}`);
    say(
      `alice    ${alice.address}\nbob      ${bob.address} (fresh key)\nexchange ${exchange.address}`,
    );
    const steps: Step[] = [];
    const send = async (from: KeyPair, type: TxType, to: KeyPair, amount: bigint) => {
      const account = await client.account(from.address);
      const tx = signTransaction(
        {
          chainId: status.chainId,
          type,
          senderPublicKey: from.publicKey,
          receiver: to.address,
          amount,
          fee,
          nonce: account.pendingNonce,
          timestamp: Date.now(),
        },
        from.privateKey,
      );
      const { id } = await client.submit(transactionToJson(tx));
      say(
        `  ${names.get(from.address)} -> ${names.get(to.address)} ${type} ${amount}  (${id.slice(0, 16)}…)`,
      );
      steps.push({
        from: names.get(from.address)!,
        type,
        to: names.get(to.address)!,
        amount: amount.toString(),
        id,
      });
    };
    const waitAll = async () => {
      for (const step of steps)
        if (step.height === undefined)
          step.height = (await client.waitForInclusion(step.id, 180_000)).height;
      say(`  included up to height ${Math.max(...steps.map((s) => s.height ?? 0))}`);
    };
    say("1. the exchange brings tokens in");
    await send(exchange, "EXCHANGE", alice, 100n);
    await send(exchange, "EXCHANGE", bob, 100n);
    await send(exchange, "EXCHANGE", bob, 10n);
    await waitAll();
    say("2. alice stakes and pays bob");
    await send(alice, "STAKE", alice, 25n);
    await send(alice, "TRANSFER", bob, 1n);
    await send(alice, "TRANSFER", bob, 1n);
    await waitAll();
    const accounts = {
      alice: await client.account(alice.address),
      bob: await client.account(bob.address),
    };
    say("3. balances");
    for (const [name, a] of Object.entries(accounts))
      say(
        `  ${name.padEnd(6)} balance ${a.balance.padStart(6)}  stake ${a.stake.padStart(4)}  nonce ${a.nonce}`,
      );
    say(
      "from now on alice holds 25 of the 26 lots and forges about 25/26 of the slots (when her node runs)",
    );
    if (flags.json)
      process.stdout.write(
        `${JSON.stringify({ chainId: status.chainId, steps, accounts }, null, 2)}\n`,
      );
  });
}
