/** A simulated I2C bus: the devices attached at their addresses. Absent addresses NACK. */
import type { BusDef } from "../board/board-def.js";
import { Bme280 } from "./bme280.js";
import type { I2CDevice } from "./device.js";
import { Tmp105 } from "./tmp105.js";

export class I2CBus {
  readonly devices = new Map<number, I2CDevice>();

  constructor(readonly def: BusDef) {
    for (const d of def.devices) this.devices.set(d.addr, createDevice(d.driver, d.addr, d.initial));
  }

  get name(): string {
    return this.def.name;
  }

  /** The device named by driver ("tmp105") or address ("0x48", "72"); undefined if none. */
  find(key: string): I2CDevice | undefined {
    if (/^(0x[0-9a-f]+|\d+)$/i.test(key)) return this.devices.get(Number(key));
    const matches = [...this.devices.values()].filter((d) => d.driver === key);
    if (matches.length > 1) {
      throw new Error(`${this.name} has ${matches.length} ${key} devices; name one by address, e.g. ${this.name}.0x${matches[0]!.addr.toString(16)}`);
    }
    return matches[0];
  }
}

export function createDevice(driver: string, addr: number, initial: Record<string, number>): I2CDevice {
  switch (driver) {
    case "tmp105": {
      const dev = new Tmp105(addr);
      for (const [k, v] of Object.entries(initial)) dev.setQuantity(k, v);
      return dev;
    }
    case "bme280":
      return new Bme280(addr, initial);
    default:
      throw new Error(`no simulation model for I2C driver '${driver}'`);
  }
}
