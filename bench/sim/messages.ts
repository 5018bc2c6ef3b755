/** What the simulator's coordinator and its worker processes say to each other (over IPC). */

export interface WorkerInit {
  type: "init";
  worker: number;
  /** how many times this worker's nodes were started (a killed worker comes back with +1) */
  incarnation: number;
  genesis: Record<string, unknown>;
  latencyMs: number;
  jitterMs: number;
  /** discovered peers dialled until a node has this many connections (P2POptions.targetPeers) */
  targetPeers: number;
  /** keep chains in memory-level (else LevelDB under each node's data dir) */
  memory: boolean;
  logFile: string;
  logLevel: string;
}

export interface NodeSpec {
  index: number;
  dataDir: string;
  /** hex seed of the validator key; none: a full node */
  keySeed?: string;
  bootstrap: string[];
  /** partition side (0 or 1) */
  side: number;
}

export type ToWorker =
  | WorkerInit
  | { type: "start"; nodes: NodeSpec[] }
  | { type: "cut"; sideOfPort: [number, number][] }
  | { type: "heal" }
  | { type: "stop" };

/** [node, incarnation, hash, parent, height, slot, forger (hex), time, status, bytes] */
export type BlockRecord = [
  number,
  number,
  string,
  string,
  number,
  number,
  string,
  number,
  string,
  number,
];
/** [node, time, head hash, height] */
export type HeadRecord = [number, number, string, number];
/** [node, time, depth] */
export type ReorgRecord = [number, number, number];

export interface NodeCounters {
  node: number;
  incarnation: number;
  bytesIn: number;
  bytesOut: number;
  /** block topic: first copies (valid), later copies (duplicate) */
  blockValid: number;
  blockDuplicate: number;
  peers: number;
  /** gossipsub's mesh on the (compact) block topic, and the peers subscribed to it there */
  blockMesh: number;
  blockTopicPeers: number;
}

export interface ProcessSample {
  time: number;
  /** CPU time of the process over the interval, ms (user + system) */
  cpuMs: number;
  intervalMs: number;
  /** event-loop utilisation over the interval (0..1) */
  elu: number;
  /** event-loop delay over the interval, ms */
  lagP50: number;
  lagP99: number;
  lagMax: number;
  nodes: number;
  rssMiB: number;
  /** links to the other half this process's nodes dropped at the cut, and later (see Partition) */
  cutAborts: { atCut: number; late: number };
}

export type FromWorker =
  | { type: "started"; nodes: { index: number; address: string; port: number; peerId: string }[] }
  | {
      type: "report";
      worker: number;
      blocks: BlockRecord[];
      heads: HeadRecord[];
      reorgs: ReorgRecord[];
      counters: NodeCounters[];
      sample: ProcessSample;
    }
  | { type: "stopped" }
  | { type: "error"; message: string };
