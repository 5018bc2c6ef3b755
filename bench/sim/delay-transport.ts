import type { Transport, Upgrader } from "@libp2p/interface";
import { tcp } from "@libp2p/tcp";
import type { TransportFactory } from "../../src/net/libp2p-node.js";

/**
 * TCP on 127.0.0.1 with a wide-area link's delay: every chunk a node writes to a connection leaves
 * `latencyMs ± jitterMs` (uniform) later, in order (a chunk never overtakes the one before it, as
 * on a TCP stream). Real time, real sockets: the delay is a timer between libp2p's write and the
 * socket's, so noise, yamux, gossipsub and sync all run as they would over a slower link. Each end
 * delays what it sends, so a round trip costs two delays, as on a real link.
 *
 * The wrapper also counts the bytes each node writes and reads (TCP payload: noise and yamux
 * framing included) and can cut the network in two (see Partition).
 */
export interface LinkDelay {
  latencyMs: number;
  jitterMs: number;
}

/** Bytes a node wrote and read on all its connections. */
export interface ByteCounters {
  in: number;
  out: number;
}

/**
 * A network cut in two: while active, a node refuses to dial a listen port of the other side and
 * drops the connections it dialled there (the other side's nodes do the same, so every link across
 * goes: each link has exactly one dialling end). Healing lets dials through again; reconnection is
 * then lotchain's own (bootstrap redial with backoff, discovery top-up).
 */
export class Partition {
  #sideOfPort = new Map<number, number>();
  #active = false;
  readonly #connections = new Set<{ port: number; side: number; abort: () => void }>();

  get active(): boolean {
    return this.#active;
  }

