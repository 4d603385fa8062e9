import { Packr } from 'msgpackr';

/**
 * The wire protocol between the scheduler, its workers and its clients: one msgpack map per
 * WebSocket binary message, `{ v, type, id?, ...fields }`. `v` is the protocol version;
 * `id` (a client-chosen integer) is echoed in the reply. Every message is validated; an
 * invalid one gets `{ type: 'error', code, message, replyTo? }` and changes nothing.
 */
export const PROTOCOL_VERSION = 1;

export interface TaskSpec {
  name: string;
  /** Base model the task tunes (a name or path the executor understands). */
  baseModel: string;
  /** Devices the task needs at once. */
  devices: number;
  /** Training samples in the task's whole search (all configurations, worst case). */
  datasetSize: number;
  /** The search space (passed to the executor as is). */
  searchSpace: Record<string, unknown>;
  priority: number;
  /** Executor configuration (for `alto tune`: its config object). */
  config?: Record<string, unknown>;
}

export type ClientMessage =
  | { type: 'hello'; role: 'client' | 'worker'; token: string; name?: string; devices?: string[]; running?: string[] }
  | { type: 'submit'; task: TaskSpec }
  | { type: 'status' }
  | { type: 'cancel'; taskId: string }
  | { type: 'heartbeat' }
  | { type: 'profile'; taskId: string; samplesPerSecond: number }
  | { type: 'progress'; taskId: string; samplesDone: number; losses?: Record<string, number>; exits?: number }
  | { type: 'checkpoint'; taskId: string; checkpoint: Record<string, unknown> }
  | { type: 'completed'; taskId: string; result: Record<string, unknown> }
  | { type: 'failed'; taskId: string; error: string };

export type ErrorCode = 'malformed' | 'unknown-type' | 'invalid' | 'unauthorized' | 'not-found' | 'version';

export class ProtocolError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: true });
export const encode = (message: Record<string, unknown>): Buffer => packr.pack({ v: PROTOCOL_VERSION, ...message });

type Check = (value: unknown, path: string) => void;
const fail = (path: string, why: string): never => {
  throw new ProtocolError('invalid', `${path}: ${why}`);
};
const str: Check = (v, p) => (typeof v === 'string' && v.length > 0 && v.length <= 1000 ? undefined : fail(p, 'must be a non-empty string (≤ 1000 chars)'));
const int = (min: number, max = Number.MAX_SAFE_INTEGER): Check => (v, p) =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? undefined : fail(p, `must be an integer in [${min}, ${max}]`);
const num = (min: number): Check => (v, p) => (typeof v === 'number' && Number.isFinite(v) && v >= min ? undefined : fail(p, `must be a finite number ≥ ${min}`));
const obj: Check = (v, p) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? undefined : fail(p, 'must be an object'));
const optional = (c: Check): Check => (v, p) => (v === undefined ? undefined : c(v, p));
const strings: Check = (v, p) => {
  if (!Array.isArray(v) || v.length === 0 || v.length > 4096) fail(p, 'must be a non-empty array of strings');
  (v as unknown[]).forEach((s, i) => str(s, `${p}[${i}]`));
  if (new Set(v as string[]).size !== (v as string[]).length) fail(p, 'must not repeat a device');
};
const ids: Check = (v, p) => {
  if (!Array.isArray(v) || v.length > 4096) fail(p, 'must be an array of task ids');
  (v as unknown[]).forEach((s, i) => str(s, `${p}[${i}]`));
};
const numbers: Check = (v, p) => {
  obj(v, p);
  for (const [k, x] of Object.entries(v as object)) num(-Infinity)(x, `${p}.${k}`);
};

const SCHEMAS: Record<ClientMessage['type'], Record<string, Check>> = {
  hello: { role: (v, p) => (v === 'client' || v === 'worker' ? undefined : fail(p, "must be 'client' or 'worker'")), token: str, name: optional(str), devices: optional(strings), running: optional(ids) },
  submit: {
    task: (v, p) => {
      obj(v, p);
      const t = v as Record<string, unknown>;
      str(t.name, `${p}.name`);
      str(t.baseModel, `${p}.baseModel`);
      int(1, 4096)(t.devices, `${p}.devices`);
      int(1)(t.datasetSize, `${p}.datasetSize`);
      obj(t.searchSpace, `${p}.searchSpace`);
      int(-1000, 1000)(t.priority ?? 0, `${p}.priority`);
      optional(obj)(t.config, `${p}.config`);
    },
  },
  status: {},
  cancel: { taskId: str },
  heartbeat: {},
  profile: { taskId: str, samplesPerSecond: num(0) },
  progress: { taskId: str, samplesDone: int(0), losses: optional(numbers), exits: optional(int(0)) },
  checkpoint: { taskId: str, checkpoint: obj },
  completed: { taskId: str, result: obj },
  failed: { taskId: str, error: str },
};

/** Decodes and validates one message; throws a ProtocolError saying what is wrong. */
export function decode(data: Uint8Array): { id?: number; message: ClientMessage } {
  let raw: unknown;
  try {
    raw = packr.unpack(data);
  } catch (e) {
    throw new ProtocolError('malformed', `not a msgpack message (${(e as Error).message.slice(0, 80)})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ProtocolError('malformed', 'a message must be a map');
  const m = raw as Record<string, unknown>;
  if (m.v !== PROTOCOL_VERSION) throw new ProtocolError('version', `protocol version ${String(m.v)} is not supported (this server speaks ${PROTOCOL_VERSION})`);
  const id = m.id;
  if (id !== undefined && !(Number.isInteger(id) && (id as number) >= 0)) throw new ProtocolError('invalid', 'id: must be an integer ≥ 0');
  const type = m.type;
  if (typeof type !== 'string' || !Object.hasOwn(SCHEMAS, type)) throw new ProtocolError('unknown-type', `unknown message type ${JSON.stringify(type)?.slice(0, 40)}`);
  const schema = SCHEMAS[type as ClientMessage['type']];
  for (const [field, check] of Object.entries(schema)) check(m[field], field);
  const extra = Object.keys(m).filter((k) => k !== 'v' && k !== 'id' && k !== 'type' && !Object.hasOwn(schema, k));
  if (extra.length > 0) throw new ProtocolError('invalid', `unknown field ${extra[0]}`);
  const { v: _v, id: _id, ...message } = m;
  return { id: id as number | undefined, message: message as unknown as ClientMessage };
}
