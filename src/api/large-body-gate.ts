// Large request bodies (action code, up to 48 MB) are handled a few at a time. Each one is copied several times
// on its way through (chunks, text, parsed document, stored row, the answer that echoes the code), so eight at once
// would take gigabytes; past LARGE_BODY_BYTES a request waits for a slot (its socket paused, so the client is held
// back by TCP) and keeps the slot until its answer is sent or the connection closes.
export const LARGE_BODY_BYTES = 2 * 1_048_576;

export interface GateTicket {
  release(): void;
}

export class LargeBodyGate {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(slots = 2) {
    this.free = slots;
  }

  acquire(): Promise<GateTicket> {
    return new Promise((resolve) => {
      const grant = () => {
        let held = true;
        resolve({
          release: () => {
            if (!held) return;
            held = false;
            const next = this.waiting.shift();
            if (next) next();
            else this.free++;
          },
        });
      };
      if (this.free > 0) {
        this.free--;
        grant();
      } else this.waiting.push(grant);
    });
  }
}
