// Fault injection for the CLI's last line of defence (loaded with NODE_OPTIONS=--import): after the
// command's first output, a bug fires outside any awaited promise, as a stream 'error' nobody
// listens to or a rejection nobody handles would. DOOM_OPS_TEST_FAULT=throw | reject.
const fault = process.env.DOOM_OPS_TEST_FAULT;
const write = process.stdout.write.bind(process.stdout);
let fired = false;
process.stdout.write = (...args) => {
  if (!fired && fault) {
    fired = true;
    setImmediate(() => {
      if (fault === 'throw') throw new TypeError('injected fault: thrown outside any promise');
      Promise.reject(new TypeError('injected fault: rejection nobody handles'));
    });
  }
  return write(...args);
};
