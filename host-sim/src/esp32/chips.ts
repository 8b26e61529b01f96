/**
 * What a simulated chip answers when the host identifies it. The ESP32 is the one Liquid
 * flashes; the others exist so the flasher's wrong-chip path meets a real protocol answer.
 */
export interface ChipProfile {
  /** Name as esptool reports it. */
  name: string;
  /** Value of the chip-detect magic register at 0x40001000. */
  magic: number;
  /** GET_SECURITY_INFO answer (ESP32-S3 and later); undefined: the ROM rejects the command. */
  securityInfo?: { flags: number; chipId: number; apiVersion: number };
  /** Register values the ROM returns for READ_REG (efuses, date registers, UART divider). */
  registers: Record<number, number>;
}

const ESP32_EFUSE_BASE = 0x3ff5a000;
const MAC = [0x24, 0x0a, 0xc4, 0x12, 0x34, 0x56];

/** An ESP32-D0WD revision 1 with a 40 MHz crystal and the MAC 24:0a:c4:12:34:56. */
export const ESP32: ChipProfile = {
  name: "ESP32",
  magic: 0x00f01d83,
  registers: {
    // efuse word 1/2: MAC (word 2 holds the top two bytes)
    [ESP32_EFUSE_BASE + 4]: ((MAC[2]! << 24) | (MAC[3]! << 16) | (MAC[4]! << 8) | MAC[5]!) >>> 0,
    [ESP32_EFUSE_BASE + 8]: (MAC[0]! << 8) | MAC[1]!,
    // efuse word 3: package D0WD (pkg version 1 in bits 9..11), revision bit 15 set (rev >= 1)
    [ESP32_EFUSE_BASE + 12]: (1 << 9) | (1 << 15),
    [ESP32_EFUSE_BASE + 16]: 0,
    [ESP32_EFUSE_BASE + 20]: 0,
    [ESP32_EFUSE_BASE + 24]: 0,
    // APB_CTRL_DATE: bit 31 clear (not revision 3)
    [0x3ff66000 + 0x7c]: 0x16042000,
    // UART_CLKDIV at 115200 baud from a 40 MHz crystal: 40e6 / 115200
    [0x3ff40014]: Math.round(40_000_000 / 115200),
  },
};

export const ESP32_S3: ChipProfile = {
  name: "ESP32-S3",
  magic: 0x00000009,
  securityInfo: { flags: 0, chipId: 9, apiVersion: 0 },
  registers: {},
};

export const ESP8266: ChipProfile = {
  name: "ESP8266",
  magic: 0xfff0c101,
  registers: {},
};

/** Something that speaks the ROM protocol but is no Espressif chip esptool knows. */
export const UNKNOWN_CHIP: ChipProfile = {
  name: "unknown",
  magic: 0xdeadbeef,
  registers: {},
};

export const CHIP_PROFILES: Record<string, ChipProfile> = {
  esp32: ESP32,
  "esp32-s3": ESP32_S3,
  esp8266: ESP8266,
  unknown: UNKNOWN_CHIP,
};
