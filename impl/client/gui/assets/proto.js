// The driver protocol of spec Appendix A over the page's one WebSocket: every command gets
// exactly one response with its id; events arrive in between.

export class Driver {
  constructor(url, onEvent, onClose) {
    this.ws = new WebSocket(url);
    this.next = 1;
    this.waiting = new Map();
    this.ready = new Promise((resolve, reject) => {
      this.ws.addEventListener('open', () => resolve(), { once: true });
      this.ws.addEventListener('error', () => reject(new Error('cannot open the connection')), { once: true });
    });
    this.ws.addEventListener('message', (m) => {
      let line;
      try { line = JSON.parse(m.data); } catch { return; }
      if (line === null || typeof line !== 'object') return;
      if (typeof line.event === 'string') { onEvent(line); return; }
      const w = this.waiting.get(line.id);
      if (!w) return;
      this.waiting.delete(line.id);
      if (line.ok === true) w.resolve(line); else w.reject(new CommandError(line.error, line.message));
    });
    this.ws.addEventListener('close', (e) => {
      for (const w of this.waiting.values()) w.reject(new CommandError('closed', 'the connection to blindpost gui ended'));
      this.waiting.clear();
      onClose(e);
    });
  }

  // call sends one command and resolves with its response, or rejects with a CommandError.
  async call(cmd, args = {}) {
    await this.ready;
    const id = String(this.next++);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, cmd, ...args }));
    });
  }
}

export class CommandError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}
