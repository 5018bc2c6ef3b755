import { isIPv4, isIPv6 } from "node:net";
import { peerIdFromString } from "@libp2p/peer-id";
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import { NetError } from "./errors.js";

const HOST_PORT = /^([^\s:/[\]]+):(\d{1,5})$/;
const BRACKETED_IPV6_PORT = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/;

/** The TCP listen multiaddr of an IP literal host; hostnames are not listenable. */
export function listenAddress(host: string, port: number): Multiaddr {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new NetError("InvalidAddress", `invalid p2p port ${port}`);
  }
  if (isIPv4(host)) return multiaddr(`/ip4/${host}/tcp/${port}`);
  if (isIPv6(host)) return multiaddr(`/ip6/${host}/tcp/${port}`);
  throw new NetError("InvalidAddress", `p2p host must be an IP address, got "${host}"`);
}

/**
 * A bootstrap entry as a dialable multiaddr: "host:port" and "[ipv6]:port" become
 * /ip4|ip6|dns/<host>/tcp/<port> without a peer id (noise learns it during the handshake); an
 * entry starting with "/" is a multiaddr as is, with or without /p2p/<id>.
 */
export function parseBootstrapAddress(entry: string): Multiaddr {
  const text = entry.trim();
  if (text.startsWith("/")) {
    try {
      return multiaddr(text);
    } catch (err) {
      throw new NetError("InvalidAddress", `invalid bootstrap multiaddr "${entry}"`, {
        cause: err,
      });
    }
  }
  const match = BRACKETED_IPV6_PORT.exec(text) ?? HOST_PORT.exec(text);
  const host = match?.[1];
  const port = Number(match?.[2]);
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new NetError(
      "InvalidAddress",
      `bootstrap "${entry}" is neither host:port nor a multiaddr`,
    );
  }
  if (isIPv4(host)) return multiaddr(`/ip4/${host}/tcp/${port}`);
  if (isIPv6(host)) return multiaddr(`/ip6/${host}/tcp/${port}`);
  return multiaddr(`/dns/${host}/tcp/${port}`);
}

/** The peer id a multiaddr names with /p2p/<id>, if any. */
export function peerIdOf(address: Multiaddr): string | undefined {
  return address.getComponents().find((c) => c.name === "p2p")?.value;
}

/** "host:port" of a TCP multiaddr (to recognise our own address among bootstrap entries). */
export function hostPortOf(address: Multiaddr): string | undefined {
  const components = address.getComponents();
  const host = components.find((c) => ["ip4", "ip6", "dns", "dns4", "dns6"].includes(c.name));
  const tcp = components.find((c) => c.name === "tcp");
  if (host?.value === undefined || tcp?.value === undefined) return undefined;
  return `${host.value}:${tcp.value}`;
}

/** Whether a string is a libp2p peer id (what the admin routes take). */
export function isPeerId(text: string): boolean {
  try {
    peerIdFromString(text);
    return true;
  } catch {
    return false;
  }
}
