/**
 * A signal that aborts when `parent` does, or after `ms` milliseconds with a TimeoutError (as
 * AbortSignal.timeout does), whichever comes first. Unlike
 * `AbortSignal.any([parent, AbortSignal.timeout(ms)])`, whose timeout signal is held only weakly by
 * the combined one and can be garbage-collected before it fires (the deadline then never comes),
 * here the timer holds the controller until it fires. The timer does not keep the process alive.
 */
export function deadline(parent: AbortSignal, ms: number): AbortSignal {
  const controller = new AbortController();
  const onAbort = () => {
    clearTimeout(timer);
    controller.abort(parent.reason);
  };
  const timer = setTimeout(() => {
    parent.removeEventListener('abort', onAbort);
    controller.abort(new DOMException(`The operation was aborted due to timeout`, 'TimeoutError'));
  }, ms);
  timer.unref?.();
  if (parent.aborted) onAbort();
  else parent.addEventListener('abort', onAbort, { once: true });
  return controller.signal;
}
