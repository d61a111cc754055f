/**
 * Polls `test` every `every` ms until it holds; after `ms`, fails naming what it waited
 * for, with `context()` (e.g. the logs of the processes under test) appended.
 */
export async function until(
  what: string, ms: number, test: () => boolean | Promise<boolean>,
  opts: { every?: number; context?: () => string } = {},
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) {
      const context = opts.context?.();
      throw new Error(`timed out after ${ms} ms waiting for ${what}${context ? `\n${context}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, opts.every ?? 25));
  }
}
