import { Gauge, type Registry } from "prom-client";

/** A gauge of `registry` that reads its value when /metrics is scraped. */
export function readGauge(registry: Registry, name: string, help: string, read: () => number) {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}
