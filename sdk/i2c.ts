// I2C buses by logical name ("I2C0").
import { i2c_open, i2c_read, i2c_scan, i2c_write, i2c_write_read } from "./generated/i2c";
import { DATA_CAP, NAME_CAP, dataBuf, nameBuf } from "./internal/scratch";
import { encodeName } from "./internal/utf8";
import { fromRef, toRef } from "./internal/handle";

/**
 * An opened I2C bus (7-bit addresses). Like Pin: open it in `start()`, `liquid build` records
 * the literal names passed to I2CBus.open in the manifest, and `ok` is false when the board has
 * no such bus. Transfers return the byte count or a negative error (ENACK when nobody answers).
 * The register helpers stage bytes in a static buffer and allocate nothing.
 */
@final @unmanaged
export class I2CBus {
  /** A placeholder for a bus not opened yet. */
  // @ts-ignore: decorator
  @inline static get NONE(): I2CBus {
    return changetype<I2CBus>(0);
  }

  static open(name: string): I2CBus {
    return changetype<I2CBus>(toRef(i2c_open(nameBuf, encodeName(name, nameBuf, NAME_CAP))));
  }

  get id(): i32 {
    return fromRef(changetype<usize>(this));
  }

  get ok(): bool {
    return this.id >= 0;
  }

  write(addr: i32, data: Uint8Array): i32 {
    return i2c_write(this.id, addr, data.dataStart, data.length);
  }

  read(addr: i32, out: Uint8Array): i32 {
    return i2c_read(this.id, addr, out.dataStart, out.length);
  }

  /** Writes `data`, then reads into `out` after a repeated START (a register read). */
  writeRead(addr: i32, data: Uint8Array, out: Uint8Array): i32 {
    return i2c_write_read(this.id, addr, data.dataStart, data.length, out.dataStart, out.length);
  }

  /** Reads one 8-bit register: 0..255, or a negative error. */
  readReg8(addr: i32, reg: i32): i32 {
    store<u8>(dataBuf, <u8>reg);
    const n = i2c_write_read(this.id, addr, dataBuf, 1, dataBuf + 1, 1);
    return n < 0 ? n : <i32>load<u8>(dataBuf + 1);
  }

  /** Reads a big-endian 16-bit register (MSB first, as TMP105 and most sensors send it): 0..65535, or a negative error. */
  readReg16(addr: i32, reg: i32): i32 {
    store<u8>(dataBuf, <u8>reg);
    const n = i2c_write_read(this.id, addr, dataBuf, 1, dataBuf + 1, 2);
    return n < 0 ? n : (<i32>load<u8>(dataBuf + 1) << 8) | <i32>load<u8>(dataBuf + 2);
  }

  /** Reads out.length consecutive registers starting at `reg` into `out`; returns the byte count or an error. */
  readRegs(addr: i32, reg: i32, out: Uint8Array): i32 {
    store<u8>(dataBuf, <u8>reg);
    return i2c_write_read(this.id, addr, dataBuf, 1, out.dataStart, out.length);
  }

  /** Writes one 8-bit register. */
  writeReg8(addr: i32, reg: i32, value: i32): i32 {
    store<u8>(dataBuf, <u8>reg);
    store<u8>(dataBuf + 1, <u8>value);
    return i2c_write(this.id, addr, dataBuf, 2);
  }

  /** Writes a 16-bit register MSB first. */
  writeReg16(addr: i32, reg: i32, value: i32): i32 {
    store<u8>(dataBuf, <u8>reg);
    store<u8>(dataBuf + 1, <u8>(value >> 8));
    store<u8>(dataBuf + 2, <u8>value);
    return i2c_write(this.id, addr, dataBuf, 3);
  }

  /** Lists the answering addresses into `out`; returns how many answered (may exceed out.length). */
  scan(out: Uint8Array): i32 {
    return i2c_scan(this.id, out.dataStart, out.length);
  }

  /** True when a device answers at `addr` (probed by a scan). */
  has(addr: i32): bool {
    const n = i2c_scan(this.id, dataBuf, DATA_CAP);
    for (let i = 0; i < n && i < DATA_CAP; i++) if (<i32>load<u8>(dataBuf + i) == addr) return true;
    return false;
  }
}
