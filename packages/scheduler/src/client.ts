import { WebSocket } from 'ws';
import { Packr } from 'msgpackr';
import { PROTOCOL_VERSION } from './protocol.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: true });

/** A connection to the scheduler that sends requests and matches replies by id. */
export class SchedulerConnection {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  /**
   * Messages the server sends on its own (e.g. `start` and `cancel` to a worker). Pushes that
   * arrive before a handler is set (they can come in the same packet as the welcome) wait.
   */
  private pushHandler?: (m: Record<string, unknown>) => void;
  private readonly early: Record<string, unknown>[] = [];
  set onPush(handler: (m: Record<string, unknown>) => void) {
    this.pushHandler = handler;
    for (const m of this.early.splice(0)) handler(m);
  }
  onClose: () => void = () => undefined;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const m = packr.unpack(data as Buffer) as Record<string, unknown>;
      const waiter = typeof m.replyTo === 'number' ? this.pending.get(m.replyTo) : undefined;
      if (waiter) {
        this.pending.delete(m.replyTo as number);
        if (m.type === 'error') waiter.reject(new Error(`${String(m.code)}: ${String(m.message)}`));
        else waiter.resolve(m);
      } else if (this.pushHandler) this.pushHandler(m);
      else this.early.push(m);
    });
    socket.on('close', () => {
      for (const w of this.pending.values()) w.reject(new Error('connection closed'));
      this.pending.clear();
      this.onClose();
    });
  }

  /** Connects and says hello; rejects with the server's reason (e.g. a wrong token). */
  static async open(url: string, hello: { role: 'client' | 'worker'; token: string; name?: string; devices?: string[]; running?: string[] }): Promise<SchedulerConnection> {
    const socket = new WebSocket(url);
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const connection = new SchedulerConnection(socket);
    await connection.request({ type: 'hello', ...hello });
    return connection;
  }

  request(message: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.send(packr.pack({ v: PROTOCOL_VERSION, id, ...message }));
    });
  }

  /** Sends without waiting for the reply. */
  post(message: Record<string, unknown>): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(packr.pack({ v: PROTOCOL_VERSION, ...message }));
  }

  close(): void {
    this.socket.close();
  }
}
