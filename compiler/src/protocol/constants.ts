/** Numbers fixed by docs/protocol.md (device protocol v1). */

export const MAGIC0 = 0x4c; // 'L'
export const MAGIC1 = 0x51; // 'Q'
export const PROTOCOL_VERSION = 1;
export const MAX_PAYLOAD = 4096;
/** magic(2) version(1) command(1) flags(1) seq(2) length(2) */
export const HEADER_SIZE = 9;
export const CRC_SIZE = 4;
/** A receiver that saw part of a frame and then nothing for this long drops the partial frame. */
export const PARTIAL_FRAME_TIMEOUT_MS = 500;

export const FLAG_RESPONSE = 0x01;
export const FLAG_EVENT = 0x02;

export const Cmd = {
  HELLO: 0x01,
  INFO: 0x02,
  RESET: 0x03,
  PUT_BEGIN: 0x10,
  PUT_CHUNK: 0x11,
  PUT_END: 0x12,
  LIST: 0x13,
  START: 0x14,
  STOP: 0x15,
  REMOVE: 0x16,
  AUTOSTART: 0x17,
  LOGS: 0x20,
  FETCH: 0x30,
  SNAPSHOT: 0x40,
  SNAPSHOT_READ: 0x41,
  RESTORE_BEGIN: 0x42,
  RESTORE_CHUNK: 0x43,
  RESTORE_END: 0x44,
  FW_BEGIN: 0x50,
  FW_CHUNK: 0x51,
  FW_END: 0x52,
} as const;

export const Event = {
  LOG: 0x80,
  APP_STATE: 0x81,
} as const;

export const Status = {
  OK: 0,
  EUNKNOWN: 1,
  EBADREQ: 2,
  ENOTFOUND: 3,
  EEXISTS: 4,
  ENOSPACE: 5,
  EHASH: 6,
  EINVALID: 7,
  ERANGE: 8,
  EVERSION: 9,
  EBUSY: 10,
  EINTERNAL: 11,
} as const;

export type StatusName = keyof typeof Status;

const STATUS_NAMES = new Map<number, StatusName>(
  (Object.entries(Status) as [StatusName, number][]).map(([name, code]) => [code, name]),
);

export function statusName(code: number): string {
  return STATUS_NAMES.get(code) ?? `status ${code}`;
}

const COMMAND_NAMES = new Map<number, string>(
  [...Object.entries(Cmd), ...Object.entries(Event)].map(([name, code]) => [code, name]),
);

export function commandName(code: number): string {
  return COMMAND_NAMES.get(code) ?? `0x${code.toString(16).padStart(2, "0")}`;
}
