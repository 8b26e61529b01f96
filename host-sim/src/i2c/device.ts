/**
 * What a simulated I2C peripheral looks like to the bus: byte-level write and read
 * transactions, as the chip sees them between START and STOP, plus the physical quantities a
 * user or scenario can set (temperature, pressure, ...), which the chip turns into register
 * values the way the real part would.
 */
export interface I2CDevice {
  readonly driver: string;
  readonly addr: number;
  /** A write transaction: the chip ACKs each byte; returns how many were acknowledged. */
  write(data: Uint8Array): number;
  /** A read transaction of `length` bytes. */
  read(length: number): Uint8Array;
  /** Physical quantities this model exposes, with their unit, e.g. { temperature: "°C" }. */
  readonly quantities: Record<string, string>;
  setQuantity(name: string, value: number): void;
  getQuantity(name: string): number;
}

export class QuantityError extends Error {}

export function checkQuantity(device: I2CDevice, name: string, value: number, min: number, max: number): void {
  if (!(name in device.quantities)) {
    throw new QuantityError(
      `${device.driver} has no quantity '${name}' (it has: ${Object.keys(device.quantities).join(", ")})`,
    );
  }
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new QuantityError(`${device.driver} ${name} must be between ${min} and ${max} ${device.quantities[name]}, not ${value}`);
  }
}
