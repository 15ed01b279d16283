// A spinner on stderr while a blocking call waits; only when both stdout and stderr are terminals.
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface Spinner {
  stop(): void;
}

export function startSpinner(stream: NodeJS.WriteStream = process.stderr, enabled = Boolean(process.stdout.isTTY && stream.isTTY)): Spinner {
  if (!enabled) return { stop() {} };
  let i = 0;
  const draw = () => stream.write(`\r${FRAMES[i++ % FRAMES.length]} `);
  draw();
  const timer = setInterval(draw, 100);
  return {
    stop() {
      clearInterval(timer);
      stream.write('\r  \r');
    },
  };
}