  /** Cuts: `sideOfPort` names the side of every listening node (by TCP port). */
  cut(sideOfPort: Map<number, number>): void {
    this.#sideOfPort = sideOfPort;
    this.#active = true;
    for (const c of [...this.#connections])
      if (this.#blocked(c.side, c.port)) {
        this.aborted.atCut++;
        c.abort();
      }
  }

  heal(): void {
    this.#active = false;
  }

  /** Whether a node of `side` may not reach `port` now. */
  #blocked(side: number, port: number): boolean {
    if (!this.#active) return false;
    const other = this.#sideOfPort.get(port);
    return other !== undefined && other !== side;
  }

  blocks(side: number, port: number): boolean {
    return this.#blocked(side, port);
  }

  /** Connections aborted by a cut: at the cut, and later (dials that were under way at the cut). */
  readonly aborted = { atCut: 0, late: 0 };

  /**
   * Tracks a connection this node dialled, once it is upgraded. A dial that was under way when the
   * cut came completes after the cut's sweep: it is aborted here, or it would bridge the halves.
   */
  track(entry: { port: number; side: number; abort: () => void }): () => void {
    if (this.#blocked(entry.side, entry.port)) {
      this.aborted.late++;
      entry.abort();
      return () => {};
    }
    this.#connections.add(entry);
    return () => this.#connections.delete(entry);
  }
}

/** What the wrapper touches of @libp2p/tcp's connection (AbstractMultiaddrConnection). */
interface RawConnection {
  direction: "inbound" | "outbound";
  sendData(data: { byteLength: number }): { sentBytes: number; canSendMore: boolean };
  sendClose(options?: unknown): Promise<void>;
  sendReset(err: Error): void;
  onData(data: { byteLength: number }): void;
  abort(err: Error): void;
  addEventListener(type: "close", listener: () => void): void;
  /** @libp2p/tcp's socket */
  socket?: { cork(): void; uncork(): void };
}

/** Delays a connection's writes and counts its bytes. */
function delayConnection(conn: RawConnection, delay: LinkDelay, bytes: ByteCounters): void {
  const send = conn.sendData.bind(conn);
  const close = conn.sendClose.bind(conn);
  const reset = conn.sendReset.bind(conn);
  const receive = conn.onData.bind(conn);
  const queue: { at: number; data: { byteLength: number } }[] = [];
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  let drained: (() => void) | undefined;

  const flush = (): void => {
    timer = undefined;
    const now = Date.now();
    // What is due leaves in one write (writev), as a socket with data waiting would send it.
    conn.socket?.cork();
    while (queue.length > 0 && queue[0]!.at <= now) send(queue.shift()!.data);
    conn.socket?.uncork();
    if (queue.length > 0) timer = setTimeout(flush, queue[0]!.at - now);
    else drained?.();
  };
  conn.sendData = (data) => {
    bytes.out += data.byteLength;
    const spread = delay.jitterMs * (2 * Math.random() - 1);
    const at = Math.max(last, Date.now() + Math.max(0, delay.latencyMs + spread));
    last = at;
    queue.push({ at, data });
    if (timer === undefined) timer = setTimeout(flush, Math.max(0, at - Date.now()));
    // The socket buffers whatever is written; the delay queue is the link "in flight".
    return { sentBytes: data.byteLength, canSendMore: true };
  };
  conn.onData = (data) => {
    bytes.in += data.byteLength;
    receive(data);
  };
  // A graceful close waits for what is still on the link, like a FIN behind the data.
  conn.sendClose = async (options) => {
    if (queue.length > 0) {
      // At most the link's longest delay: the queue empties by then.
      const bound = delay.latencyMs + delay.jitterMs + 100;
      await new Promise<void>((resolve) => {
        drained = resolve;
        setTimeout(resolve, bound).unref();
      });
    }
    return close(options);
  };
  conn.sendReset = (err) => {
    clearTimeout(timer);
    queue.length = 0;
    drained?.();
    reset(err);
  };
}

function tcpPort(address: { toString(): string }): number {
  return Number(/\/tcp\/(\d+)/.exec(address.toString())?.[1] ?? -1);
}

/** Replaces the upgrader's two entry points so that every raw connection is delayed first. */
function delayingUpgrader(
  upgrader: Upgrader,
  wrap: (conn: RawConnection, remotePort: number | undefined) => void,
): Upgrader {
  return new Proxy(upgrader, {
    get(target, property, receiver) {
      if (property === "upgradeInbound" || property === "upgradeOutbound") {
        return (maConn: RawConnection & { remoteAddr: { toString(): string } }, o: never) => {
          const port = maConn.direction === "outbound" ? tcpPort(maConn.remoteAddr) : undefined;
          wrap(maConn, port);
          return (target[property] as (c: unknown, o: never) => Promise<unknown>).call(
            target,
            maConn,
            o,
          );
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export interface DelayedTcpOptions {
  delay: LinkDelay;
  bytes: ByteCounters;
  partition: Partition;
  /** the side of the partition this node is on */
  side: () => number;
}

/** A libp2p transport factory: @libp2p/tcp whose connections are delayed, counted and cut. */
export function delayedTcp(options: DelayedTcpOptions): TransportFactory {
  const inner = tcp();
  const { delay, bytes, partition, side } = options;
  const wrap = (conn: RawConnection, remotePort: number | undefined): void => {
    delayConnection(conn, delay, bytes);
    if (remotePort === undefined) return;
    const untrack = partition.track({
      port: remotePort,
      side: side(),
      abort: () => conn.abort(new Error("network partition")),
    });
    conn.addEventListener("close", untrack);
  };
  return (components) => {
    const transport = inner(components);
    return new Proxy(transport, {
      get(target, property, receiver) {
        if (property === "dial") {
          const dial: Transport["dial"] = async (ma, o) => {
            if (partition.blocks(side(), tcpPort(ma)))
              throw new Error(`network partition: ${ma.toString()} is on the other side`);
            return target.dial(ma, { ...o, upgrader: delayingUpgrader(o.upgrader, wrap) });
          };
          return dial;
        }
        if (property === "createListener") {
          const create: Transport["createListener"] = (o) =>
            target.createListener({ ...o, upgrader: delayingUpgrader(o.upgrader, wrap) });
          return create;
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  };
}
