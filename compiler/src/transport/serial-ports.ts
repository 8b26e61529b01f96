import { existsSync, readFileSync, readdirSync, realpathSync } from "node:fs";
import { join } from "node:path";

/** A serial port of this machine, as `liquid devices` lists it. */
export interface SerialPortInfo {
  path: string;
  /** "1915:521f" for USB ports; undefined for on-board UARTs. */
  vidPid?: string;
  manufacturer?: string;
  product?: string;
  serialNumber?: string;
  /** What board this probably is, from the USB ids (a guess: many boards share a USB bridge). */
  boardGuess?: string;
}

/** USB ids of the boards and USB-serial bridges Liquid targets. */
const KNOWN_USB: Record<string, string> = {
  "1915:520f": "nrf52840 (Nordic dongle, bootloader)",
  "1915:521f": "nrf52840 (Nordic dongle)",
  "1915:cafe": "nrf52840 (Liquid firmware)",
  "1366:1015": "nrf52840-dk (SEGGER J-Link OB)",
  "1366:1051": "nrf52840-dk (SEGGER J-Link OB)",
  "239a:8029": "nrf52840 (Adafruit Feather)",
  "2fe3:0100": "nrf52840 (Zephyr CDC ACM)",
  "303a:1001": "esp32-s3/c3 (USB-Serial/JTAG)",
  "303a:0002": "esp32-s2 (native USB)",
  "10c4:ea60": "esp32 devkit? (CP210x bridge)",
  "1a86:7523": "esp32 devkit? (CH340 bridge)",
  "1a86:55d4": "esp32 devkit? (CH9102 bridge)",
  "0403:6001": "FTDI FT232 bridge",
  "0403:6010": "FTDI FT2232 bridge",
  "0483:374b": "STM32 (ST-LINK/V2-1)",
  "0483:5740": "STM32 (USB CDC)",
  "0d28:0204": "ARM mbed (DAPLink)",
};

export function guessBoard(vidPid: string | undefined): string | undefined {
  return vidPid ? KNOWN_USB[vidPid.toLowerCase()] : undefined;
}

function readAttr(dir: string, name: string): string | undefined {
  try {
    return readFileSync(join(dir, name), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Lists USB and ACM serial ports from sysfs (Linux). Reads /sys directly instead of asking
 * udev so it works in containers without udevadm. On-board legacy UARTs (ttyS*) without a
 * driver-backed device are skipped: every PC has 4 phantom ones.
 */
export function listSerialPorts(sysClass = "/sys/class/tty"): SerialPortInfo[] {
  let names: string[];
  try {
    names = readdirSync(sysClass);
  } catch {
    return [];
  }
  const ports: SerialPortInfo[] = [];
  for (const name of names.sort()) {
    const deviceLink = join(sysClass, name, "device");
    if (!existsSync(deviceLink)) continue;
    if (!/^(ttyUSB|ttyACM|ttyAMA|ttyS|ttyGS)\d+$/.test(name)) continue;
    let dir: string;
    try {
      dir = realpathSync(deviceLink);
    } catch {
      continue;
    }
    // Walk up to the USB device directory, which carries idVendor/idProduct.
    let usb: string | undefined;
    for (let d = dir; d.length > "/sys".length; d = join(d, "..")) {
      if (existsSync(join(d, "idVendor"))) {
        usb = d;
        break;
      }
    }
    if (!usb && name.startsWith("ttyS")) continue;
    const info: SerialPortInfo = { path: `/dev/${name}` };
    if (usb) {
      const vid = readAttr(usb, "idVendor");
      const pid = readAttr(usb, "idProduct");
      if (vid && pid) info.vidPid = `${vid}:${pid}`;
      const manufacturer = readAttr(usb, "manufacturer");
      const product = readAttr(usb, "product");
      const serialNumber = readAttr(usb, "serial");
      if (manufacturer) info.manufacturer = manufacturer;
      if (product) info.product = product;
      if (serialNumber) info.serialNumber = serialNumber;
      const guess = guessBoard(info.vidPid);
      if (guess) info.boardGuess = guess;
    }
    ports.push(info);
  }
  return ports;
}
