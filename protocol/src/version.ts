/** Wire protocol version: the `v` of every payload and the `v1` segment of every topic. */
export const PROTOCOL_VERSION = 1 as const;
export const TOPIC_ROOT = 'portail/v1' as const;
/** Payloads above this size are refused on both sides (a frame or a crop never belongs on MQTT). */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
