#!/usr/bin/env node
import { Command } from "commander";
import { VERSION } from "../version.js";
import { registerDemoCommand } from "./demo.js";
import { registerDevnetCommand } from "./devnet.js";
import { registerGenesisCommands } from "./genesis.js";
import { registerKeyCommands } from "./keys.js";
import { registerNodeCommand } from "./node.js";
import { applyFalseBooleanEnv } from "./options.js";
import { fail } from "./output.js";
import { relaunchOnPinnedNode } from "./runtime.js";
import { registerStatusCommand } from "./status.js";
import { registerBalanceCommand, registerTxCommands } from "./tx.js";

const program = new Command()
  .name("lotchain")
  .description(
    "lotchain: a blockchain node — lot-lottery Proof of Stake or Proof of Work over libp2p",
  )
  .version(VERSION)
  .configureOutput({
    // Commander's own usage errors: one line on stderr.
    outputError: (text, write) =>
      write(`lotchain: ${text.replace(/^error: /, "").split("\n")[0]}\n`),
  })
  .showSuggestionAfterError(true)
  .hook("preAction", (_program, action) => applyFalseBooleanEnv(action));

registerNodeCommand(program);
registerKeyCommands(program);
registerTxCommands(program);
registerBalanceCommand(program);
registerStatusCommand(program);
registerGenesisCommands(program);
registerDevnetCommand(program);
registerDemoCommand(program);

if (!relaunchOnPinnedNode()) program.parseAsync(process.argv).catch(fail);
