import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  randomBytes,
  randomUUID,
  scryptSync,
} from "node:crypto";
import { readFileSync } from "node:fs";
import { toHex } from "../core/bytes.js";
import { type KeyPair, keyPairFromPrivateKey } from "../core/keys.js";
import { CliError } from "./output.js";

/**
 * Encrypted key files (keystores): the private key (its PKCS#8 DER) sealed with AES-256-GCM under
 * a key that scrypt derives from a passphrase, as JSON in the shape of Web3 Secret Storage v3
 * (kdf, kdfparams, cipher, cipherparams, ciphertext), with GCM's tag in place of v3's MAC and the
 * address and public key bound to the ciphertext as associated data. A wrong passphrase fails the
 * tag check; so does any edit of the file.
 */
export const KEYSTORE_VERSION = "lotchain-keystore-1";

/** scrypt cost: N = 2^17, r = 8 (128 MiB, a few hundred ms), what geth uses for light keys × 4. */
const SCRYPT = { n: 1 << 17, r: 8, p: 1, dklen: 32 };

export interface Keystore {
  version: typeof KEYSTORE_VERSION;
  id: string;
  address: string;
  publicKey: string;
  crypto: {
    kdf: "scrypt";
    kdfparams: { n: number; r: number; p: number; dklen: number; salt: string };
    cipher: "aes-256-gcm";
    cipherparams: { iv: string; tag: string };
    ciphertext: string;
  };
}

function derive(passphrase: string, p: Keystore["crypto"]["kdfparams"]): Buffer {
  return scryptSync(passphrase.normalize("NFKC"), Buffer.from(p.salt, "hex"), p.dklen, {
    N: p.n,
    r: p.r,
    p: p.p,
    maxmem: 256 * p.n * p.r + 1024 * 1024,
  });
}

const associated = (k: Pick<Keystore, "version" | "address" | "publicKey">) =>
  Buffer.from(`${k.version}\n${k.address}\n${k.publicKey}`);

export function encryptKey(key: KeyPair, passphrase: string): Keystore {
  const kdfparams = { ...SCRYPT, salt: randomBytes(32).toString("hex") };
  const iv = randomBytes(12);
  const head = {
    version: KEYSTORE_VERSION,
    address: key.address,
    publicKey: toHex(key.publicKey),
  } as const;
  const cipher = createCipheriv("aes-256-gcm", derive(passphrase, kdfparams), iv);
  cipher.setAAD(associated(head));
  const plain = key.privateKey.export({ format: "der", type: "pkcs8" });
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  return {
    ...head,
    id: randomUUID(),
    crypto: {
      kdf: "scrypt",
      kdfparams,
      cipher: "aes-256-gcm",
      cipherparams: { iv: iv.toString("hex"), tag: cipher.getAuthTag().toString("hex") },
      ciphertext: ciphertext.toString("hex"),
    },
  };
}

const HEX = /^([0-9a-f]{2})+$/;
/** scrypt's memory is 128 · n · r bytes: ours (n = 2^17, r = 8) takes 128 MiB. */
const MAX_SCRYPT_BYTES = 256 * 1024 * 1024;

/** The keystore in a file's text, checked field by field; undefined when it is not one. */
export function parseKeystore(text: string, file: string): Keystore | undefined {
  if (!text.trimStart().startsWith("{")) return undefined;
  let k: Keystore;
  try {
    k = JSON.parse(text);
  } catch {
    throw new CliError(`${file}: neither a PEM key nor a keystore (invalid JSON)`);
  }
  const c = k?.crypto;
  const p = c?.kdfparams;
  const ok =
    k.version === KEYSTORE_VERSION &&
    typeof k.address === "string" &&
    typeof k.publicKey === "string" &&
    c?.kdf === "scrypt" &&
    c.cipher === "aes-256-gcm" &&
    [p?.n, p?.r, p?.p, p?.dklen].every((v) => Number.isSafeInteger(v) && v > 0) &&
    p.dklen === 32 &&
    // scrypt takes a power of two above 1 (n = 1 threw a RangeError, not this one-line error).
    p.n > 1 &&
    (p.n & (p.n - 1)) === 0 &&
    // A file chooses its own scrypt cost: at most 256 MiB of memory (2x ours) and 4 passes, so
    // that a hostile keystore cannot make the node allocate gigabytes (n = 2^20, r = 32 was 4 GiB).
    128 * p.n * p.r <= MAX_SCRYPT_BYTES &&
    p.p <= 4 &&
    [p.salt, c.cipherparams?.iv, c.cipherparams?.tag, c.ciphertext].every(
      (v) => typeof v === "string" && HEX.test(v),
    ) &&
    c.cipherparams.iv.length === 24 &&
    c.cipherparams.tag.length === 32;
  if (!ok) throw new CliError(`${file}: not a lotchain keystore (${KEYSTORE_VERSION})`);
  return k;
}

export function decryptKeystore(k: Keystore, passphrase: string, file: string): KeyPair {
  const decipher = createDecipheriv(
    "aes-256-gcm",
    derive(passphrase, k.crypto.kdfparams),
    Buffer.from(k.crypto.cipherparams.iv, "hex"),
  );
  decipher.setAAD(associated(k));
  decipher.setAuthTag(Buffer.from(k.crypto.cipherparams.tag, "hex"));
  let plain: Buffer;
  try {
    plain = Buffer.concat([
      decipher.update(Buffer.from(k.crypto.ciphertext, "hex")),
      decipher.final(),
    ]);
  } catch {
    throw new CliError(`wrong passphrase for keystore ${file} (or the file was altered)`);
  }
  const key = keyPairFromPrivateKey(createPrivateKey({ key: plain, format: "der", type: "pkcs8" }));
  if (key.address !== k.address)
    throw new CliError(`${file}: the keystore's key does not match its address`);
  return key;
}

export interface PassphraseOptions {
  passwordFile?: string;
}

/**
 * The passphrase: from --password-file (its first line), else LOTCHAIN_PASSWORD, else asked on
 * the terminal (twice when `confirm`, for a new keystore). Without any: a one-line error.
 */
export async function readPassphrase(
  opts: PassphraseOptions,
  what: string,
  confirm = false,
): Promise<string> {
  if (opts.passwordFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.passwordFile, "utf8");
    } catch (e) {
      throw new CliError(
        `cannot read the passphrase file ${opts.passwordFile}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      );
    }
    const line = text.split(/\r?\n/)[0] ?? "";
    if (line === "") throw new CliError(`the passphrase file ${opts.passwordFile} is empty`);
    return line;
  }
  const env = process.env.LOTCHAIN_PASSWORD;
  if (env !== undefined && env !== "") return env;
  if (!process.stdin.isTTY || !process.stderr.isTTY)
    throw new CliError(
      `${what} needs a passphrase: give --password-file FILE or LOTCHAIN_PASSWORD, or run on a terminal`,
    );
  const first = await promptHidden(`Passphrase for ${what}: `);
  if (first === "") throw new CliError("an empty passphrase is not accepted");
  if (confirm && (await promptHidden("Repeat the passphrase: ")) !== first)
    throw new CliError("the two passphrases differ");
  return first;
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  // No echo before the question shows: whatever is typed after it stays hidden.
  stdin.setRawMode(true);
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let answer = "";
    const done = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(answer);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003") return done(new CliError("cancelled"));
        if (ch === "\u007f" || ch === "\b") answer = answer.slice(0, -1);
        else answer += ch;
      }
    };
    stdin.resume();
    stdin.on("data", onData);
  });
}
