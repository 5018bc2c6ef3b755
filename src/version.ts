/** The node's version, reported by /info and /v1/status. */
export const VERSION = "0.1.0";
export const NODE_NAME = "lotchain";
